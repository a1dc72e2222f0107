import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Frame } from '../../src/capture/types';
import { mergeWindows, metricOf, WindowAggregator, type AggregateOptions, type WindowStats } from '../../src/report/aggregate';

const frame = (seq: number, intervalUs = 1_000_000, lost = 0): Frame => ({
  seq, wallUs: 1_000_000_000 + seq * 1_000_000, monoUs: seq * 1_000_000, intervalUs,
  loadavg: { load1: 0, load5: 0, load15: 0, running: 1, tasks: 1, lastPid: 1, raw: '' },
  lost: { events: lost, rxBytes: lost * 10, txBytes: 0 },
});

/** Samples as [group, rx, tx]. */
type S = [number, number, number];

function run(opts: AggregateOptions, frames: [Frame, S[]][]): WindowStats[] {
  const out: WindowStats[] = [];
  const agg = new WindowAggregator(opts, (w) => out.push(w));
  for (const [f, samples] of frames) {
    agg.addFrame(f, samples.map((s) => s[0]), samples.map((s) => s[1]), samples.map((s) => s[2]), samples.length);
  }
  agg.finish();
  return out;
}

const byGroup = (w: WindowStats) => Object.fromEntries(w.groups.map((g) => [g.group, g]));

test('one window sums each group; several samples of a group in one frame add up before the peak is taken', () => {
  const [w] = run({ framesPerWindow: Infinity }, [
    [frame(1), [[0, 100, 50], [1, 10, 0], [0, 100, 50]]],
    [frame(2, 2_000_000), [[0, 400, 0]]],
    [frame(3, 500_000), [[1, 10, 10]]],
  ]);
  assert.equal(w.frames, 3);
  assert.equal(w.durationUs, 3_500_000);
  assert.equal(w.startUs, 1_000_000_000);
  assert.equal(w.endUs, 1_003_000_000);
  assert.equal(w.rx, 620);
  assert.equal(w.tx, 110);
  const g = byGroup(w);
  assert.deepEqual([g[0].rx, g[0].tx, g[0].members], [600, 100, 1]);
  // Frame 1: 300 bytes in 1 s; frame 2: 400 bytes in 2 s. The peak is frame 1's.
  assert.equal(g[0].peakRate, 300);
  assert.equal(g[0].peakWallUs, frame(1).wallUs);
  // Group 1: 10 B/s in frame 1, 40 B/s in frame 3 (half a second).
  assert.equal(g[1].peakRate, 40);
  assert.equal(g[1].peakWallUs, frame(3).wallUs);
  assert.deepEqual(w.busiest, { startUs: frame(1).wallUs - 1_000_000, endUs: frame(1).wallUs, rx: 210, tx: 100, rate: 310 });
});

test('windows are whole frames from the first frame given; a short last window is kept; lost bytes are summed', () => {
  const frames: [Frame, S[]][] = [1, 2, 3, 4, 5].map((i) => [frame(i + 10, 1_000_000, i === 4 ? 2 : 0), [[0, i, 0]]]);
  const ws = run({ framesPerWindow: 2 }, frames);
  assert.deepEqual(ws.map((w) => [w.frames, w.rx, w.startUs, w.endUs]), [
    [2, 3, frame(11).wallUs - 1_000_000, frame(12).wallUs],
    [2, 7, frame(13).wallUs - 1_000_000, frame(14).wallUs],
    [1, 5, frame(15).wallUs - 1_000_000, frame(15).wallUs],
  ]);
  assert.deepEqual(ws.map((w) => w.lost), [{ events: 0, rxBytes: 0, txBytes: 0 }, { events: 2, rxBytes: 20, txBytes: 0 }, { events: 0, rxBytes: 0, txBytes: 0 }]);
});

test('a group with no bytes in a window has no row there', () => {
  const ws = run({ framesPerWindow: 1 }, [[frame(1), [[0, 5, 5]]], [frame(2), [[1, 5, 5]]]]);
  assert.deepEqual(ws.map((w) => w.groups.map((g) => g.group)), [[0], [1]]);
});

test('folding sums groups into one, counts its members per window, and drops groups folded to -1 from the rows only', () => {
  const fold = [0, 9, 9, -1];
  const ws = run({ framesPerWindow: 2, fold }, [
    [frame(1), [[0, 10, 0], [1, 20, 0], [2, 30, 0], [3, 1000, 0]]],
    [frame(2), [[1, 5, 0]]],
    [frame(3), [[2, 7, 0]]],
  ]);
  const [a, b] = ws.map(byGroup);
  assert.deepEqual(Object.keys(a).map(Number).sort(), [0, 9]);
  assert.deepEqual([a[9].rx, a[9].members, a[9].peakRate], [55, 2, 50]);
  assert.equal(a[0].members, 1);
  assert.equal(ws[0].rx, 1065, 'the window total keeps the dropped group');
  assert.deepEqual([b[9].rx, b[9].members], [7, 1]);
});

test('the peak can be of received, sent or both', () => {
  const frames: [Frame, S[]][] = [[frame(1), [[0, 100, 1]]], [frame(2), [[0, 1, 200]]], [frame(3), [[0, 150, 150]]]];
  assert.equal(run({ framesPerWindow: Infinity, peakOf: 'rx' }, frames)[0].groups[0].peakRate, 150);
  assert.equal(run({ framesPerWindow: Infinity, peakOf: 'tx' }, frames)[0].groups[0].peakRate, 200);
  assert.equal(run({ framesPerWindow: Infinity }, frames)[0].groups[0].peakRate, 300);
  assert.equal(metricOf('rx', 3, 4) + metricOf('tx', 3, 4) + metricOf('total', 3, 4), 14);
});

test('many groups grow the state without losing any', () => {
  const samples: S[] = Array.from({ length: 5000 }, (_, g) => [g, g, 1]);
  const [w] = run({ framesPerWindow: Infinity }, [[frame(1), samples], [frame(2), samples]]);
  assert.equal(w.groups.length, 5000);
  assert.deepEqual(byGroup(w)[4321], { group: 4321, rx: 8642, tx: 2, peakRate: 4322, peakWallUs: frame(1).wallUs, members: 1 });
});

test('no frames, no window', () => {
  assert.deepEqual(run({ framesPerWindow: 3 }, []), []);
});

test('merged windows equal one window over the same frames', () => {
  const frames: [Frame, S[]][] = [1, 2, 3, 4, 5, 6, 7].map((i) => [frame(i, 900_000 + i * 10_000, i === 3 ? 1 : 0), [[i % 3, 10 * i, i], [5, i * i, 0]]]);
  const parts = run({ framesPerWindow: 3 }, frames);
  assert.equal(parts.length, 3);
  const [one] = run({ framesPerWindow: Infinity }, frames);
  const merged = mergeWindows(parts)!;
  const sorted = (w: WindowStats) => ({ ...w, groups: [...w.groups].sort((a, b) => a.group - b.group) });
  assert.deepEqual(sorted(merged), sorted(one));
  assert.equal(mergeWindows([]), null);
});
