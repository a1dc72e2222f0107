import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SAMPLE_HEADER } from '../../fixtures/generate';
import { parseAddress } from '../../src/capture/address';
import { classify, v4Block } from '../../src/export/address';
import { anonymizeHeader, Pseudonyms } from '../../src/export/anonymize';

const ORIGINALS = ['10.0.0.5', '10.0.0.1', '10.0.0.10', '203.0.113.7', '192.0.2.1', '192.0.2.15', '198.51.100.23', '172.16.0.2',
  '192.168.1.20', '100.64.7.7', '169.254.1.1', '2001:db8::10', '2001:db8::1', 'fd00::1', 'fe80::abcd', '::ffff:10.0.0.5',
  '::ffff:8.8.8.8', '127.0.0.1', '127.0.0.53', '::1', '::ffff:127.0.0.1', '0.0.0.0', '8.8.8.8'];

test('the same address always gets the same pseudonym; different addresses different ones', () => {
  const p = new Pseudonyms(ORIGINALS);
  const first = ORIGINALS.map((a) => p.address(a));
  assert.deepEqual(ORIGINALS.map((a) => p.address(a)), first);
  assert.equal(new Set(first).size, new Set(ORIGINALS).size);
});

test('loopback and unspecified stay as they are; family and class are kept; private stays in its block', () => {
  const p = new Pseudonyms(ORIGINALS);
  for (const a of ORIGINALS) {
    const b = parseAddress(a)!;
    const q = parseAddress(p.address(a));
    assert.ok(q, `${a} -> ${p.address(a)}`);
    assert.equal(q.length, b.length, a);
    assert.equal(classify(q), classify(b), `${a} -> ${p.address(a)}`);
    if (classify(b) === 'loopback' || classify(b) === 'unspecified') assert.equal(p.address(a), a);
    else assert.notEqual(p.address(a), a);
    if (b.length === 4 && v4Block(b)) assert.equal(v4Block(q)?.base, v4Block(b)!.base, a);
  }
  assert.match(p.address('::ffff:10.0.0.5'), /^::ffff:10\./);
  assert.equal(p.address('::ffff:10.0.0.5'), `::ffff:${p.address('10.0.0.5')}`);
  assert.match(p.address('fd00::1'), /^fd00::/);
  assert.match(p.address('fe80::abcd'), /^fe80::/);
  assert.match(p.address('8.8.8.8'), /^(192\.0\.2|198\.51\.100|203\.0\.113)\./);
});

test('no pseudonym is, or contains, any original address', () => {
  const p = new Pseudonyms(ORIGINALS);
  const forbidden = ORIGINALS.filter((a) => !['loopback', 'unspecified'].includes(classify(parseAddress(a)!)));
  for (const a of ORIGINALS) {
    const q = p.address(a);
    if (q === a) continue;
    for (const o of forbidden) assert.ok(!q.includes(o) && !q.includes(o.replace('::ffff:', '')), `${a} -> ${q} contains ${o}`);
  }
  // 10.0.0.1 and 10.0.0.10 are taken by originals, so 10.0.0.5's pseudonym skips them and everything containing them.
  assert.equal(p.address('10.0.0.5'), '10.0.0.2');
});

test('a full documentation network overflows into the next public block', () => {
  const many = Array.from({ length: 300 }, (_, i) => `8.8.${Math.floor(i / 250)}.${(i % 250) + 1}`);
  const p = new Pseudonyms(many);
  const q = many.map((a) => p.address(a));
  assert.equal(new Set(q).size, 300);
  assert.ok(q.some((a) => a.startsWith('198.51.100.')));
  assert.ok(q.every((a) => classify(parseAddress(a)!) === 'public'));
});

test('text that is no address still gets a pseudonym of the same look', () => {
  const p = new Pseudonyms(['not-an-address', 'bad:v6:text']);
  assert.match(p.address('not-an-address'), /^\d+\.\d+\.\d+\.\d+$/);
  assert.match(p.address('bad:v6:text'), /^2001:db8::/);
});

test('process names become proc-N, consistently, never an original name', () => {
  const p = new Pseudonyms([], ['nginx', 'proc-1', 'curl']);
  assert.equal(p.comm('nginx'), 'proc-2');
  assert.equal(p.comm('curl'), 'proc-3');
  assert.equal(p.comm('nginx'), 'proc-2');
  assert.equal(p.comm('proc-1'), 'proc-4');
});

test('the anonymized header replaces the hostname, command line, boot id and cgroup, also inside the kernel release', () => {
  const h = anonymizeHeader({ ...SAMPLE_HEADER, kernelRelease: '6.1.0-web-1-custom', filters: { pid: 5, cgroup: '/system.slice/web-1.service' } }, 'fresh-id');
  assert.equal(h.hostname, 'anonymized');
  assert.equal(h.kernelRelease, '6.1.0-anonymized-custom');
  assert.deepEqual(h.commandLine, ['(anonymized)']);
  assert.equal(h.bootId, 'fresh-id');
  assert.deepEqual(h.filters, { pid: 5, cgroup: '(anonymized)' });
  assert.equal(h.timeZone, SAMPLE_HEADER.timeZone);
  assert.equal(h.startWallUs, SAMPLE_HEADER.startWallUs);
  assert.deepEqual(anonymizeHeader(SAMPLE_HEADER, 'x').filters, {});
});
