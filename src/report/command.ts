// `tcptop report FILE...`: bytes and rates per host, process, port ... over one capture or several, as a table,
// CSV, JSON, a chart or one self-contained HTML page.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CaptureReader } from '../capture/reader';
import { write } from '../cli/output';
import { parseChoice, parseCount, parseDuration, parseNumberIn } from '../cli/parse';
import { RANGE_OPTIONS, type CommandSpec } from '../cli/spec';
import { CaptureError, describeErrno, UsageError } from '../errors';
import { resolveRange } from '../time/range';
import type { TimeSpec } from '../time/spec';
import { displayZone, type DisplayZone } from '../time/zone';
import { mergeWindows, metricOf, type Metric } from './aggregate';
import { columnPlan, MAX_HEIGHT, MAX_SERIES, plotColumns, renderChart, type ChartSeries } from './chart';
import { csvHeader, csvRows, FORMATS, reportJson, reportTable, type Format, type ReportData } from './format';
import { FlowGroups, GROUP_KEYS, type GroupKey } from './group';
import { pageAssets } from './html/assets';
import { collectPage } from './html/collect';
import { htmlPage } from './html/page';
import { METRICS, SORT_KEYS, SummaryBuilder, topGroups, type SortKey } from './rows';
import { reportWindows } from './scan';
import { CaptureTimeline, MergedTimeline, type Timeline } from './timeline';

export interface ReportOptions {
  by?: GroupKey[];
  window?: number;
  from?: TimeSpec;
  to?: TimeSpec;
  utc?: boolean;
  top?: number;
  sort?: SortKey;
  format?: Format;
  json?: boolean;
  chart?: boolean;
  metric?: Metric;
  height?: number;
  width?: number;
  color?: boolean;
  output?: string;
}

const CHART_ONLY = { metric: '--metric', height: '--height', width: '--width', color: '--color' } as const;

export const reportCommand: CommandSpec<ReportOptions> = {
  name: 'report',
  summary: 'bytes and rates per host, process or port over a capture: totals, windows, top N, CSV/JSON, charts',
  args: [{ name: 'file...', description: 'capture file written by tcptop record; several (of one host or many) are read on one timeline' }],
  options: [
    { flags: '--by <key>', description: `group by ${GROUP_KEYS.join('|')}; repeat to combine (default: host)`, parse: parseChoice('--by', GROUP_KEYS), repeatable: true },
    { flags: '--window <duration>', description: 'one row per group per window of this length (10s, 1m, 1h), a whole number of frames', parse: parseDuration('--window') },
    RANGE_OPTIONS.from,
    RANGE_OPTIONS.to,
    RANGE_OPTIONS.utc,
    { flags: '--top <n>', description: 'the n groups with the most bytes, the rest summed in one other row (chart: default 5, at most 10)', parse: parseCount('--top') },
    { flags: '--sort <key>', description: `order rows by ${SORT_KEYS.join('|')} (default: total)`, parse: parseChoice('--sort', SORT_KEYS) },
    { flags: '--format <format>', description: `${FORMATS.join('|')} (default: table)`, parse: parseChoice('--format', FORMATS), conflicts: ['json'] },
    { flags: '--json', description: 'short for --format json' },
    { flags: '-o, --output <file>', description: 'with --format html: the page to write (HTML is never written to a terminal)', conflicts: ['chart'] },
    { flags: '--chart', description: 'draw throughput over time, one line per group', conflicts: ['window', 'format', 'json', 'sort'] },
    { flags: '--metric <metric>', description: `chart ${METRICS.join('|')} bytes (default: total)`, parse: parseChoice('--metric', METRICS) },
    { flags: '--height <rows>', description: 'chart height in rows (default: 15)', parse: (t) => parseNumberIn('--height', t, 2, MAX_HEIGHT, { integer: true }) },
    { flags: '--width <columns>', description: 'chart width (default: the terminal width, 80 when not a terminal)', parse: (t) => parseNumberIn('--width', t, 30, 1000, { integer: true }) },
    { flags: '--color', description: 'colour the chart even when not writing to a terminal' },
  ],
  examples: [
    'tcptop report incident.db                          # bytes per remote host over the capture',
    'tcptop report --by comm --by host --top 10 incident.db',
    'tcptop report --by port --window 1m --from 14:00 --to 14:30 incident.db',
    'tcptop report --by host --window 10s --format csv incident.db > hosts.csv',
    'tcptop report --chart --by comm --metric tx incident.db',
    'tcptop report --format html -o incident.html --by comm --top 8 incident.db   # one file to attach to a bug report',
    'tcptop report --by rechost --from 14:00 --to 14:05 web-*.db   # which recording host talked most',
  ],
  async run(args, opts) {
    const files = args[0] as string[];
    if (!opts.chart) {
      const given = (Object.keys(CHART_ONLY) as (keyof typeof CHART_ONLY)[]).find((k) => opts[k] !== undefined);
      if (given) throw new UsageError(`${CHART_ONLY[given]}: only with --chart`);
    } else if (opts.top !== undefined && opts.top > MAX_SERIES) {
      throw new UsageError(`--top: invalid value '${opts.top}' with --chart (expected a whole number from 1 to ${MAX_SERIES}, one colour each)`);
    }
    const format = opts.json ? 'json' : opts.format ?? 'table';
    if (opts.output !== undefined && format !== 'html') throw new UsageError('-o/--output: only with --format html (the other formats write to stdout)');
    if (format === 'html' && opts.output === undefined && process.stdout.isTTY) {
      throw new UsageError('--format html: not writing HTML to a terminal: give -o FILE, or redirect stdout to a file');
    }
    if (format === 'html' && files.length > 1) throw new UsageError('--format html: one capture at a time (report several as a table, CSV or JSON)');
    const by = [...new Set(opts.by ?? ['host'])] as GroupKey[];
    if (files.length > 1) {
      const merged = MergedTimeline.open(files, opts.utc ?? false, opts.from, opts.to);
      try {
        await output(merged, merged.zone, { file: files.join(', '), hostname: merged.hostnames.join(', '), probe: merged.probes.join(', ') }, by, opts);
      } finally {
        merged.close();
      }
      return;
    }
    const file = files[0];
    const reader = CaptureReader.open(file);
    try {
      const span = reader.span();
      if (!span) throw new CaptureError(file, 'the capture has no frames yet (nothing to report)');
      const zone = displayZone(reader.meta, opts.utc ?? false);
      const range = resolveRange(reader, span, zone, opts.from, opts.to);
      if (format === 'html') {
        const page = htmlPage(collectPage(reader, file, range, zone, { by, window: opts.window, top: opts.top, sort: opts.sort }), pageAssets());
        if (opts.output === undefined) await write(page);
        else writeFileWhole(opts.output, page);
        return;
      }
      await output(new CaptureTimeline(reader, range), zone, { file, hostname: reader.meta.hostname, probe: reader.meta.probe }, by, opts);
    } finally {
      reader.close();
    }
  },
};

