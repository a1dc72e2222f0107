import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { FlowBytes, Frame } from '../../src/capture/types';
import { UsageError } from '../../src/errors';
import { sumFlows } from '../../src/capture/types';
import { rebin, rebinFactor } from '../../src/replay/frames';

const flow = (lport: number, rx: number, tx: number): FlowBytes =>
  ({ pid: 1, comm: 'c', family: 4, laddr: '127.0.0.1', lport, raddr: '127.0.0.1', rport: 80, rxBytes: rx, txBytes: tx });
const frame = (seq: number, intervalUs = 1e6): Frame => ({
  seq, wallUs: seq * 1e6, monoUs: seq * 1e6, intervalUs,
  loadavg: { load1: 0, load5: 0, load15: 0, running: 1, tasks: 1, lastPid: seq, raw: `l${seq}` },
  lost: { events: 0, rxBytes: 0, txBytes: 0 },
});

test('the re-bin factor is the new interval over the recorded one, and must be whole', () => {
  assert.equal(rebinFactor(5, 1e6), 5);
  assert.equal(rebinFactor(1, 500_000), 2);
  assert.equal(rebinFactor(0.5, 500_000), 1);
  assert.throws(() => rebinFactor(1.5, 1e6), UsageError);
  assert.throws(() => rebinFactor(0.5, 1e6), UsageError);
});

test('a bin sums its frames per flow and takes the time and load of its last frame', () => {
  const frames = [
    { frame: frame(1), flows: [flow(1, 10, 1), flow(2, 5, 5)] },
    { frame: frame(2, 1_000_100), flows: [flow(1, 20, 2)] },
    { frame: frame(3), flows: [flow(3, 7, 0)] },
  ];
  const bins = [...rebin(frames, 2)];
  assert.equal(bins.length, 2);
  assert.equal(bins[0].last.seq, 2);
  assert.equal(bins[0].frames, 2);
  assert.equal(bins[0].intervalUs, 2_000_100);
  assert.deepEqual(bins[0].flows, [flow(1, 30, 3), flow(2, 5, 5)]);
  assert.equal(bins[1].last.seq, 3);
  assert.deepEqual(bins[1].flows, [flow(3, 7, 0)]);
});

test('summing does not change its inputs', () => {
  const a = [flow(1, 1, 1)];
  sumFlows([a, [flow(1, 2, 2)]]);
  assert.deepEqual(a, [flow(1, 1, 1)]);
});
