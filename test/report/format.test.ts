import assert from 'node:assert/strict';
import { test } from 'node:test';
import { rateText, reportCsv, reportJson, reportTable, type ReportData } from '../../src/report/format';
import { keyColumns } from '../../src/report/group';
import type { ReportRow } from '../../src/report/rows';
import { UTC } from '../../src/time/zone';

const T0 = Date.UTC(2026, 10, 20, 23, 59, 0) * 1000;

const row = (key: (string | number)[] | null, rx: number, tx: number, over: Partial<ReportRow> = {}): ReportRow => ({
  startUs: T0, endUs: T0 + 10e6, key, otherGroups: key ? 0 : 3, rx, tx, avgRate: (rx + tx) / 10, peakRate: (rx + tx) / 2,
  peakWallUs: T0 + 2e6, ...over,
});

const data = (over: Partial<ReportData> = {}): ReportData => ({
  file: 'x.db',
  hostname: 'web-1',
  probe: 'tracepoint',
  by: ['comm', 'port'],
  columns: keyColumns(['comm', 'port']),
  windowUs: null,
  top: 2,
  sort: 'total',
  flows: 9,
  hosts: 4,
  groups: 5,
  summary: {
    startUs: T0, endUs: T0 + 10e6, durationUs: 10e6, frames: 10, rx: 3_000_000, tx: 1234,
    lost: { events: 0, rxBytes: 0, txBytes: 0 },
    busiestFrame: { startUs: T0 + 1e6, endUs: T0 + 2e6, rx: 2_000_000, tx: 34, rate: 2_000_034 }, busiestWindow: null,
  },
  rows: [row(['nginx', 443], 2_000_000, 1000), row(['say "hi", ok', 80], 500, 34), row(null, 999_500, 200)],
  ...over,
});

test('CSV: a header row, raw bytes, rates per second, ISO times in UTC, quoted text, the other row with empty keys', () => {
  assert.equal(reportCsv(data()), [
    'start,end,comm,port,other_groups,rx_bytes,tx_bytes,total_bytes,avg_bytes_per_sec,peak_bytes_per_sec,peak_time',
    '2026-11-20T23:59:00.000Z,2026-11-20T23:59:10.000Z,"nginx",443,0,2000000,1000,2001000,200100,1000500,2026-11-20T23:59:02.000Z',
    '2026-11-20T23:59:00.000Z,2026-11-20T23:59:10.000Z,"say ""hi"", ok",80,0,500,34,534,53.4,267,2026-11-20T23:59:02.000Z',
    '2026-11-20T23:59:00.000Z,2026-11-20T23:59:10.000Z,,,3,999500,200,999700,99970,499850,2026-11-20T23:59:02.000Z',
    '',
  ].join('\n'));
  assert.equal(reportCsv(data({ rows: [] })).split('\n').length, 2, 'a header even when nothing moved');
});

test('JSON: the summary facts and rows with raw counts; key fields typed, null on the other row', () => {
  const j = reportJson(data({ windowUs: 10e6 })) as Record<string, any>;
  assert.equal(j.from, '2026-11-20T23:59:00.000Z');
  assert.equal(j.to, '2026-11-20T23:59:10.000Z');
  assert.deepEqual([j.frames, j.flows, j.hosts, j.groups, j.rx_bytes, j.tx_bytes], [10, 9, 4, 5, 3_000_000, 1234]);
  assert.deepEqual([j.window_seconds, j.top, j.sort, j.by], [10, 2, 'total', ['comm', 'port']]);
  assert.deepEqual(j.busiest_frame, { start: '2026-11-20T23:59:01.000Z', end: '2026-11-20T23:59:02.000Z', rx_bytes: 2_000_000, tx_bytes: 34, bytes_per_sec: 2_000_034 });
  assert.equal(j.busiest_window, null);
  assert.deepEqual(j.rows[0], {
    start: '2026-11-20T23:59:00.000Z', end: '2026-11-20T23:59:10.000Z', comm: 'nginx', port: 443, other_groups: 0,
    rx_bytes: 2_000_000, tx_bytes: 1000, total_bytes: 2_001_000, avg_bytes_per_sec: 200_100, peak_bytes_per_sec: 1_000_500,
    peak_time: '2026-11-20T23:59:02.000Z',
  });
  assert.deepEqual([j.rows[2].comm, j.rows[2].port, j.rows[2].other_groups], [null, null, 3]);
  assert.equal((reportJson(data()) as any).window_seconds, null);
});

test('table: the summary first, human units, other (n), and dates when the range crosses midnight', () => {
  const crossing = { ...data().summary, endUs: T0 + 120e6, durationUs: 120e6 };
  const text = reportTable(data({ windowUs: 5e6, summary: crossing }), UTC);
  const lines = text.split('\n');
  assert.equal(lines[0], 'capture         x.db (host web-1)');
  assert.equal(lines[1], 'span            2026-11-20 23:59:00 to 2026-11-21 00:01:00 (2m00s), UTC');
  assert.ok(lines.includes('received        3,000,000 bytes (2.86 MiB)'), text);
  assert.ok(lines.includes('busiest frame   2026-11-20 23:59:01 to 2026-11-20 23:59:02: 1.91 MiB, 1.91 MiB/s'), text);
  assert.ok(lines.includes('busiest window  none (no bytes moved)'), text);
  assert.ok(!text.includes('not counted'));
  const header = lines.findIndex((l) => l.startsWith('START'));
  assert.match(lines[header], /^START\s+END\s+COMM\s+PORT\s+RX\s+TX\s+TOTAL\s+AVG RATE\s+PEAK RATE\s+PEAK AT$/);
  assert.match(lines[header + 1], /^2026-11-20 23:59:00  2026-11-20 23:59:10  nginx\s+443\s+1.91 MiB\s+1000 B\s+1.91 MiB\s+195 KiB\/s\s+977 KiB\/s\s+2026-11-20 23:59:02$/);
  assert.match(lines[header + 3], /other \(3\)/);
  // In Berlin the same two minutes fall within one day: times of day alone.
  const sameDay = reportTable(data({ summary: crossing }), { timeZone: 'Europe/Berlin', offsetMinutes: 60 });
  assert.match(sameDay, /\nbusiest frame  00:59:01 to 00:59:02: /);
  assert.match(sameDay, /\nnginx\s+443 .* 00:59:02\n/);
});

test('table: a range where nothing moved says so', () => {
  assert.match(reportTable(data({ rows: [] }), UTC), /\n\nno bytes moved in this range\n$/);
});

test('rates for people: whole bytes below 1 KiB/s', () => {
  assert.equal(rateText(5.333), '5 B/s');
  assert.equal(rateText(0.4), '0 B/s');
  assert.equal(rateText(1536), '1.50 KiB/s');
});