/** The report of a timeline, written to stdout in the format asked for. */
async function output(timeline: Timeline, zone: DisplayZone, source: { file: string; hostname: string; probe: string }, by: GroupKey[], opts: ReportOptions): Promise<void> {
  if (opts.chart) {
    await write(chart(timeline, by, zone, opts));
    return;
  }
  const format = opts.json ? 'json' : opts.format ?? 'table';
  const groups = new FlowGroups(by);
  const summary = new SummaryBuilder();
  const perWindow = reportWindows(timeline, groups, summary, opts);
  if (format === 'csv') {
    // Written a window at a time: a long capture in short windows is many rows, and memory stays flat.
    await write(csvHeader(groups.columns));
    for (const rows of perWindow) await write(csvRows(groups.columns, rows));
    return;
  }
  const rows = [...perWindow].flat();
  const data: ReportData = {
    file: source.file,
    hostname: source.hostname,
    probe: source.probe,
    by,
    columns: groups.columns,
    windowUs: opts.window ?? null,
    top: opts.top ?? null,
    sort: opts.sort ?? 'total',
    flows: groups.flows,
    hosts: groups.hosts,
    groups: groups.size,
    summary: summary.result(opts.window !== undefined)!,
    rows,
  };
  await write(format === 'json' ? `${JSON.stringify(reportJson(data), null, 2)}\n` : reportTable(data, zone));
}

function chart(timeline: Timeline, by: GroupKey[], zone: DisplayZone, opts: ReportOptions): string {
  const metric = opts.metric ?? 'total';
  const groups = new FlowGroups(by);
  const width = opts.width ?? (process.stdout.isTTY && process.stdout.columns ? process.stdout.columns : 80);
  // Frames are few next to samples: counting them first fixes the columns, so one pass over the samples sums
  // every group per column, and the top groups are picked from the columns' sums.
  const frames = timeline.frameCount();
  const plan = columnPlan(frames, plotColumns(width));
  const columns = [...timeline.windows(groups, { framesPerWindow: plan.framesPerColumn, peakOf: metric })];
  const all = mergeWindows(columns)!;
  const moved = all.groups.filter((g) => metricOf(metric, g.rx, g.tx) > 0);
  const keep = topGroups(moved, groups.keys, opts.top ?? 5, metric);
  const series = keep.map((g): ChartSeries => {
    const stats = all.groups.find((s) => s.group === g)!;
    const total = metricOf(metric, stats.rx, stats.tx);
    return {
      name: groups.keys[g].join(' '),
      values: columns.map((col) => {
        const s = col.groups.find((x) => x.group === g);
        return s ? (metricOf(metric, s.rx, s.tx) * 1e6) / col.durationUs : 0;
      }),
      totalBytes: total,
      avgRate: (total * 1e6) / all.durationUs,
      peakRate: stats.peakRate,
      peakWallUs: stats.peakWallUs,
    };
  });
  return renderChart({
    metric,
    by: by.join(' and '),
    groups: moved.length,
    startUs: all.startUs,
    endUs: all.endUs,
    zone,
    ...plan,
    intervalUs: timeline.intervalUs,
    series,
    width,
    height: opts.height ?? 15,
    color: opts.color ?? (process.stdout.isTTY === true && !process.env.NO_COLOR),
  });
}

/** Writes a file in one piece: into a temporary file beside it, then renamed over it, so no half page is left. */
function writeFileWhole(file: string, text: string): void {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  try {
    fs.writeFileSync(tmp, text, { flag: 'wx' });
    fs.renameSync(tmp, file);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw new CaptureError(file, `cannot write: ${describeErrno(err)}`, 1);
  }
}
