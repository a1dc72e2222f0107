// Sums a capture's samples per group and per window of frames, streaming: state is per group and per frame,
// never per sample, so memory does not grow with the capture. Plain numbers in, plain data out.
import { ensured } from '../capture/grow';
import type { Frame } from '../capture/types';

export type Metric = 'rx' | 'tx' | 'total';

/** One group's bytes in one window. */
export interface GroupStats {
  group: number;
  rx: number;
  tx: number;
  /** The highest rate of the peak metric in one frame of the window, bytes per second. */
  peakRate: number;
  /** End of that frame (wall clock, µs). */
  peakWallUs: number;
  /** How many groups were summed into this one (more than 1 only for a folded `other`). */
  members: number;
}

/** The frame of a window that moved the most bytes (all groups), as a rate. */
export interface BusiestFrame {
  startUs: number;
  endUs: number;
  rx: number;
  tx: number;
  rate: number;
}

export interface WindowStats {
  /** Start of the first frame's interval and end of the last (wall clock, µs). */
  startUs: number;
  endUs: number;
  frames: number;
  /** The summed actual lengths of the frames' intervals: what average rates divide by. */
  durationUs: number;
  /** Bytes of every sample in the window, folded away or not. */
  rx: number;
  tx: number;
  lost: { events: number; rxBytes: number; txBytes: number };
  busiest: BusiestFrame | null;
  /** The groups that moved bytes in the window, in the order first met. */
  groups: GroupStats[];
}

export interface AggregateOptions {
  /** Frames per window; Infinity for one window over everything. */
  framesPerWindow: number;
  /** What a group's peak is the peak of (default: received + sent). */
  peakOf?: Metric;
  /**
   * Where each group's bytes go: fold[g] is the group counted instead (the same g, or an `other` group), or -1
   * to leave them out of the groups (they still count in the window's totals).
   */
  fold?: ArrayLike<number>;
}

/**
 * Windows of consecutive frames, aligned to the first frame given. Feed frames in order with their samples
 * already mapped to group numbers; each window is handed to `emit` when its last frame is in.
 */
export class WindowAggregator {
  private readonly perWindow: number;
  private readonly peakOf: Metric;
  private readonly fold: ArrayLike<number> | null;
  // Per group: bytes in the current frame, in the current window, the window's peak; stamps say whether a
  // slot belongs to the current frame/window, so nothing is cleared per frame.
  private fRx = new Float64Array(64);
  private fTx = new Float64Array(64);
  private wRx = new Float64Array(64);
  private wTx = new Float64Array(64);
  private wPeak = new Float64Array(64);
  private wPeakAt = new Float64Array(64);
  private wMembers = new Float64Array(64);
  private fStamp = new Int32Array(64);
  private wStamp = new Int32Array(64);
  private srcStamp = new Int32Array(64);
  private frameTouched: number[] = [];
  private windowTouched: number[] = [];
  private frameNo = 0;
  private windowNo = 1;
  private win: Omit<WindowStats, 'groups'> | null = null;

  constructor(opts: AggregateOptions, private readonly emit: (w: WindowStats) => void) {
    this.perWindow = opts.framesPerWindow;
    this.peakOf = opts.peakOf ?? 'total';
    this.fold = opts.fold ?? null;
  }

  /** One frame and its samples: `groups[i]` is the group of sample i, which moved rx[i] and tx[i] bytes. */
  addFrame(frame: Frame, groups: ArrayLike<number>, rx: ArrayLike<number>, tx: ArrayLike<number>, count: number): void {
    if (!this.win) {
      this.win = { startUs: frame.wallUs - frame.intervalUs, endUs: frame.wallUs, frames: 0, durationUs: 0, rx: 0, tx: 0,
        lost: { events: 0, rxBytes: 0, txBytes: 0 }, busiest: null };
    }
    const win = this.win;
    const frameNo = ++this.frameNo;
    const windowNo = this.windowNo;
    const fold = this.fold;
    let frameRx = 0;
    let frameTx = 0;
    for (let i = 0; i < count; i++) {
      const r = rx[i];
      const t = tx[i];
      frameRx += r;
      frameTx += t;
      let g = groups[i];
      if (fold) {
        if (g >= this.srcStamp.length) this.srcStamp = ensured(this.srcStamp, g + 1);
        const into = fold[g];
        if (into < 0) continue;
        if (this.srcStamp[g] !== windowNo) {
          this.srcStamp[g] = windowNo;
          this.touchWindow(into);
          this.wMembers[into]++;
        }
        g = into;
      }
      if (g >= this.fStamp.length) this.grow(g + 1);
      if (this.fStamp[g] !== frameNo) {
        this.fStamp[g] = frameNo;
        this.fRx[g] = 0;
        this.fTx[g] = 0;
        this.frameTouched.push(g);
      }
      this.fRx[g] += r;
      this.fTx[g] += t;
    }
    const perSecond = 1e6 / frame.intervalUs;
    for (const g of this.frameTouched) {
      if (!fold && this.touchWindow(g)) this.wMembers[g] = 1;
      const r = this.fRx[g];
      const t = this.fTx[g];
      this.wRx[g] += r;
      this.wTx[g] += t;
      const rate = (this.peakOf === 'rx' ? r : this.peakOf === 'tx' ? t : r + t) * perSecond;
      if (rate > this.wPeak[g]) {
        this.wPeak[g] = rate;
        this.wPeakAt[g] = frame.wallUs;
      }
    }
    this.frameTouched.length = 0;
    win.endUs = frame.wallUs;
    win.frames++;
    win.durationUs += frame.intervalUs;
    win.rx += frameRx;
    win.tx += frameTx;
    win.lost.events += frame.lost.events;
    win.lost.rxBytes += frame.lost.rxBytes;
    win.lost.txBytes += frame.lost.txBytes;
    const rate = (frameRx + frameTx) * perSecond;
    if (frameRx + frameTx > 0 && (!win.busiest || rate > win.busiest.rate)) {
      win.busiest = { startUs: frame.wallUs - frame.intervalUs, endUs: frame.wallUs, rx: frameRx, tx: frameTx, rate };
    }
    if (win.frames === this.perWindow) this.endWindow();
  }

