// From summed windows to the rows a report prints: the top groups, the rest in one `other` row, sorted.
import { UsageError } from '../errors';
import { metricOf, type BusiestFrame, type GroupStats, type Metric, type WindowStats } from './aggregate';
import { compareKeys, type KeyValue } from './group';

export type SortKey = 'rx' | 'tx' | 'total' | 'peak';
export const SORT_KEYS: readonly SortKey[] = ['rx', 'tx', 'total', 'peak'];
export const METRICS: readonly Metric[] = ['rx', 'tx', 'total'];

export interface ReportRow {
  /** The window: start of its first frame's interval, end of its last (wall clock, µs). */
  startUs: number;
  endUs: number;
  /** The group's key values; null for the `other` row. */
  key: KeyValue[] | null;
  /** Groups summed into the `other` row; 0 for a group's own row. */
  otherGroups: number;
  rx: number;
  tx: number;
  /** Received + sent bytes over the window's summed frame intervals, per second. */
  avgRate: number;
  /** The highest received + sent rate of one frame in the window, per second, and when that frame ended. */
  peakRate: number;
  peakWallUs: number;
}

/**
 * How many frames make a window of `windowUs`: frames cannot be split, so the window must be a whole number of
 * recorded intervals.
 */
export function framesPerWindow(windowUs: number, intervalUs: number): number {
  const n = Math.round(windowUs / intervalUs);
  if (n < 1 || Math.abs(n * intervalUs - windowUs) > 1) {
    const s = (us: number): string => `${us / 1e6}s`;
    throw new UsageError(`--window: ${s(windowUs)} is not a whole number of frames (the capture's interval is ${s(intervalUs)}): use ${s(intervalUs)}, ${s(2 * intervalUs)}, ${s(3 * intervalUs)} ...`);
  }
  return n;
}

/** The first `n` groups by bytes of the metric, ties broken by key: the groups a report keeps or a chart draws. */
export function topGroups(stats: readonly GroupStats[], keys: readonly KeyValue[][], n: number, metric: Metric): number[] {
  return [...stats]
    .sort((a, b) => metricOf(metric, b.rx, b.tx) - metricOf(metric, a.rx, a.tx) || compareKeys(keys[a.group], keys[b.group]))
    .slice(0, n)
    .map((s) => s.group);
}

/** A fold map for the aggregator: the kept groups count as themselves, every other group as `rest` (-1: dropped). */
export function foldMap(groupCount: number, keep: readonly number[], rest: number): Int32Array {
  const fold = new Int32Array(groupCount).fill(rest);
  for (const g of keep) fold[g] = g;
  return fold;
}

const sortValue = (r: ReportRow, by: SortKey): number =>
  by === 'rx' ? r.rx : by === 'tx' ? r.tx : by === 'total' ? r.rx + r.tx : r.peakRate;

/** One window's rows, biggest first by the sort key (ties by key), the `other` row last. */
export function windowRows(w: WindowStats, keys: readonly KeyValue[][], otherGroup: number | null, sort: SortKey): ReportRow[] {
  const perSecond = w.durationUs > 0 ? 1e6 / w.durationUs : 0;
  const rows = w.groups.map((g): ReportRow => {
    const other = g.group === otherGroup;
    return {
      startUs: w.startUs,
      endUs: w.endUs,
      key: other ? null : keys[g.group],
      otherGroups: other ? g.members : 0,
      rx: g.rx,
      tx: g.tx,
      avgRate: (g.rx + g.tx) * perSecond,
      peakRate: g.peakRate,
      peakWallUs: g.peakWallUs,
    };
  });
  return rows.sort((a, b) => {
    if (!a.key || !b.key) return a.key ? -1 : b.key ? 1 : 0;
    return sortValue(b, sort) - sortValue(a, sort) || compareKeys(a.key, b.key);
  });
}

export interface Summary {
  startUs: number;
  endUs: number;
  durationUs: number;
  frames: number;
  rx: number;
  tx: number;
  lost: { events: number; rxBytes: number; txBytes: number };
  busiestFrame: BusiestFrame | null;
  /** The window with the highest average rate, when there are windows. */
  busiestWindow: (BusiestFrame & { frames: number }) | null;
}

/** Adds up the windows of a report for its summary, one window at a time. */
export class SummaryBuilder {
  private s: Summary | null = null;

  add(w: WindowStats): void {
    if (!this.s) {
      this.s = { startUs: w.startUs, endUs: w.endUs, durationUs: 0, frames: 0, rx: 0, tx: 0,
        lost: { events: 0, rxBytes: 0, txBytes: 0 }, busiestFrame: null, busiestWindow: null };
    }
    const s = this.s;
    s.endUs = w.endUs;
    s.durationUs += w.durationUs;
    s.frames += w.frames;
    s.rx += w.rx;
    s.tx += w.tx;
    s.lost.events += w.lost.events;
    s.lost.rxBytes += w.lost.rxBytes;
    s.lost.txBytes += w.lost.txBytes;
    if (w.busiest && (!s.busiestFrame || w.busiest.rate > s.busiestFrame.rate)) s.busiestFrame = w.busiest;
    const rate = ((w.rx + w.tx) * 1e6) / w.durationUs;
    if (w.rx + w.tx > 0 && (!s.busiestWindow || rate > s.busiestWindow.rate)) {
      s.busiestWindow = { startUs: w.startUs, endUs: w.endUs, rx: w.rx, tx: w.tx, rate, frames: w.frames };
    }
  }

  /** The summary; `windowed` false drops the busiest window (the one window is the whole range). */
  result(windowed: boolean): Summary | null {
    if (!this.s) return null;
    return { ...this.s, busiestWindow: windowed ? this.s.busiestWindow : null };
  }
}
