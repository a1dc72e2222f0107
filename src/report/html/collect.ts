// Reads what the HTML report shows from a capture: the report's rows and summary (the same passes as the table
// and JSON, so the numbers are equal), then one more pass for the chart's steps, each group's flows, the load
// average and the busiest intervals.
import { grown } from '../../capture/grow';
import type { CaptureReader } from '../../capture/reader';
import { UsageError } from '../../errors';
import type { SeqRange } from '../../time/range';
import { civil, dateTimeOf, zoneLabel, type DisplayZone } from '../../time/zone';
import { grouped, humanDuration, lostText } from '../../view/units';
import { compareKeys, FlowGroups, type GroupKey, type KeyValue } from '../group';
import { foldMap, framesPerWindow, SummaryBuilder, type ReportRow, type SortKey } from '../rows';
import type { WindowStats } from '../aggregate';
import { reportWindows, windows, type FrameHook, type RowsRider } from '../scan';
import { CaptureTimeline } from '../timeline';
import {
  DEFAULT_SERIES, MAX_FLOWS, MAX_FLOWS_PER_GROUP, MAX_POINTS, MAX_ROWS, MAX_SERIES, MAX_WINDOWS,
  type FlowEntry, type PageData, type PageGroup, type PageInterval, type PageRow, type PageSeries,
} from './data';

export interface HtmlOptions {
  by: readonly GroupKey[];
  window?: number;
  top?: number;
  sort?: SortKey;
}

/** The busiest intervals listed. */
const BUSIEST = 10;

const ms = (us: number): number => Math.floor(us / 1000);
const rate3 = (v: number): number => Math.round(v * 1000) / 1000;

