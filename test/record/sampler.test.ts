import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Drain } from '../../src/record/counters';
import { monoUs } from '../../src/record/host';
import { runIntervals } from '../../src/record/loop';
import { deadline, isLast, Sampler } from '../../src/record/sampler';

const load = { load1: 0.1, load5: 0.2, load15: 0.3, running: 1, tasks: 9, lastPid: 7, raw: '0.10 0.20 0.30 1/9 7' };
const empty: Drain = { flows: { count: 0, flows: [], rx: [], tx: [] }, lost: { events: 0, rxBytes: 0, txBytes: 0 } };

test('deadlines are multiples of the interval from the start, so lateness never adds up; a duration cuts the last', () => {
  assert.equal(deadline(1_000, 500, 1, {}), 1_500);
  assert.equal(deadline(1_000, 500, 7, {}), 4_500);
  assert.equal(deadline(1_000, 400, 3, { durationUs: 1_000 }), 2_000);
  assert.equal(isLast(1_000, 400, 2, { durationUs: 1_000 }), false);
  assert.equal(isLast(1_000, 400, 3, { durationUs: 1_000 }), true);
  assert.equal(isLast(0, 1, 4, { count: 5 }), false);
  assert.equal(isLast(0, 1, 5, { count: 5 }), true);
  assert.equal(isLast(0, 1, 1_000_000, {}), false);
});

test('a sample reads the clocks before draining, and its interval runs from the previous sample', () => {
  const events: string[] = [];
  let mono = 10_000;
  const sampler = new Sampler({
    monoUs: () => (events.push('mono'), mono),
    wallUs: () => (events.push('wall'), 1_700_000_000_000_000 + mono),
    loadavg: () => (events.push('load'), load),
    drain: () => (events.push('drain'), { ...empty, lost: { events: 2, rxBytes: 3, txBytes: 4 } } as Drain),
  }, 9_000);
  mono = 10_250;
  const first = sampler.sample();
  assert.deepEqual(events.slice(0, 3), ['mono', 'wall', 'drain']);
  assert.equal(first.frame.monoUs, 10_250);
  assert.equal(first.frame.intervalUs, 1_250);
  assert.equal(first.frame.wallUs, 1_700_000_000_010_250);
  assert.deepEqual(first.frame.lost, { events: 2, rxBytes: 3, txBytes: 4 });
  assert.equal(first.frame.loadavg, load);
  mono = 11_000;
  assert.equal(sampler.sample().frame.intervalUs, 750);
});

test('the interval loop catches SIGINT before it says it has started: a signal sent at once ends it cleanly', async () => {
  const sampler = new Sampler({ monoUs, wallUs: () => 1_700_000_000_000_000, loadavg: () => load, drain: () => empty }, monoUs());
  const frames: number[] = [];
  // A real signal to this process, sent from the start hook: without a handler by then, it would end the test run.
  const ending = await runIntervals(sampler, monoUs(), 60_000_000, {}, (_s, k) => {
    frames.push(k);
  }, () => {
    process.kill(process.pid, 'SIGINT');
  });
  assert.equal(ending, 'signal');
  assert.deepEqual(frames, [1], 'the interval in progress is kept');
});
