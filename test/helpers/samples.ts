// Every sample of a range of frames as [frame, flow, rx, tx] rows, read through the reader's own calls.
import type { CaptureReader } from '../../src/capture/reader';

export function* sampleRows(r: CaptureReader, fromSeq: number, toSeq: number): Generator<[number, number, number, number]> {
  for (const frame of r.frames(fromSeq, toSeq)) {
    for (const s of r.samples(frame.seq)) yield [frame.seq, s.flow, s.rxBytes, s.txBytes];
  }
}
