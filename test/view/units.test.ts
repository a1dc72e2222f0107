import assert from 'node:assert/strict';
import { test } from 'node:test';
import { grouped, humanBytes, humanDuration, lostText } from '../../src/view/units';

test('human units round; grouped counts are exact', () => {
  assert.equal(humanBytes(1023), '1023 B');
  assert.equal(humanBytes(1536), '1.50 KiB');
  assert.equal(humanBytes(99_898_413), '95.3 MiB');
  assert.equal(grouped(102_429_405), '102,429,405');
  assert.equal(humanDuration(3_725e6), '1h02m05s');
  assert.equal(humanDuration(12_002_000), '12.002s');
});

test('lost counts: exact for the probes that know the bytes, a floor for kprobes', () => {
  const lost = { events: 3, rxBytes: 4096, txBytes: 0 };
  assert.equal(lostText(lost, 'tracepoint'), '3 events: 4,096 bytes received, 0 bytes sent, in no flow');
  assert.equal(lostText(lost, 'kprobe'), '3 events: at least 4,096 bytes received, at least 0 bytes sent, in no flow');
});
