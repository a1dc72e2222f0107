import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatAddress, isMapped, parseAddress } from '../../src/capture/address';
import { classify, fromNumber, toNumber, v4Block } from '../../src/export/address';

const hex = (b: Uint8Array | null) => (b ? Buffer.from(b).toString('hex') : null);

test('IPv4 and IPv6 text parse to their 4 or 16 bytes; anything else is null', () => {
  assert.equal(hex(parseAddress('10.0.0.5')), '0a000005');
  assert.equal(hex(parseAddress('255.255.255.255')), 'ffffffff');
  assert.equal(hex(parseAddress('2001:db8::10')), '20010db8000000000000000000000010');
  assert.equal(hex(parseAddress('::1')), '00000000000000000000000000000001');
  assert.equal(hex(parseAddress('::')), '00000000000000000000000000000000');
  assert.equal(hex(parseAddress('::ffff:127.0.0.1')), '00000000000000000000ffff7f000001');
  assert.equal(hex(parseAddress('FE80::1:2')), 'fe800000000000000000000000010002');
  assert.equal(hex(parseAddress('1:2:3:4:5:6:7:8')), '00010002000300040005000600070008');
  for (const bad of ['', '1.2.3', '1.2.3.256', '1.2.3.4.5', ':::', '1::2::3', '1:2:3:4:5:6:7:8:9', '12345::', 'g::1', '1:2:3:4:5:6:7', 'web-1', '::1.2.3']) {
    assert.equal(parseAddress(bad), null, bad);
  }
});

test('addresses print as a capture stores them: RFC 5952, IPv4-mapped as ::ffff:a.b.c.d', () => {
  for (const text of ['10.0.0.5', '0.0.0.0', '2001:db8::10', '::1', '::', '::ffff:10.1.2.3', 'fe80::1:2', '1:2:3:4:5:6:7:8',
    '2001:db8:0:1:1:1:1:1', '2001:0:0:1::1', 'fd00::1', '1::', '64:ff9b::a00:5']) {
    assert.equal(formatAddress(parseAddress(text)!), text);
  }
  assert.equal(formatAddress(parseAddress('2001:DB8:0:0:0:0:0:10')!), '2001:db8::10');
  // The first of two equally long runs of zeros is the one shortened; a single zero group is not.
  assert.equal(formatAddress(parseAddress('1:0:0:2:0:0:3:4')!), '1::2:0:0:3:4');
  assert.equal(formatAddress(parseAddress('1:0:2:3:4:5:6:7')!), '1:0:2:3:4:5:6:7');
});

test('classes: loopback and unspecified kept apart, RFC 1918, CGNAT, link-local and ULA private, the rest public', () => {
  const cls = (t: string) => classify(parseAddress(t)!);
  for (const t of ['127.0.0.1', '127.255.0.9', '::1', '::ffff:127.0.0.1']) assert.equal(cls(t), 'loopback', t);
  for (const t of ['0.0.0.0', '::']) assert.equal(cls(t), 'unspecified', t);
  for (const t of ['10.0.0.5', '172.16.0.1', '172.31.255.254', '192.168.1.1', '100.64.0.1', '100.127.255.1', '169.254.3.4',
    'fc00::1', 'fd12:3456::1', 'fe80::1', 'febf::1', '::ffff:10.0.0.5']) assert.equal(cls(t), 'private', t);
  for (const t of ['203.0.113.7', '172.32.0.1', '100.128.0.1', '8.8.8.8', '2001:db8::10', 'fec0::1', '::2', '::ffff:8.8.8.8', '64:ff9b::a00:5']) {
    assert.equal(cls(t), 'public', t);
  }
  assert.ok(isMapped(parseAddress('::ffff:1.2.3.4')!));
  assert.ok(!isMapped(parseAddress('::fffe:1.2.3.4')!));
  assert.equal(v4Block(parseAddress('172.20.1.1')!)?.size, 2 ** 20);
  assert.equal(v4Block(parseAddress('8.8.8.8')!), null);
  assert.equal(formatAddress(fromNumber(toNumber(parseAddress('203.0.113.7')!) + 1)), '203.0.113.8');
});
