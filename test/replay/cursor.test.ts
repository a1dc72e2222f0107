// The interactive view's cursor over the sample capture: its timeline, its bins and its series hold the
// generator's exact bytes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SAMPLE_FRAMES, sampleFlows } from '../../fixtures/generate';
import { CaptureReader } from '../../src/capture/reader';
import { flowKeyString, sumFlows } from '../../src/capture/types';
import { CaptureCursor } from '../../src/replay/cursor';
import { SAMPLE } from '../helpers/paths';

const bytes = (flows: { rxBytes: number; txBytes: number }[]): number => flows.reduce((s, f) => s + f.rxBytes + f.txBytes, 0);

test('the timeline has every frame of the range with its total bytes', () => {
  const reader = CaptureReader.open(SAMPLE);
  try {
    const c = new CaptureCursor(reader, 1, SAMPLE_FRAMES);
    assert.equal(c.frames, SAMPLE_FRAMES);
    assert.deepEqual(c.timeline.seqs, Array.from({ length: SAMPLE_FRAMES }, (_, i) => i + 1));
    assert.deepEqual(c.timeline.totals, Array.from({ length: SAMPLE_FRAMES }, (_, i) => bytes(sampleFlows(i + 1))));
    const part = new CaptureCursor(reader, 4, 6);
    assert.deepEqual(part.timeline.seqs, [4, 5, 6]);
    assert.equal(part.span().first.seq, 4);
  } finally {
    reader.close();
  }
});

test('a bin sums its frames per flow; the last bin may be short', () => {
  const reader = CaptureReader.open(SAMPLE);
  try {
    const c = new CaptureCursor(reader, 1, SAMPLE_FRAMES);
    const key = (f: Parameters<typeof flowKeyString>[0] & { rxBytes: number; txBytes: number }): string => `${flowKeyString(f)} ${f.rxBytes} ${f.txBytes}`;
    for (const factor of [1, 3, 5]) {
      for (let i = 0; i * factor < SAMPLE_FRAMES; i++) {
        const frames = Array.from({ length: Math.min(factor, SAMPLE_FRAMES - i * factor) }, (_, k) => i * factor + k + 1);
        const bin = c.bin(i, factor);
        assert.equal(bin.frames, frames.length);
        assert.equal(bin.first.seq, frames[0]);
        assert.equal(bin.last.seq, frames[frames.length - 1]);
        const want = sumFlows(frames.map(sampleFlows)).map(key).sort();
        assert.deepEqual(bin.flows.map(key).sort(), want, `factor ${factor} bin ${i}`);
      }
    }
  } finally {
    reader.close();
  }
});

test('a series is one flow set\'s bytes in every frame', () => {
  const reader = CaptureReader.open(SAMPLE);
  try {
    const c = new CaptureCursor(reader, 1, SAMPLE_FRAMES);
    const s = c.series((f) => f.comm === 'curl');
    for (let i = 1; i <= SAMPLE_FRAMES; i++) {
      const curl = sampleFlows(i).filter((f) => f.comm === 'curl');
      assert.equal(s.rx[i - 1], curl.reduce((a, f) => a + f.rxBytes, 0));
      assert.equal(s.tx[i - 1], curl.reduce((a, f) => a + f.txBytes, 0));
    }
  } finally {
    reader.close();
  }
});