  /** Hands over the last window, if it has frames. */
  finish(): void {
    if (this.win) this.endWindow();
  }

  /** Makes g's window slot current; true when it was not yet. */
  private touchWindow(g: number): boolean {
    if (g >= this.wStamp.length) this.grow(g + 1);
    if (this.wStamp[g] === this.windowNo) return false;
    this.wStamp[g] = this.windowNo;
    this.wRx[g] = 0;
    this.wTx[g] = 0;
    this.wPeak[g] = -1;
    this.wPeakAt[g] = 0;
    this.wMembers[g] = 0;
    this.windowTouched.push(g);
    return true;
  }

  private endWindow(): void {
    const win = this.win!;
    const groups: GroupStats[] = [];
    for (const g of this.windowTouched) {
      groups.push({ group: g, rx: this.wRx[g], tx: this.wTx[g], peakRate: this.wPeak[g], peakWallUs: this.wPeakAt[g], members: this.wMembers[g] });
    }
    this.windowTouched = [];
    this.windowNo++;
    this.win = null;
    this.emit({ ...win, groups });
  }

  private grow(need: number): void {
    this.fRx = ensured(this.fRx, need);
    this.fTx = ensured(this.fTx, need);
    this.wRx = ensured(this.wRx, need);
    this.wTx = ensured(this.wTx, need);
    this.wPeak = ensured(this.wPeak, need);
    this.wPeakAt = ensured(this.wPeakAt, need);
    this.wMembers = ensured(this.wMembers, need);
    this.fStamp = ensured(this.fStamp, need);
    this.wStamp = ensured(this.wStamp, need);
  }
}

/** Consecutive windows as one: bytes and durations added, the highest peaks kept. */
export function mergeWindows(ws: readonly WindowStats[]): WindowStats | null {
  if (ws.length === 0) return null;
  const groups = new Map<number, GroupStats>();
  const lost = { events: 0, rxBytes: 0, txBytes: 0 };
  let busiest: BusiestFrame | null = null;
  for (const w of ws) {
    for (const g of w.groups) {
      const s = groups.get(g.group);
      if (!s) {
        groups.set(g.group, { ...g });
        continue;
      }
      s.rx += g.rx;
      s.tx += g.tx;
      s.members = Math.max(s.members, g.members);
      if (g.peakRate > s.peakRate) {
        s.peakRate = g.peakRate;
        s.peakWallUs = g.peakWallUs;
      }
    }
    lost.events += w.lost.events;
    lost.rxBytes += w.lost.rxBytes;
    lost.txBytes += w.lost.txBytes;
    if (w.busiest && (!busiest || w.busiest.rate > busiest.rate)) busiest = w.busiest;
  }
  const sum = (f: (w: WindowStats) => number): number => ws.reduce((n, w) => n + f(w), 0);
  return {
    startUs: ws[0].startUs, endUs: ws[ws.length - 1].endUs, frames: sum((w) => w.frames), durationUs: sum((w) => w.durationUs),
    rx: sum((w) => w.rx), tx: sum((w) => w.tx), lost, busiest, groups: [...groups.values()],
  };
}

/** The bytes of a metric. */
export function metricOf(m: Metric, rx: number, tx: number): number {
  return m === 'rx' ? rx : m === 'tx' ? tx : rx + tx;
}
