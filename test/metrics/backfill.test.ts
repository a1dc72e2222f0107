import assert from 'node:assert/strict';
import { test } from 'node:test';
import { captureId, familySamples, StepTimesBuilder } from '../../src/metrics/backfill';

const S = 1_000_000;
const T0 = 1_764_000_000 * S;

function steps(frames: number, perStep: number, skip: number[] = []) {
  const b = new StepTimesBuilder(1, perStep);
  for (let seq = 1; seq <= frames; seq++) if (!skip.includes(seq)) b.add(seq, T0 + seq * S, S);
  return b.result();
}

test('each series: a 0 at the start of its first step, its running sum at the end of each step to its last, together and ascending', () => {
  const rows: [number, number, number][] = [[0, 1, 10], [0, 3, 5], [1, 0, 7]];
  const out = [...familySamples('m_total', (s) => `{s="${s}"}`, steps(5, 1), rows)].join('');
  assert.equal(out, [
    'm_total{s="0"} 0 1764000001', 'm_total{s="0"} 10 1764000002', 'm_total{s="0"} 10 1764000003', 'm_total{s="0"} 15 1764000004',
    'm_total{s="1"} 0 1764000000', 'm_total{s="1"} 7 1764000001', '',
  ].join('\n'));
});

test('steps of several frames end at their last frame; a step with no frames (a gap) has no sample', () => {
  const t = steps(6, 2, [3, 4]);
  assert.deepEqual([...t.end].map((u) => (Number.isNaN(u) ? null : (u - T0) / S)), [2, null, 6]);
  assert.deepEqual([...t.start].map((u) => (Number.isNaN(u) ? null : (u - T0) / S)), [0, null, 4]);
  const out = [...familySamples('m_total', () => '', t, [[0, 0, 1], [0, 2, 2]])].join('');
  assert.equal(out, 'm_total 0 1764000000\nm_total 1 1764000002\nm_total 3 1764000006\n');
});

test('a wall clock that steps back never makes a series go back in time: the next later sample carries the sum', () => {
  const b = new StepTimesBuilder(1, 1);
  b.add(1, T0 + 10 * S, S);
  b.add(2, T0 + 5 * S, S);
  b.add(3, T0 + 12 * S, S);
  const out = [...familySamples('m_total', () => '', b.result(), [[0, 0, 1], [0, 1, 2], [0, 2, 4]])].join('');
  assert.equal(out, 'm_total 0 1764000009\nm_total 1 1764000010\nm_total 7 1764000012\n');
});

test('a capture id is its UTC start and boot id, the same for the same header', () => {
  assert.equal(captureId(Date.UTC(2026, 10, 20, 14, 0, 0) * 1000, '6f1c2a9e-3b7d-4e58-9a41-0c5d8e7f2b13'), '20261120T140000Z-6f1c2a9e');
});
