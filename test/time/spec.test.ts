import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UsageError } from '../../src/errors';
import { resolveBound } from '../../src/time/range';
import { parseTimeSpec } from '../../src/time/spec';
import { clockOf, instantOf, offsetAt, type DisplayZone } from '../../src/time/zone';
import type { Frame } from '../../src/capture/types';

const parse = parseTimeSpec('--from');

test('time specs: clock, ISO with and without zone, offsets', () => {
  assert.deepEqual(parse('14:05'), { kind: 'clock', hour: 14, minute: 5, second: 0 });
  assert.deepEqual(parse('9:05:07'), { kind: 'clock', hour: 9, minute: 5, second: 7 });
  assert.deepEqual(parse('+5m'), { kind: 'offset', from: 'start', us: 300e6 });
  assert.deepEqual(parse('-1h30m'), { kind: 'offset', from: 'end', us: 5400e6 });
  assert.deepEqual(parse('2026-11-26T08:30:00Z'), { kind: 'date', year: 2026, month: 11, day: 26, hour: 8, minute: 30, second: 0, ms: 0, offsetMinutes: 0 });
  assert.equal((parse('2026-11-26T08:30:00.250-05:30') as { offsetMinutes: number }).offsetMinutes, -330);
  assert.equal((parse('2026-11-26 08:30') as { offsetMinutes: null }).offsetMinutes, null);
  for (const bad of ['25:00', '12:60', 'noon', '+5x', '2026-13-01T00:00', '', '+']) assert.throws(() => parse(bad), UsageError, bad);
});

const berlin: DisplayZone = { timeZone: 'Europe/Berlin', offsetMinutes: 60 };

test('zones: the recorder\'s IANA zone follows daylight saving; an unknown zone falls back to the stored offset', () => {
  assert.equal(offsetAt(berlin, Date.UTC(2026, 0, 15)), 60);
  assert.equal(offsetAt(berlin, Date.UTC(2026, 6, 15)), 120);
  assert.equal(clockOf(berlin, Date.UTC(2026, 6, 15, 10, 0, 0) * 1000), '12:00:00');
  const unknown: DisplayZone = { timeZone: 'Mars/Olympus_Mons', offsetMinutes: -90 };
  assert.equal(clockOf(unknown, Date.UTC(2026, 6, 15, 10, 0, 0) * 1000), '08:30:00');
  assert.equal(instantOf(berlin, { year: 2026, month: 7, day: 15, hour: 12, minute: 0, second: 0 }), Date.UTC(2026, 6, 15, 10));
  // Truncated to the second, as strftime shows it.
  assert.equal(clockOf(berlin, Date.UTC(2026, 0, 15, 10, 0, 0) * 1000 + 999_999), '11:00:00');
});

const f = (wallMs: number, monoUs: number): Frame => ({
  seq: 1, wallUs: wallMs * 1000, monoUs, intervalUs: 1e6,
  loadavg: { load1: 0, load5: 0, load15: 0, running: 0, tasks: 0, lastPid: 0, raw: '' }, lost: { events: 0, rxBytes: 0, txBytes: 0 },
});

test('a clock time is the first time the clock shows it at or after the capture starts, even across midnight', () => {
  // A capture from 23:50 to 00:20 Berlin time.
  const span = { frames: 2, firstSeq: 1, lastSeq: 2, first: f(Date.UTC(2026, 10, 20, 22, 50, 1), 1e6), last: f(Date.UTC(2026, 10, 20, 23, 20), 1800e6) };
  assert.deepEqual(resolveBound(parse('23:55'), span, berlin), { clock: 'wall', us: Date.UTC(2026, 10, 20, 22, 55) * 1000 });
  assert.deepEqual(resolveBound(parse('00:05'), span, berlin), { clock: 'wall', us: Date.UTC(2026, 10, 20, 23, 5) * 1000 });
  assert.deepEqual(resolveBound(parse('23:50'), span, berlin), { clock: 'wall', us: Date.UTC(2026, 10, 20, 22, 50) * 1000 });
  assert.deepEqual(resolveBound(parse('+5m'), span, berlin), { clock: 'mono', us: 300e6 });
  assert.deepEqual(resolveBound(parseTimeSpec('--to')('-5m'), span, berlin), { clock: 'mono', us: 1500e6 });
  assert.deepEqual(resolveBound(parse('2026-11-20 23:55'), span, berlin), { clock: 'wall', us: Date.UTC(2026, 10, 20, 22, 55) * 1000 });
});
