import assert from 'node:assert/strict';
import { test } from 'node:test';
import { addressTexts, containsText, findAddressText } from '../../src/export/leaks';

test('the texts searched for: non-loopback addresses, lower case, the IPv4 inside a mapped one', () => {
  assert.deepEqual([...addressTexts(['10.0.0.5', '127.0.0.1', '::1', '0.0.0.0', '::ffff:203.0.113.7', '2001:DB8::10'])].sort(),
    ['10.0.0.5', '2001:db8::10', '203.0.113.7', '::ffff:203.0.113.7'].sort());
});

test('an address is found inside other bytes, in any case, and not where only part of it is', () => {
  const texts = addressTexts(['10.0.0.5', '2001:db8::10']);
  const data = (s: string) => Buffer.concat([Buffer.from([0, 1, 0xff]), Buffer.from(s, 'latin1'), Buffer.from([7, 0x30])]);
  assert.equal(findAddressText(data('x10.0.0.5y'), texts), '10.0.0.5');
  assert.equal(findAddressText(data('110.0.0.55'), texts), '10.0.0.5');
  assert.equal(findAddressText(data('host 2001:DB8::10:'), texts), '2001:db8::10');
  assert.equal(findAddressText(data('10.0.0.4 10.0.0 .5 2001:db8::1'), texts), null);
  assert.equal(findAddressText(data(''), new Set()), null);
  // At the very start and end of the data.
  assert.equal(findAddressText(Buffer.from('10.0.0.5'), texts), '10.0.0.5');
});

test('the hostname is found as text in any of its usual cases', () => {
  const data = Buffer.from('\x00\x01WEB-1\x02');
  assert.ok(containsText(data, 'web-1'));
  assert.ok(!containsText(data, 'web-2'));
  assert.ok(!containsText(data, ''));
});
