import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { eventPathsOf, formatEventPaths, pathsSince, pathTotal } from '../../src/record/stats';

test('the addon\'s six counters: receive first, then send, each cached, lookup, lost', () => {
  const p = eventPathsOf([1, 2, 3, 4, 5, 6]);
  assert.deepEqual(p, { rx: { cached: 1, lookup: 2, lost: 3 }, tx: { cached: 4, lookup: 5, lost: 6 } });
  assert.equal(pathTotal(p.tx), 15);
  assert.throws(() => eventPathsOf([1, 2, 3]), /want 6, got 3/);
});

test('--stats line: shares of each way and the counts behind them', () => {
  const before = eventPathsOf([0, 0, 0, 0, 0, 0]);
  const now = eventPathsOf([0, 0, 0, 998_000, 1_999, 1]);
  assert.equal(
    formatEventPaths(pathsSince(now, before)),
    'paths: send 1,000,000 events: 99.8% cached (998,000), 0.2% lookup (1,999), 1 lost; receive 0 events: - cached (0), - lookup (0), 0 lost',
  );
  assert.equal(formatEventPaths(eventPathsOf([0, 5, 0, 1, 99_999, 0])), 'paths: send 100,000 events: <0.1% cached (1), >99.9% lookup (99,999), 0 lost; receive 5 events: 0% cached (0), 100% lookup (5), 0 lost');
});
