// Passes over a capture's range for a report: frames read in order, samples mapped to groups, summed per window.
import { CaptureReader, SampleColumns } from '../capture/reader';
import type { Flow } from '../capture/types';
import type { SeqRange } from '../time/range';
import { WindowAggregator, type AggregateOptions, type Metric, type WindowStats } from './aggregate';
import type { Frame } from '../capture/types';
import type { FlowGroups } from './group';
import { foldMap, framesPerWindow, SummaryBuilder, topGroups, windowRows, type ReportRow, type SortKey } from './rows';

/** A look at each frame of a pass: its samples' flows and bytes in `cols`, their groups in `groups`, `count` of them. */
export type FrameHook = (frame: Frame, cols: SampleColumns, groups: Int32Array, count: number) => void;

/**
 * What else a pass over the frames does while it reads them for its windows, so that nothing needs a pass of its
 * own: `onFrame` sees each frame with its samples (flow ids, bytes, groups) before the aggregators do, and `also`
 * sums the same samples a second way (other windows, other folding), its windows handed to `onWindow`.
 */
export interface Rider {
  onFrame?: FrameHook;
  also?: { opts: AggregateOptions; onWindow: (w: WindowStats) => void };
}

/**
 * The range's frames and their samples, mapped to groups, through an aggregator: its windows as they complete.
 * Each frame's samples are read and mapped once, whatever rides along.
 */
export function* windows(reader: CaptureReader, range: SeqRange, groups: FlowGroups, opts: AggregateOptions, rider: Rider = {},
  lookup: (id: number) => Flow = (id) => reader.flow(id)): Generator<WindowStats> {
  const done: WindowStats[] = [];
  const agg = new WindowAggregator(opts, (w) => done.push(w));
  const also = rider.also ? new WindowAggregator(rider.also.opts, rider.also.onWindow) : null;
  const onFrame = rider.onFrame;
  const cols = new SampleColumns();
  let of = new Int32Array(cols.flow.length);
  for (const frame of reader.frames(range.fromSeq, range.toSeq)) {
    const n = reader.readFrameSamples(frame.seq, cols);
    if (of.length < n) of = new Int32Array(cols.flow.length);
    for (let i = 0; i < n; i++) of[i] = groups.groupOf(cols.flow[i], lookup);
    onFrame?.(frame, cols, of, n);
    agg.addFrame(frame, of, cols.rx, cols.tx, n);
    also?.addFrame(frame, of, cols.rx, cols.tx, n);
    yield* done.splice(0);
  }
  agg.finish();
  also?.finish();
  yield* done.splice(0);
}

/** What the report's passes read: one capture's range, or several captures on one timeline (timeline.ts). */
export interface WindowSource {
  readonly intervalUs: number;
  windows(groups: FlowGroups, opts: AggregateOptions): Generator<WindowStats>;
}

/**
 * What rides on the pass that makes a report's rows (see Rider), given the groups that pass keeps apart from
 * `other` (null: all of them); and a look at each window the rows are made of.
 */
export interface RowsRider {
  pass(keep: readonly number[] | null): Rider;
  window?(w: WindowStats): void;
}

/** A source whose passes can carry a rider: one capture's range. */
export interface RidableSource extends WindowSource {
  windows(groups: FlowGroups, opts: AggregateOptions, rider?: Rider): Generator<WindowStats>;
}

/** The whole range as one window: every group's totals and peak, for ranking. */
export function whole(source: WindowSource, groups: FlowGroups, peakOf: Metric): WindowStats {
  const [all] = source.windows(groups, { framesPerWindow: Infinity, peakOf });
  return all;
}

/**
 * The report's rows, a window at a time, each window added to the summary as it goes. A rider (only with a
 * source that carries one) goes along on the pass that makes the rows; when the rows come from the ranking pass
 * (--top keeps every group, one window), it is not called.
 */
export function reportWindows(source: WindowSource, groups: FlowGroups, summary: SummaryBuilder, opts: { window?: number; top?: number; sort?: SortKey }): Generator<ReportRow[]>;
export function reportWindows(source: RidableSource, groups: FlowGroups, summary: SummaryBuilder, opts: { window?: number; top?: number; sort?: SortKey }, rider: RowsRider): Generator<ReportRow[]>;
export function* reportWindows(source: RidableSource, groups: FlowGroups, summary: SummaryBuilder, opts: { window?: number; top?: number; sort?: SortKey }, rider?: RowsRider): Generator<ReportRow[]> {
  const sort = opts.sort ?? 'total';
  const perWindow = opts.window === undefined ? Infinity : framesPerWindow(opts.window, source.intervalUs);
  const rowsOf = (w: WindowStats, other: number | null): ReportRow[] => {
    summary.add(w);
    rider?.window?.(w);
    return windowRows(w, groups.keys, other, sort);
  };
  if (opts.top === undefined) {
    for (const w of source.windows(groups, { framesPerWindow: perWindow }, rider?.pass(null))) yield rowsOf(w, null);
    return;
  }
  // The top groups are known only after a first pass; the second folds the rest into `other`, whose peak
  // needs the rest's bytes frame by frame.
  const all = whole(source, groups, 'total');
  const keep = topGroups(all.groups, groups.keys, opts.top, 'total');
  if (perWindow === Infinity && keep.length === all.groups.length) {
    yield rowsOf(all, null);
    return;
  }
  const other = groups.size;
  for (const w of source.windows(groups, { framesPerWindow: perWindow, fold: foldMap(groups.size, keep, other) }, rider?.pass(keep))) yield rowsOf(w, other);
}
