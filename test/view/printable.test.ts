import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { FlowBytes } from '../../src/capture/types';
import { renderFrame } from '../../src/view/classic';
import { printable } from '../../src/view/printable';

test('controls (C0, DEL, C1) show as \\x escapes; ordinary text, UTF-8 and spaces are kept', () => {
  assert.equal(printable('nginx'), 'nginx');
  assert.equal(printable('café ☕ naïve'), 'café ☕ naïve');
  assert.equal(printable('a b'), 'a b');
  assert.equal(printable('\x1b]0;PWNED\x07\x1b[2J'), '\\x1b]0;PWNED\\x07\\x1b[2J');
  assert.equal(printable('\x00\x09\x0a\x0d\x1f\x7f'), '\\x00\\x09\\x0a\\x0d\\x1f\\x7f');
  assert.equal(printable('\x9b31m\x85\x9d'), '\\x9b31m\\x85\\x9d', 'C1: CSI, NEL and OSC as single characters');
});

test('bidirectional controls and line separators are escaped; bytes that were not UTF-8 show as ?', () => {
  assert.equal(printable('evil\u202egnp.exe'), 'evil\\u202egnp.exe');
  assert.equal(printable('a\u2066b\u2069c\u200f'), 'a\\u2066b\\u2069c\\u200f');
  assert.equal(printable('x\u2028y'), 'x\\u2028y');
  assert.equal(printable(Buffer.from([0x61, 0xff, 0xfe, 0x62]).toString('utf8')), 'a??b');
  assert.equal(printable('lone \ud800 surrogate'), 'lone ? surrogate');
  assert.equal(printable('😀'), '😀', 'a surrogate pair is one printable character');
});

test('the classic view escapes names and cuts COMM at 12 characters after escaping, so columns stay aligned', () => {
  const flow = (comm: string, laddr = '127.0.0.1'): FlowBytes => ({
    pid: 42, comm, family: 4, laddr, lport: 80, raddr: '127.0.0.1', rport: 5000, rxBytes: 2048, txBytes: 1024,
  });
  const out = renderFrame({ clock: '15:00:00', loadavg: '0.1 0.2 0.3 1/2 3\x1b[31m', flows: [flow('\x1b]0;PWNED\x07'), flow('plain')] },
    { clear: false, summary: true, sort: 'all' });
  assert.doesNotMatch(out, /[\x00-\x09\x0b-\x1f\x7f-\x9f]/, 'no control character but the newlines');
  const rows = out.split('\n').filter((l) => l.startsWith('42 '));
  assert.deepEqual(rows.map((r) => r.slice(8, 20)), ['\\x1b]0;PWNED', 'plain       ']);
  assert.equal(new Set(rows.map((r) => r.length)).size, 1, 'rows of equal width');
  assert.match(out, /loadavg: 0\.1 0\.2 0\.3 1\/2 3\\x1b\[31m/);
  const addr = renderFrame({ clock: '15:00:00', loadavg: '', flows: [flow('x', '\x1b[2J')] }, { clear: false, summary: false, sort: 'all' });
  assert.match(addr, /\\x1b\[2J:80/);
});
