import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { FlowBytes } from '../../src/capture/types';
import { banner, CLEAR_SCREEN, renderFrame } from '../../src/view/classic';

const f = (pid: number, comm: string, family: 4 | 6, l: string, lport: number, r: string, rport: number, rx: number, tx: number): FlowBytes =>
  ({ pid, comm, family, laddr: l, lport, raddr: r, rport, rxBytes: rx, txBytes: tx });

const flows = [
  f(181, 'sshd', 4, '100.66.3.172', 22, '100.127.69.165', 6684, 4, 1073),
  f(4382, 'redis-server', 4, '127.0.0.1', 6379, '127.0.0.1', 48052, 3 * 1024 + 1023, 2048),
  f(12, 'java', 6, 'fe80::1', 443, 'fe80::2', 52000, 10240, 0),
];

test('the banner names the interval as given', () => {
  assert.equal(banner(1), 'Tracing... Output every 1 secs. Hit Ctrl-C to end\n');
  assert.equal(banner(0.5), 'Tracing... Output every 0.5 secs. Hit Ctrl-C to end\n');
});

test('a frame prints both sections with the classic widths; KB are rounded down', () => {
  const out = renderFrame({ clock: '17:33:00', loadavg: '0.63 0.54 0.47 2/163 12', flows }, { clear: false, summary: true, sort: 'all' });
  assert.equal(out, [
    '',
    '17:33:00 loadavg: 0.63 0.54 0.47 2/163 12',
    '',
    'PID     COMM         LADDR                 RADDR                  RX_KB  TX_KB',
    '4382    redis-server 127.0.0.1:6379        127.0.0.1:48052            3      2',
    '181     sshd         100.66.3.172:22       100.127.69.165:6684        0      1',
    '',
    'PID     COMM         LADDR6                           RADDR6                            RX_KB  TX_KB',
    '12      java         fe80::1:443                      fe80::2:52000                        10      0',
    '',
  ].join('\n'));
});

test('without -C the screen is cleared; -S drops the summary line and its blank line', () => {
  const out = renderFrame({ clock: '17:33:00', loadavg: 'x', flows: [flows[0]] }, { clear: true, summary: false, sort: 'all' });
  assert.equal(out, `${CLEAR_SCREEN}PID     COMM         LADDR                 RADDR                  RX_KB  TX_KB\n` +
    '181     sshd         100.66.3.172:22       100.127.69.165:6684        0      1\n');
});

test('sections without rows are not printed; an empty frame is just the summary', () => {
  assert.equal(renderFrame({ clock: '00:00:01', loadavg: 'l', flows: [] }, { clear: false, summary: true, sort: 'all' }), '\n00:00:01 loadavg: l\n\n');
  const v6only = renderFrame({ clock: '00:00:01', loadavg: 'l', flows: [flows[2]] }, { clear: false, summary: false, sort: 'all' });
  assert.ok(v6only.startsWith('\n\nPID     COMM         LADDR6'), JSON.stringify(v6only));
});

test('-s sorts by one side, -r limits each section, names are cut at 12 characters', () => {
  const many = [
    f(1, 'a', 4, '10.0.0.1', 1, '10.0.0.2', 2, 5000, 100),
    f(2, 'systemd-resolve', 4, '10.0.0.1', 3, '10.0.0.2', 4, 100, 9000),
    f(3, 'c', 4, '10.0.0.1', 5, '10.0.0.2', 6, 3000, 3000),
  ];
  const rows = (sort: 'all' | 'sent' | 'received', n?: number) =>
    renderFrame({ clock: 'c', loadavg: 'l', flows: many }, { clear: false, summary: false, sort, rows: n })
      .split('\n').filter((l) => /^\d/.test(l)).map((l) => l.split(/\s+/)[0]);
  assert.deepEqual(rows('all'), ['2', '3', '1']);
  assert.deepEqual(rows('sent'), ['2', '3', '1']);
  assert.deepEqual(rows('received'), ['1', '3', '2']);
  assert.deepEqual(rows('received', 2), ['1', '3']);
  const out = renderFrame({ clock: 'c', loadavg: 'l', flows: many }, { clear: false, summary: false, sort: 'all' });
  assert.match(out, /^2       systemd-reso 10\.0\.0\.1:3/m);
});

test('equal totals print in a fixed order, whatever order they came in', () => {
  const a = f(7, 'x', 4, '10.0.0.1', 1, '10.0.0.2', 2, 10, 10);
  const b = f(5, 'y', 4, '10.0.0.1', 1, '10.0.0.2', 2, 20, 0);
  const opts = { clear: false, summary: false, sort: 'all' as const };
  assert.equal(renderFrame({ clock: 'c', loadavg: 'l', flows: [a, b] }, opts), renderFrame({ clock: 'c', loadavg: 'l', flows: [b, a] }, opts));
});
