// What a report reads: the frames of one capture, or of several captures on one wall-clock timeline, mapped
// to groups and summed into windows. One capture is read frame by frame as recorded; several are merged
// into slots of their common interval, each slot holding every capture's frame that ended in it.
import { CaptureReader, SampleColumns } from '../capture/reader';
import type { Flow, Frame } from '../capture/types';
import { CaptureError, UsageError } from '../errors';
import { resolveBound, resolveRange, type SeqRange } from '../time/range';
import type { TimeSpec } from '../time/spec';
import { dateTimeOf, displayZone, UTC, type DisplayZone } from '../time/zone';
import { WindowAggregator, type AggregateOptions, type WindowStats } from './aggregate';
import type { FlowGroups } from './group';
import { windows, type RidableSource, type Rider, type WindowSource } from './scan';

/** A flow with the host that recorded it, for `--by rechost`. */
export interface HostFlow extends Flow {
  rechost: string;
}

export interface Timeline extends WindowSource {
  /** The nominal interval of a frame. */
  readonly intervalUs: number;
  /** Frames (slots, for several captures) in the range. */
  frameCount(): number;
  windows(groups: FlowGroups, opts: AggregateOptions): Generator<WindowStats>;
}

/** One capture's range, frame by frame; a pass can carry a rider. */
export class CaptureTimeline implements Timeline, RidableSource {
  readonly intervalUs: number;

  constructor(private readonly reader: CaptureReader, private readonly range: SeqRange) {
    this.intervalUs = reader.meta.intervalUs;
  }

  frameCount(): number {
    let n = 0;
    for (const _ of this.reader.frames(this.range.fromSeq, this.range.toSeq)) n++;
    return n;
  }

  *windows(groups: FlowGroups, opts: AggregateOptions, rider?: Rider): Generator<WindowStats> {
    const { reader, range } = this;
    const host = reader.meta.hostname;
    yield* windows(reader, range, groups, opts, rider, (id): HostFlow => ({ ...reader.flow(id), rechost: host }));
  }

}

export interface CaptureSpan {
  file: string;
  host: string;
  startUs: number;
  endUs: number;
}

/** Two captures of one host whose spans overlap would count its bytes twice: the first such pair, or null. */
export function sameHostOverlap(spans: readonly CaptureSpan[]): [CaptureSpan, CaptureSpan] | null {
  const sorted = [...spans].sort((a, b) => a.startUs - b.startUs);
  const lastOf = new Map<string, CaptureSpan>();
  for (const s of sorted) {
    const prev = lastOf.get(s.host);
    if (prev && s.startUs < prev.endUs) return [prev, s];
    if (!prev || s.endUs > prev.endUs) lastOf.set(s.host, s);
  }
  return null;
}

/** The zone several captures' times are shown and read in: theirs when they share one, else --utc is needed. */
export function commonZone(metas: readonly { file: string; timeZone: string | null; tzOffsetMinutes: number }[], utc: boolean): DisplayZone {
  if (utc) return UTC;
  const name = (m: (typeof metas)[number]): string => m.timeZone || `UTC${m.tzOffsetMinutes >= 0 ? '+' : '-'}${Math.abs(m.tzOffsetMinutes)}m`;
  const other = metas.find((m) => name(m) !== name(metas[0]));
  if (other) throw new UsageError(`the captures were recorded in different time zones (${name(metas[0])} in ${metas[0].file}, ${name(other)} in ${other.file}): add --utc to read and show times in UTC`);
  return displayZone(metas[0], false);
}

interface Part {
  index: number;
  reader: CaptureReader;
  range: SeqRange;
}

/** Several captures on one timeline. The readers stay open until `close`. */
export class MergedTimeline implements Timeline {
  readonly intervalUs: number;
  readonly zone: DisplayZone;
  readonly hostnames: string[];
  private readonly parts: Part[] = [];

  private constructor(private readonly readers: CaptureReader[], utc: boolean, from?: TimeSpec, to?: TimeSpec) {
    const spans = readers.map((r) => {
      const span = r.span();
      if (!span) throw new CaptureError(r.path, 'the capture has no frames yet (nothing to report)');
      return span;
    });
    const interval = readers.find((r) => r.meta.intervalUs !== readers[0].meta.intervalUs);
    if (interval) {
      const s = (r: CaptureReader): string => `${r.meta.intervalUs / 1e6}s`;
      throw new UsageError(`the captures have different intervals (${s(readers[0])} in ${readers[0].path}, ${s(interval)} in ${interval.path}): report them separately`);
    }
    this.intervalUs = readers[0].meta.intervalUs;
    this.zone = commonZone(readers.map((r) => ({ file: r.path, timeZone: r.meta.timeZone, tzOffsetMinutes: r.meta.tzOffsetMinutes })), utc);
    const clash = sameHostOverlap(readers.map((r, i) => ({ file: r.path, host: r.meta.hostname, startUs: spans[i].first.wallUs - spans[i].first.intervalUs, endUs: spans[i].last.wallUs })));
    if (clash) {
      throw new UsageError(`${clash[0].file} and ${clash[1].file} are captures of the same host (${clash[0].host}) that overlap in time: report them separately, or export the part of one that the other lacks`);
    }
    this.hostnames = [...new Set(readers.map((r) => r.meta.hostname))];
    for (const t of [from, to]) {
      if (t?.kind === 'offset') throw new UsageError(`--${t === from ? 'from' : 'to'}: an offset needs one capture; with several give a clock or ISO time`);
    }
    // Clock times are placed from the earliest capture's start, so all captures read them as the same instant.
    const earliest = spans.reduce((a, b) => (b.first.wallUs - b.first.intervalUs < a.first.wallUs - a.first.intervalUs ? b : a));
    const lo = from ? resolveBound(from, earliest, this.zone) : null;
    const hi = to ? resolveBound(to, earliest, this.zone) : null;
    if (hi && to && (to.kind === 'clock' || (to.kind === 'date' && to.ms === 0))) hi.us += 999_999;
    if (lo && hi && lo.us > hi.us) throw new UsageError(`--from ${dateTimeOf(this.zone, lo.us)} is after --to ${dateTimeOf(this.zone, hi.us)}`);
    readers.forEach((reader, index) => {
      const span = spans[index];
      const fromSeq = lo ? reader.seqAtOrAfter('wall', lo.us) : span.firstSeq;
      const toSeq = hi ? reader.seqAtOrBefore('wall', hi.us) : span.lastSeq;
      if (fromSeq !== null && toSeq !== null && fromSeq <= toSeq) this.parts.push({ index, reader, range: { fromSeq, toSeq } });
    });
    if (this.parts.length === 0) {
      const all = spans.map((s) => [s.first.wallUs - s.first.intervalUs, s.last.wallUs]);
      const first = Math.min(...all.map((a) => a[0]));
      const last = Math.max(...all.map((a) => a[1]));
      throw new UsageError(`no frames in the range asked for (the captures span ${dateTimeOf(this.zone, first)} to ${dateTimeOf(this.zone, last)})`);
    }
  }

