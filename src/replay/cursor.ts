// The interactive view's window on a capture: the frames of a range with their times and total bytes (the
// timeline, read once), any interval's flows summed over a re-binned span, and one flow's or group's bytes
// over the whole range. The I/O side of the view: everything it returns is plain data.
import { CaptureReader, SampleColumns, type Span } from '../capture/reader';
import type { Flow, Frame } from '../capture/types';

/** A flow's bytes in one interval, with the id the capture gives it (a row's identity for the chart). */
export interface FlowRow extends Flow {
  rxBytes: number;
  txBytes: number;
}

/** The frames of the range in order: their seqs, times and total bytes (all flows), one entry per frame. */
export interface Timeline {
  seqs: number[];
  wallUs: number[];
  monoUs: number[];
  intervalUs: number[];
  /** Received + sent bytes of every flow in the frame. */
  totals: number[];
}

/** An interval of the view: `frames` consecutive frames summed. */
export interface BinData {
  first: Frame;
  last: Frame;
  frames: number;
  /** Sum of the frames' measured intervals. */
  intervalUs: number;
  flows: FlowRow[];
}

export class CaptureCursor {
  readonly timeline: Timeline = { seqs: [], wallUs: [], monoUs: [], intervalUs: [], totals: [] };
  private readonly columns = new SampleColumns();
  /** The last few bins read (the one shown and its neighbours, read ahead while the user reads the screen). */
  private readonly cached = new Map<string, BinData>();
  private rxSum = new Float64Array(1024);
  private txSum = new Float64Array(1024);
  /** The bin each flow id was last summed in: an id whose mark is not the current one starts from zero. */
  private seen = new Uint32Array(1024);
  private generation = 1;
  private resolved = new Uint8Array(1024);

  private growSums(id: number): void {
    const size = Math.max(id + 1, this.rxSum.length * 2);
    const grow = <T extends Float64Array | Uint32Array>(a: T, make: (n: number) => T): T => {
      const b = make(size);
      b.set(a);
      return b;
    };
    this.rxSum = grow(this.rxSum, (n) => new Float64Array(n));
    this.txSum = grow(this.txSum, (n) => new Float64Array(n));
    this.seen = grow(this.seen, (n) => new Uint32Array(n));
  }

  /** Reads the frames fromSeq..toSeq (toSeq null: to the newest) into the timeline. */
  constructor(readonly reader: CaptureReader, private readonly fromSeq: number, private readonly toSeq: number | null) {
    this.grow();
  }

  get frames(): number {
    return this.timeline.seqs.length;
  }

  /** Adds the frames committed since the last call (a capture being recorded); returns how many. */
  grow(): number {
    const t = this.timeline;
    const next = t.seqs.length ? t.seqs[t.seqs.length - 1] + 1 : this.fromSeq;
    const last = this.toSeq ?? this.reader.lastSeq();
    if (last === null || last < next) return 0;
    let added = 0;
    for (const f of this.reader.frames(next, last)) {
      const n = this.reader.readFrameSamples(f.seq, this.columns);
      let total = 0;
      for (let i = 0; i < n; i++) {
        total += this.columns.rx[i] + this.columns.tx[i];
        // Each flow is looked up once, here: a step or a seek later finds every flow it shows already resolved.
        const id = this.columns.flow[i];
        if (id >= this.resolved.length) {
          const b = new Uint8Array(Math.max(id + 1, this.resolved.length * 2));
          b.set(this.resolved);
          this.resolved = b;
        }
        if (!this.resolved[id]) {
          this.reader.flow(id);
          this.resolved[id] = 1;
        }
      }
      t.seqs.push(f.seq);
      t.wallUs.push(f.wallUs);
      t.monoUs.push(f.monoUs);
      t.intervalUs.push(f.intervalUs);
      t.totals.push(total);
      added++;
    }
    // a recorder names hosts and cgroups after their flows' first frames: bins read before show them once it has
    if (added > 0 && this.reader.refreshLookups()) this.cached.clear();
    return added;
  }

