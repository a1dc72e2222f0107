// Reads a capture through the reader calls the commands make (info, replay, report, export), in process, and
// returns what they would show, or the CaptureError one of them would end with.
import { CaptureReader, SampleColumns } from '../../src/capture/reader';
import { CaptureError } from '../../src/errors';
import { rebin, type FrameFlows } from '../../src/replay/frames';
import { infoJson, infoText } from '../../src/replay/info';
import { displayZone } from '../../src/time/zone';
import { renderFrame } from '../../src/view/classic';
import type { Snapshot } from './hostile-captures';

export type Outcome = { read: Snapshot } | { refused: string; atOpen: boolean };

export function readLikeEveryCommand(file: string): Outcome {
  let r: CaptureReader;
  try {
    r = CaptureReader.open(file);
  } catch (err) {
    if (err instanceof CaptureError) return { refused: err.message, atOpen: true };
    throw err;
  }
  try {
    return { read: readAll(file, r) };
  } catch (err) {
    if (err instanceof CaptureError) return { refused: err.message, atOpen: false };
    throw err;
  } finally {
    r.close();
  }
}

function readAll(file: string, r: CaptureReader): Snapshot {
  // info
  const span = r.span();
  const totals = span ? r.totals(span.firstSeq, span.lastSeq) : null;
  infoText({ file, meta: r.meta, span, totals }, displayZone(r.meta, false));
  JSON.stringify(infoJson({ file, meta: r.meta, span, totals }));
  const snap: Snapshot = { meta: { ...r.meta }, frames: [], totals, seeks: [] };
  if (!span) return snap;
  // replay
  const frames = function* (): Generator<FrameFlows> {
    for (const frame of r.frames(span.firstSeq, span.lastSeq)) yield { frame, flows: r.flowBytes(frame.seq) };
  };
  for (const bin of rebin(frames(), 1)) renderFrame({ clock: '00:00:00', loadavg: bin.last.loadavg.raw, flows: bin.flows }, { clear: false, summary: true, sort: 'all' });
  // report and export: samples as columns, flows looked up by id
  const cols = new SampleColumns();
  for (const frame of r.frames(span.firstSeq, span.lastSeq)) {
    const n = r.readFrameSamples(frame.seq, cols);
    const samples = r.samples(frame.seq);
    const byColumns = Array.from({ length: n }, (_, i) => `${cols.flow[i]}:${cols.rx[i]}:${cols.tx[i]}`).sort().join();
    const byRows = samples.map((s) => `${s.flow}:${s.rxBytes}:${s.txBytes}`).sort().join();
    if (byColumns !== byRows) throw new Error(`frame ${frame.seq}: readFrameSamples and samples disagree: ${byColumns} / ${byRows}`);
    snap.frames.push({
      frame: structuredClone(frame) as unknown as Record<string, unknown>,
      samples: samples.sort((a, b) => a.flow - b.flow).map((s) => ({ flow: { ...r.flow(s.flow) }, rx: s.rxBytes, tx: s.txBytes })),
    });
  }
  r.endedCleanly();
  r.lastSeq();
  // --from and --to
  const mid = snap.frames[Math.floor(snap.frames.length / 2)].frame as { wallUs: number; monoUs: number };
  for (const clock of ['wall', 'mono'] as const) {
    const us = clock === 'wall' ? mid.wallUs : mid.monoUs;
    snap.seeks.push(r.seqAtOrAfter(clock, us), r.seqAtOrBefore(clock, us), r.seqAtOrAfter(clock, us + 1), r.seqAtOrBefore(clock, us - 1));
  }
  return snap;
}