  /** Opens every file; a failure closes those already open. */
  static open(files: readonly string[], utc: boolean, from?: TimeSpec, to?: TimeSpec): MergedTimeline {
    const readers: CaptureReader[] = [];
    try {
      for (const f of files) readers.push(CaptureReader.open(f));
      return new MergedTimeline(readers, utc, from, to);
    } catch (err) {
      for (const r of readers) r.close();
      throw err;
    }
  }

  close(): void {
    for (const r of this.readers) r.close();
  }

  /** The probes the captures were recorded with, each once. */
  get probes(): string[] {
    return [...new Set(this.readers.map((r) => r.meta.probe))];
  }

  frameCount(): number {
    let n = 0;
    for (const _ of this.slots()) n++;
    return n;
  }

  *windows(groups: FlowGroups, opts: AggregateOptions): Generator<WindowStats> {
    const done: WindowStats[] = [];
    const agg = new WindowAggregator(opts, (w) => done.push(w));
    const n = this.readers.length;
    const lookups = this.readers.map((reader) => {
      const host = reader.meta.hostname;
      return (id: number): HostFlow => ({ ...reader.flow(Math.floor(id / n)), rechost: host });
    });
    const cols = new SampleColumns();
    let of = new Int32Array(1024);
    let rx = new Float64Array(1024);
    let tx = new Float64Array(1024);
    for (const slot of this.slots()) {
      let count = 0;
      for (const [index, frame] of slot.frames) {
        const reader = this.readers[index];
        const k = reader.readFrameSamples(frame.seq, cols);
        if (of.length < count + k) {
          const size = 2 * (count + k);
          of = grownInt(of, size);
          rx = grownFloat(rx, size);
          tx = grownFloat(tx, size);
        }
        // Flow ids are per capture: id * n + index keeps them apart.
        for (let i = 0; i < k; i++, count++) {
          of[count] = groups.groupOf(cols.flow[i] * n + index, lookups[index]);
          rx[count] = cols.rx[i];
          tx[count] = cols.tx[i];
        }
      }
      agg.addFrame(slot.frame, of, rx, tx, count);
      yield* done.splice(0);
    }
    agg.finish();
    yield* done.splice(0);
  }

  /** The parts' frames merged in wall-clock order, one slot per interval with frames. */
  private *slots(): Generator<{ frame: Frame; frames: [number, Frame][] }> {
    const iters = this.parts.map((p) => ({ index: p.index, it: p.reader.frames(p.range.fromSeq, p.range.toSeq) }));
    const heads: (Frame | null)[] = iters.map((x) => x.it.next().value ?? null);
    // A frame belongs to the slot whose end is nearest its own end.
    const slotOf = (f: Frame): number => Math.round(f.wallUs / this.intervalUs);
    try {
      for (;;) {
        let slot = Infinity;
        for (const h of heads) if (h && slotOf(h) < slot) slot = slotOf(h);
        if (slot === Infinity) return;
        const frames: [number, Frame][] = [];
        for (let i = 0; i < heads.length; i++) {
          while (heads[i] && slotOf(heads[i]!) === slot) {
            frames.push([iters[i].index, heads[i]!]);
            heads[i] = iters[i].it.next().value ?? null;
          }
        }
        const lost = { events: 0, rxBytes: 0, txBytes: 0 };
        for (const [, f] of frames) {
          lost.events += f.lost.events;
          lost.rxBytes += f.lost.rxBytes;
          lost.txBytes += f.lost.txBytes;
        }
        const end = slot * this.intervalUs;
        yield { frame: { seq: slot, wallUs: end, monoUs: end, intervalUs: this.intervalUs, loadavg: frames[0][1].loadavg, lost }, frames };
      }
    } finally {
      for (const x of iters) x.it.return(undefined);
    }
  }
}

function grownInt(a: Int32Array, need: number): Int32Array<ArrayBuffer> {
  const b = new Int32Array(need);
  b.set(a);
  return b;
}

function grownFloat(a: Float64Array, need: number): Float64Array<ArrayBuffer> {
  const b = new Float64Array(need);
  b.set(a);
  return b;
}

/** Resolves one capture's range (the single-capture path, unchanged). */
export function singleRange(reader: CaptureReader, zone: DisplayZone, from?: TimeSpec, to?: TimeSpec): SeqRange {
  const span = reader.span();
  if (!span) throw new CaptureError(reader.path, 'the capture has no frames yet (nothing to report)');
  return resolveRange(reader, span, zone, from, to);
}