export function collectPage(reader: CaptureReader, file: string, range: SeqRange, zone: DisplayZone, opts: HtmlOptions): PageData {
  const groups = new FlowGroups(opts.by);
  const meta = reader.meta;
  const timeline = new CaptureTimeline(reader, range);
  const frames = timeline.frameCount();
  // The chart's steps: the report's windows, or without --window frames summed into MAX_POINTS steps at most.
  const perStep = opts.window !== undefined ? framesPerWindow(opts.window, meta.intervalUs) : Math.max(1, Math.ceil(frames / MAX_POINTS));
  if (Math.ceil(frames / perStep) > MAX_WINDOWS) {
    throw new UsageError(`--format html: more than ${grouped(MAX_WINDOWS)} windows for one chart: use a longer --window or a shorter --from/--to`);
  }
  const seriesCount = Math.min(opts.top ?? DEFAULT_SERIES, MAX_SERIES);

  // Per flow id over the range: bytes and group. Per frame: load, and the busiest frames.
  let flowRx = new Float64Array(1024);
  let flowTx = new Float64Array(1024);
  let flowGroup = new Int32Array(1024).fill(-1);
  const flowIds: number[] = [];
  const load: number[] = [];
  const busiest: PageInterval[] = [];
  const onFrame: FrameHook = (frame, cols, of, n) => {
    let rx = 0;
    let tx = 0;
    for (let i = 0; i < n; i++) {
      const id = cols.flow[i];
      if (id >= flowGroup.length) {
        const size = Math.max(id + 1, flowGroup.length * 2);
        flowRx = grown(flowRx, size);
        flowTx = grown(flowTx, size);
        const g = new Int32Array(size).fill(-1);
        g.set(flowGroup);
        flowGroup = g;
      }
      if (flowGroup[id] < 0) flowIds.push(id);
      flowGroup[id] = of[i];
      flowRx[id] += cols.rx[i];
      flowTx[id] += cols.tx[i];
      rx += cols.rx[i];
      tx += cols.tx[i];
    }
    load.push(frame.loadavg.load1);
    const rate = ((rx + tx) * 1e6) / frame.intervalUs;
    if (rx + tx > 0 && (busiest.length < BUSIEST || rate > busiest[busiest.length - 1][4])) {
      let at = busiest.length;
      while (at > 0 && busiest[at - 1][4] < rate) at--;
      busiest.splice(at, 0, [ms(frame.wallUs - frame.intervalUs), ms(frame.wallUs), rx, tx, rate3(rate)]);
      if (busiest.length > BUSIEST) busiest.pop();
    }
  };

  // The chart's steps, each with its groups' bytes; any group not drawn counts in `other`. One pass over the
  // frames makes the rows and reads what the page adds (flows, load, busiest frames); the steps come from it too:
  // with --window they are the rows' own windows; with --top, whose first pass ranks the groups, a second
  // aggregation on the rows' pass sums them. Only the whole range without --top needs a pass of their own, as
  // which groups the chart draws is known only after the rows'.
  const steps: WindowStats[] = [];
  // Set by the rider (TypeScript does not follow assignments in callbacks, hence the casts).
  let chartDrawn = null as readonly number[] | null;
  let rode = false as boolean;
  const rider: RowsRider = {
    pass: (keep) => {
      rode = true;
      if (opts.window !== undefined || keep === null) return { onFrame };
      // Every group is known by now (the ranking pass met them all): `other` is the number after them.
      chartDrawn = keep.slice(0, seriesCount);
      const fold = foldMap(groups.size, chartDrawn, groups.size);
      return { onFrame, also: { opts: { framesPerWindow: perStep, fold }, onWindow: (w) => steps.push(w) } };
    },
    window: (w) => {
      if (opts.window !== undefined) steps.push(w);
    },
  };
  const summary = new SummaryBuilder();
  const rows: ReportRow[] = [];
  for (const w of reportWindows(timeline, groups, summary, opts, rider)) {
    for (const r of w) rows.push(r);
    if (rows.length > MAX_ROWS) {
      throw new UsageError(`--format html: more than ${grouped(MAX_ROWS)} rows (groups × windows) for one page: use --top, a longer --window or a shorter --from/--to`);
    }
  }
  const s = summary.result(opts.window !== undefined)!;

  // The rows' keys are the groups' own key arrays: their group numbers by identity.
  const numberOf = new Map<readonly KeyValue[], number>(groups.keys.map((k, g) => [k, g]));
  const totals = new Map<number, number>();
  for (const r of rows) {
    if (!r.key) continue;
    const g = numberOf.get(r.key)!;
    totals.set(g, (totals.get(g) ?? 0) + r.rx + r.tx);
  }
  // Biggest first, ties by key: the order `report --top` keeps groups in, so the chart draws the report's top.
  const ranked = [...totals.keys()].sort((a, b) => totals.get(b)! - totals.get(a)! || compareKeys(groups.keys[a], groups.keys[b]));
  const drawn = ranked.slice(0, seriesCount);
  if (chartDrawn && (chartDrawn.length !== drawn.length || chartDrawn.some((g, i) => g !== drawn[i]))) {
    throw new Error('report --format html: the chart was summed for other groups than the rows rank first');
  }
  const index = new Map<number, number>(ranked.map((g, i) => [g, i]));
  if (opts.window === undefined && chartDrawn === null) {
    const chartPass = windows(reader, range, groups, { framesPerWindow: perStep, fold: foldMap(groups.size, drawn, groups.size) }, rode ? {} : { onFrame });
    for (const w of chartPass) steps.push(w);
  }

  const seriesOf = new Map<number, PageSeries>(drawn.map((g) => [g, { group: index.get(g)!, members: 0, rx: [], tx: [] }]));
  let otherSeries: PageSeries | null = null;
  const end: number[] = [];
  const durationUs: number[] = [];
  const stepLoad: number[] = [];
  let first = 0;
  for (const w of steps) {
    const step = end.length;
    end.push(ms(w.endUs));
    durationUs.push(w.durationUs);
    let sum = 0;
    for (let i = first; i < first + w.frames; i++) sum += load[i];
    first += w.frames;
    stepLoad.push(Math.round((sum / w.frames) * 100) / 100);
    for (const g of w.groups) {
      let series = seriesOf.get(g.group);
      if (!series) {
        otherSeries ??= { group: -1, members: 0, rx: new Array<number>(step).fill(0), tx: new Array<number>(step).fill(0) };
        series = otherSeries;
      }
      series.rx[step] = (series.rx[step] ?? 0) + g.rx;
      series.tx[step] = (series.tx[step] ?? 0) + g.tx;
    }
    for (const series of [...seriesOf.values(), ...(otherSeries ? [otherSeries] : [])]) {
      series.rx[step] ??= 0;
      series.tx[step] ??= 0;
    }
  }
  // `other` over the whole range sums every group not drawn.
  if (otherSeries) otherSeries.members = groups.size - drawn.length;

  const perGroup = Math.max(1, Math.min(MAX_FLOWS_PER_GROUP, Math.floor(MAX_FLOWS / Math.max(1, ranked.length))));
  const flowsOf = new Map<number, number[]>();
  for (const id of flowIds) {
    const g = flowGroup[id];
    if (!index.has(g)) continue;
    let list = flowsOf.get(g);
    if (!list) flowsOf.set(g, (list = []));
    list.push(id);
  }
  const strings: string[] = [];
  const stringIndex = new Map<string, number>();
  const str = (text: string): number => {
    let i = stringIndex.get(text);
    if (i === undefined) stringIndex.set(text, (i = strings.push(text) - 1));
    return i;
  };
  const pageGroups: PageGroup[] = ranked.map((g) => {
    const ids = (flowsOf.get(g) ?? []).sort((a, b) => flowRx[b] + flowTx[b] - (flowRx[a] + flowTx[a]) || a - b);
    const shown = ids.slice(0, perGroup);
    const rest = ids.slice(perGroup);
    return {
      key: groups.keys[g],
      flows: shown.map((id): FlowEntry => {
        const f = reader.flow(id);
        return [f.pid, str(f.comm), str(f.laddr), f.lport, str(f.raddr), f.rport, flowRx[id], flowTx[id]];
      }),
      more: [rest.length, rest.reduce((n, id) => n + flowRx[id], 0), rest.reduce((n, id) => n + flowTx[id], 0)],
    };
  });

  const interval = (f: { startUs: number; endUs: number; rx: number; tx: number; rate: number } | null): PageInterval | null =>
    f && [ms(f.startUs), ms(f.endUs), f.rx, f.tx, rate3(f.rate)];
  const a = civil(zone, s.startUs / 1000);
  const b = civil(zone, s.endUs / 1000);
  return {
    version: 1,
    header: {
      file,
      hostname: meta.hostname,
      kernel: meta.kernelRelease,
      probe: meta.probe,
      toolVersion: meta.toolVersion,
      span: `${dateTimeOf(zone, s.startUs)} to ${dateTimeOf(zone, s.endUs)} (${humanDuration(s.durationUs)})`,
      zone: zoneLabel(zone, s.startUs / 1000),
      startMs: ms(s.startUs),
      endMs: ms(s.endUs),
      durationUs: s.durationUs,
      intervalUs: meta.intervalUs,
      frames: s.frames,
      flows: groups.flows,
      hosts: groups.hosts,
      groups: groups.size,
      rx: s.rx,
      tx: s.tx,
      lost: { events: s.lost.events, rx: s.lost.rxBytes, tx: s.lost.txBytes },
      lostText: s.lost.events > 0 ? lostText(s.lost, meta.probe) : null,
      endedCleanly: reader.endedCleanly(),
      completeFromMs: meta.completeFromWallUs === null ? null : ms(meta.completeFromWallUs),
      by: [...opts.by],
      windowSeconds: opts.window === undefined ? null : opts.window / 1e6,
      top: opts.top ?? null,
      sort: opts.sort ?? 'total',
      busiestFrame: interval(s.busiestFrame),
      busiestWindow: interval(s.busiestWindow),
    },
    zone: { timeZone: zone.timeZone, offsetMinutes: zone.offsetMinutes },
    sameDay: a.year === b.year && a.month === b.month && a.day === b.day,
    columns: groups.columns.map((c) => ({ name: c.name, numeric: c.numeric })),
    strings,
    groups: pageGroups,
    rows: rows.map((r): PageRow => [ms(r.startUs), ms(r.endUs), r.key ? index.get(numberOf.get(r.key)!)! : -1, r.otherGroups, r.rx, r.tx,
      rate3(r.avgRate), rate3(r.peakRate), ms(r.peakWallUs)]),
    chart: { end, durationUs, framesPerStep: perStep, load: stepLoad, series: [...seriesOf.values(), ...(otherSeries ? [otherSeries] : [])] },
    busiest,
  };
}

