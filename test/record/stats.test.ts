import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { addPaths, eventPathsOf, formatEventPaths, pathsSince, pathTotal } from '../../src/record/stats';

test("the addon's eight counters: receive first, then send, each home, cached, lookup, lost", () => {
  const p = eventPathsOf([1, 2, 3, 4, 5, 6, 7, 8]);
  assert.deepEqual(p, { rx: { home: 1, cached: 2, lookup: 3, lost: 4 }, tx: { home: 5, cached: 6, lookup: 7, lost: 8 } });
  assert.equal(pathTotal(p.tx), 26);
  assert.throws(() => eventPathsOf([1, 2, 3, 4, 5, 6]), /want 8, got 6/);
});

test('--stats line: shares of each way and the counts behind them', () => {
  const before = eventPathsOf([0, 0, 0, 0, 7, 1, 1, 0]);
  const now = eventPathsOf([0, 0, 0, 0, 997_007, 1_001, 2_000, 1]);
  assert.equal(
    formatEventPaths(pathsSince(now, before)),
    'paths: send 1,000,000 events: 99.7% home (997,000), 0.1% cached (1,000), 0.2% lookup (1,999), 1 lost; receive 0 events: - home (0), - cached (0), - lookup (0), 0 lost',
  );
  assert.equal(formatEventPaths(eventPathsOf([0, 0, 5, 0, 0, 1, 99_999, 0])), 'paths: send 100,000 events: 0% home (0), <0.1% cached (1), >99.9% lookup (99,999), 0 lost; receive 5 events: 0% home (0), 0% cached (0), 100% lookup (5), 0 lost');
});

test('two spans of path counters add up way by way, and a reading less the one before gives the span', () => {
  const a = eventPathsOf([1, 2, 3, 4, 5, 6, 7, 8]);
  const b = eventPathsOf([10, 20, 30, 40, 50, 60, 70, 80]);
  assert.deepEqual(addPaths(a, b), eventPathsOf([11, 22, 33, 44, 55, 66, 77, 88]));
  assert.deepEqual(pathsSince(addPaths(a, b), a), b);
});
