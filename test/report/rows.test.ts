import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { GroupStats, WindowStats } from '../../src/report/aggregate';
import { foldMap, framesPerWindow, SummaryBuilder, topGroups, windowRows } from '../../src/report/rows';
import { UsageError } from '../../src/errors';

const stats = (group: number, rx: number, tx: number, peakRate = 0, members = 1): GroupStats =>
  ({ group, rx, tx, peakRate, peakWallUs: 5_000_000 + group, members });

const win = (groups: GroupStats[], over: Partial<WindowStats> = {}): WindowStats => ({
  startUs: 1_000_000, endUs: 3_000_000, frames: 2, durationUs: 2_000_000,
  rx: groups.reduce((s, g) => s + g.rx, 0), tx: groups.reduce((s, g) => s + g.tx, 0),
  lost: { events: 0, rxBytes: 0, txBytes: 0 }, busiest: null, groups, ...over,
});

test('a window is a whole number of recorded intervals', () => {
  assert.equal(framesPerWindow(10e6, 1e6), 10);
  assert.equal(framesPerWindow(60e6, 2e6), 30);
  assert.equal(framesPerWindow(1e6, 1e6), 1);
  assert.throws(() => framesPerWindow(1.5e6, 1e6), (e: unknown) => e instanceof UsageError &&
    e.message === "--window: 1.5s is not a whole number of frames (the capture's interval is 1s): use 1s, 2s, 3s ...");
  assert.throws(() => framesPerWindow(0.5e6, 1e6), UsageError);
});

test('top groups are the biggest by the metric, ties by key', () => {
  const keys = [['c'], ['a'], ['b'], ['d']];
  const s = [stats(0, 10, 0), stats(1, 5, 5), stats(2, 1, 9), stats(3, 0, 20)];
  assert.deepEqual(topGroups(s, keys, 4, 'total'), [3, 1, 2, 0]);
  assert.deepEqual(topGroups(s, keys, 2, 'rx'), [0, 1]);
  assert.deepEqual(topGroups(s, keys, 1, 'tx'), [3]);
  assert.deepEqual(topGroups(s, keys, 10, 'total').length, 4);
});

test('the fold map keeps the top groups and sends the rest to other', () => {
  assert.deepEqual([...foldMap(5, [3, 1], 5)], [5, 1, 5, 3, 5]);
  assert.deepEqual([...foldMap(3, [0], -1)], [0, -1, -1]);
});

test('rows are sorted by the key asked for, biggest first, ties by key, other last; rates per second of the window', () => {
  const keys = [['b'], ['a'], ['c']];
  const w = win([stats(0, 100, 100, 900), stats(7, 5000, 0, 1, 4), stats(1, 300, 0, 200), stats(2, 0, 200, 100)]);
  const names = (sort: 'rx' | 'tx' | 'total' | 'peak') => windowRows(w, keys, 7, sort).map((r) => r.key?.[0] ?? 'other');
  assert.deepEqual(names('total'), ['a', 'b', 'c', 'other']);
  assert.deepEqual(names('rx'), ['a', 'b', 'c', 'other']);
  assert.deepEqual(names('tx'), ['c', 'b', 'a', 'other']);
  assert.deepEqual(names('peak'), ['b', 'a', 'c', 'other']);
  const rows = windowRows(w, keys, 7, 'total');
  assert.deepEqual(rows[3], { startUs: 1_000_000, endUs: 3_000_000, key: null, otherGroups: 4, rx: 5000, tx: 0, avgRate: 2500, peakRate: 1, peakWallUs: 5_000_007 });
  assert.equal(rows[1].avgRate, 100);
  assert.equal(rows[1].otherGroups, 0);
  // Without an other group, a group numbered like one is an ordinary row.
  assert.equal(windowRows(w, [...keys, [], [], [], [], ['z']], null, 'total').find((r) => r.key?.[0] === 'z')?.otherGroups, 0);
});

test('the summary adds windows up and finds the busiest frame and window', () => {
  const b = new SummaryBuilder();
  assert.equal(b.result(true), null);
  b.add(win([stats(0, 100, 0)], { busiest: { startUs: 1, endUs: 2, rx: 80, tx: 0, rate: 80 }, lost: { events: 1, rxBytes: 5, txBytes: 6 } }));
  b.add(win([stats(0, 300, 100)], { startUs: 3_000_000, endUs: 4_000_000, frames: 1, durationUs: 1_000_000,
    busiest: { startUs: 3, endUs: 4, rx: 300, tx: 100, rate: 400 } }));
  b.add(win([], { startUs: 4_000_000, endUs: 5_000_000, frames: 1, durationUs: 1_000_000 }));
  const s = b.result(true)!;
  assert.deepEqual([s.startUs, s.endUs, s.frames, s.durationUs, s.rx, s.tx], [1_000_000, 5_000_000, 4, 4_000_000, 400, 100]);
  assert.deepEqual(s.lost, { events: 1, rxBytes: 5, txBytes: 6 });
  assert.equal(s.busiestFrame?.rate, 400);
  assert.deepEqual(s.busiestWindow, { startUs: 3_000_000, endUs: 4_000_000, rx: 300, tx: 100, rate: 400, frames: 1 });
  assert.equal(b.result(false)!.busiestWindow, null);
});