  /**
   * Forgets the frames a size- or age-bounded recorder has dropped from the front of the capture; returns
   * how many. Bins count from the new first frame.
   */
  prune(): number {
    const t = this.timeline;
    const span = this.reader.span();
    let n = 0;
    while (n < t.seqs.length && (!span || t.seqs[n] < span.firstSeq)) n++;
    if (n === 0) return 0;
    for (const a of [t.seqs, t.wallUs, t.monoUs, t.intervalUs, t.totals]) a.splice(0, n);
    this.cached.clear();
    return n;
  }

  /** A span over the timeline, as the time specs of --from and j are placed on. */
  span(): Span {
    const t = this.timeline;
    const first = this.frameAt(0);
    const last = this.frameAt(t.seqs.length - 1);
    return { frames: t.seqs.length, firstSeq: first.seq, lastSeq: last.seq, first, last };
  }

  frameAt(i: number): Frame {
    const f = this.reader.frame(this.timeline.seqs[i]);
    if (!f) throw new Error(`frame ${this.timeline.seqs[i]} disappeared`);
    return f;
  }

  /** Interval `index` when frames are grouped `factor` at a time from the start of the range. */
  bin(index: number, factor: number): BinData {
    const from = index * factor;
    const to = Math.min(this.frames, from + factor) - 1;
    const key = `${index}:${factor}`;
    const c = this.cached.get(key);
    // A bin that was short because the capture had not yet reached its end is read again once it has grown;
    // a bin's first frame tells whether the timeline still starts where it did.
    if (c && c.frames === to - from + 1 && c.first.seq === this.timeline.seqs[from]) return c;
    // Summed per flow id in typed arrays, so a step allocates little more than the rows it returns.
    const touched: number[] = [];
    for (let i = from; i <= to; i++) {
      const n = this.reader.readFrameSamples(this.timeline.seqs[i], this.columns);
      const { flow, rx, tx } = this.columns;
      for (let k = 0; k < n; k++) {
        const id = flow[k];
        if (id >= this.rxSum.length) this.growSums(id);
        if (this.seen[id] !== this.generation) {
          this.seen[id] = this.generation;
          this.rxSum[id] = 0;
          this.txSum[id] = 0;
          touched.push(id);
        }
        this.rxSum[id] += rx[k];
        this.txSum[id] += tx[k];
      }
    }
    this.generation++;
    const flows: FlowRow[] = touched.map((id) => ({ ...this.reader.flow(id), rxBytes: this.rxSum[id], txBytes: this.txSum[id] }));
    let intervalUs = 0;
    for (let i = from; i <= to; i++) intervalUs += this.timeline.intervalUs[i];
    const bin: BinData = { first: this.frameAt(from), last: this.frameAt(to), frames: to - from + 1, intervalUs, flows };
    this.cached.delete(key);
    this.cached.set(key, bin);
    if (this.cached.size > 4) this.cached.delete(this.cached.keys().next().value!);
    return bin;
  }

  /**
   * The received and sent bytes, frame by frame over the timeline from frame `fromIndex` on, of the flows
   * `match` accepts: one pass over every sample, each flow judged once.
   */
  series(match: (f: Flow) => boolean, fromIndex = 0): { rx: Float64Array; tx: Float64Array } {
    const n = this.frames;
    const rx = new Float64Array(Math.max(0, n - fromIndex));
    const tx = new Float64Array(rx.length);
    const judged = new Map<number, boolean>();
    for (let i = fromIndex; i < n; i++) {
      const count = this.reader.readFrameSamples(this.timeline.seqs[i], this.columns);
      const c = this.columns;
      for (let k = 0; k < count; k++) {
        const id = c.flow[k];
        let yes = judged.get(id);
        if (yes === undefined) judged.set(id, (yes = match(this.reader.flow(id))));
        if (yes) {
          rx[i - fromIndex] += c.rx[k];
          tx[i - fromIndex] += c.tx[k];
        }
      }
    }
    return { rx, tx };
  }
}
