// The interactive view's screen as lines of text: a pure function of the state and the data it shows.
// Every line fits the width; there are exactly `height` of them. Text from the capture goes through printable().
import type { Frame } from '../../capture/types';
import { columnPlan, plotColumns, renderChart, type ChartSeries } from '../../report/chart';
import { clockOf, rangeClock, zoneLabel, type DisplayZone } from '../../time/zone';
import { formatSeconds, UNIT_WIDTH, unitOf, type SortKey } from '../classic';
import { printable } from '../printable';
import type { RowFlow, Rows } from './rows';
import { binCount, type ViewState } from './state';

export interface ScreenData {
  host: string;
  zone: DisplayZone;
  /** The interval shown: its first and last frame; null before the first frame. */
  bin: { first: Frame; last: Frame; intervalUs: number } | null;
  rows: Rows;
  /** Per frame of the timeline: end time, length and total bytes. */
  wallUs: ArrayLike<number>;
  intervalUs: ArrayLike<number>;
  totals: ArrayLike<number>;
  /** The recorded interval, µs. */
  recordedUs: number;
  /** Bytes per frame of the charted row, when the chart is shown. */
  chart: { rx: ArrayLike<number>; tx: ArrayLike<number> } | null;
  color: boolean;
  /** --names: a remote host by the name the capture has for it, else its address. */
  names?: boolean;
  /** --wide: a UNIT column after COMM, the systemd unit of the flow's cgroup. */
  wide?: boolean;
}

export interface Size {
  width: number;
  height: number;
}

/** Lines above the rows: host, interval, settings, overview, its marker. */
export const HEADER_LINES = 5;

const SGR = {
  inverse: '\x1b[7m',
  bold: '\x1b[1m',
  green: '\x1b[32m',
  yellow: '\x1b[33m',
  cyan: '\x1b[36m',
  reset: '\x1b[0m',
};

const SORT_NAME: Record<SortKey, string> = { all: 'total', received: 'received', sent: 'sent' };
const BARS = '▁▂▃▄▅▆▇█';

/** `text` cut to `width` columns. */
function fit(text: string, width: number): string {
  return text.length > width ? text.slice(0, width) : text;
}

export function modeText(s: ViewState): string {
  if (s.live) return s.follow ? 'live' : 'live: paused';
  return s.playing ? 'replay: playing' : 'replay: paused';
}

export function render(s: ViewState, d: ScreenData, size: Size): string[] {
  const { width, height } = size;
  const paint = (text: string, code: string): string => (d.color ? `${code}${text}${SGR.reset}` : text);
  const lines: string[] = [];
  const at = d.bin ? d.bin.last.wallUs : d.wallUs.length ? d.wallUs[d.wallUs.length - 1] : 0;

  // 1: where and when it was recorded, and the load then.
  const loadavg = d.bin ? `  loadavg: ${printable(d.bin.last.loadavg.raw)}` : '';
  lines.push(fit(`${printable(d.host)}  ${zoneLabel(d.zone, at / 1000)}${loadavg}`, width));

  // 2: the mode, the interval and its place.
  const mode = modeText(s);
  let where = 'waiting for the first interval';
  if (d.bin) {
    const start = d.bin.first.wallUs - d.bin.first.intervalUs;
    where = `${clockOf(d.zone, start)} to ${clockOf(d.zone, d.bin.last.wallUs)} (${formatSeconds((s.factor * d.recordedUs) / 1e6)} s)` +
      `  frame ${s.pos + 1} of ${binCount(s)}`;
  }
  const modeLen = mode.length;
  lines.push(paint(mode, s.live && s.follow ? SGR.green : s.playing ? SGR.green : SGR.yellow) + fit(`  ${where}`, Math.max(0, width - modeLen)));

  // 3: what the rows are.
  let settings = `sort: ${SORT_NAME[s.sort]}  rows: ${s.grouping === 'flows' ? 'flows' : `by ${s.grouping}`}`;
  if (s.filter) settings += `  filter: ${printable(s.filter)}`;
  if (s.family) settings += `  IPv${s.family} only`;
  if (s.factor > 1) settings += `  ${s.factor} frames per interval`;
  lines.push(fit(settings, width));

  // 4, 5: the whole capture at a glance, and where the view is in it.
  const spark = sparkline(d.totals, width);
  const marks = markedColumns(d.totals.length, width, s.pos * s.factor, Math.min(d.totals.length, (s.pos + 1) * s.factor) - 1);
  lines.push(d.color && marks.length ? paintColumns(spark, marks, SGR.cyan) : spark);
  lines.push(axis(d, width, marks));

  const bodyHeight = Math.max(0, height - HEADER_LINES - 1);
  let body: string[];
  if (s.screen === 'help') body = helpLines(s.live).map((l) => fit(l, width));
  else if (s.screen === 'chart') body = chartLines(s, d, width, bodyHeight);
  else body = rowLines(s, d, width, bodyHeight);
  for (let i = 0; i < bodyHeight; i++) lines.push(body[i] ?? '');

  lines.push(fit(footer(s), width));
  return lines.slice(0, height);
}

function footer(s: ViewState): string {
  if (s.prompt?.kind === 'jump') return `jump to (14:02, +5m, -10m, an ISO time): ${printable(s.prompt.text)}_`;
  if (s.prompt?.kind === 'filter') return `filter (a pid, comm, host or port; empty clears): ${printable(s.prompt.text)}_`;
  if (s.message) return printable(s.message);
  if (s.screen === 'chart') return 'Esc back  ? keys  q quit';
  if (s.screen === 'help') return 'any key back  q quit';
  return 'space play/pause  \u2190\u2192 step  j jump  / filter  s sort  g group  ? keys  q quit';
}

/** Total bytes over the timeline, one bar per column, scaled to the busiest column. */
export function sparkline(totals: ArrayLike<number>, width: number): string {
  const n = totals.length;
  if (n === 0 || width <= 0) return '';
  const values: number[] = [];
  for (let c = 0; c < width; c++) {
    const [a, b] = columnFrames(n, width, c);
    let sum = 0;
    for (let i = a; i < b; i++) sum += totals[i];
    values.push(sum / (b - a));
  }
  const max = Math.max(...values);
  return values.map((v) => (v <= 0 || max <= 0 ? ' ' : BARS[Math.min(7, Math.ceil((v / max) * 8) - 1)])).join('');
}

/** The frames [a, b) column `c` of `width` stands for. */
function columnFrames(frames: number, width: number, c: number): [number, number] {
  const a = Math.floor((c * frames) / width);
  const b = Math.max(a + 1, Math.floor(((c + 1) * frames) / width));
  return [a, Math.min(b, frames)];
}

/** The columns whose frames overlap frames first..last. */
function markedColumns(frames: number, width: number, first: number, last: number): number[] {
  const cols: number[] = [];
  if (frames === 0 || last < first) return cols;
  for (let c = 0; c < width; c++) {
    const [a, b] = columnFrames(frames, width, c);
    if (a <= last && b - 1 >= first) cols.push(c);
  }
  return cols;
}

function paintColumns(text: string, cols: number[], code: string): string {
  const lo = cols[0];
  const hi = cols[cols.length - 1] + 1;
  return `${text.slice(0, lo)}${code}${text.slice(lo, hi)}${SGR.reset}${text.slice(hi)}`;
}

/** The start and end times of the capture under the overview, and ^ under the interval shown. */
function axis(d: ScreenData, width: number, marks: number[]): string {
  const n = d.wallUs.length;
  if (n === 0) return '';
  const cells = Array<string>(width).fill(' ');
  const startUs = d.wallUs[0] - d.intervalUs[0];
  const endUs = d.wallUs[n - 1];
  const clock = rangeClock(d.zone, startUs, endUs);
  const start = clock(startUs);
  const end = clock(endUs);
  const put = (text: string, x: number): void => {
    for (let i = 0; i < text.length && x + i < width; i++) if (x + i >= 0) cells[x + i] = text[i];
  };
  // Each time where the marker leaves it room, a column clear of it.
  const clear = (from: number, to: number): boolean => !marks.some((c) => c >= from - 1 && c <= to);
  if (start.length + end.length + 2 <= width) {
    if (clear(0, start.length)) put(start, 0);
    if (clear(width - end.length, width)) put(end, width - end.length);
  }
  for (const c of marks) cells[c] = '^';
  return cells.join('').trimEnd();
}

/**
 * The classic columns (with --wide, UNIT after COMM); IPv6 addresses get what the width allows, 21 to 32 columns
 * as the classic tool.
 */
function rowLines(s: ViewState, d: ScreenData, width: number, height: number): string[] {
  const rows = d.rows;
  type Item = { text: string } | { row: number };
  const items: Item[] = [];
  const unit = d.wide ? ` ${'UNIT'.padEnd(UNIT_WIDTH)}` : '';
  const addr6 = Math.max(21, Math.min(32, Math.floor((width - 38 - unit.length) / 2)));
  if (rows.kind === 'flows') {
    if (rows.v4.length) {
      items.push({ text: `${'PID'.padEnd(7)} ${'COMM'.padEnd(12)}${unit} ${'LADDR'.padEnd(21)} ${'RADDR'.padEnd(21)} ${'RX_KB'.padStart(6)} ${'TX_KB'.padStart(6)}` });
      for (let i = 0; i < rows.v4.length; i++) items.push({ row: i });
    }
    if (rows.v6.length) {
      if (rows.v4.length) items.push({ text: '' });
      items.push({ text: `${'PID'.padEnd(7)} ${'COMM'.padEnd(12)}${unit} ${'LADDR6'.padEnd(addr6)} ${'RADDR6'.padEnd(addr6)} ${'RX_KB'.padStart(6)} ${'TX_KB'.padStart(6)}` });
      for (let i = 0; i < rows.v6.length; i++) items.push({ row: rows.v4.length + i });
    }
  } else {
    items.push({ text: `${rows.by.toUpperCase().padEnd(keyWidth(width))} ${'FLOWS'.padStart(6)} ${'RX_KB'.padStart(6)} ${'TX_KB'.padStart(6)}` });
    for (let i = 0; i < rows.groups.length; i++) items.push({ row: i });
  }
  const total = rows.kind === 'flows' ? rows.v4.length + rows.v6.length : rows.groups.length;
  if (total === 0) {
    const why = !d.bin ? 'waiting for the first interval' : s.filter || s.family ? 'no flows match in this interval' : 'no flows in this interval';
    return [why];
  }
  const cursor = Math.min(s.cursor, total - 1);
  const cursorLine = items.findIndex((it) => 'row' in it && it.row === cursor);
  const top = cursorLine < height ? 0 : cursorLine - height + 1;
  // Only the rows on screen are formatted.
  return items.slice(top, top + height).map((it) => {
    if ('text' in it) return fit(it.text, width);
    const line = fit(rows.kind === 'flows' ? flowRow(rows, it.row, addr6, d) : groupRow(rows.groups[it.row], width), width);
    return it.row === cursor ? `${SGR.inverse}${line.padEnd(width)}${SGR.reset}` : line;
  });
}

function flowRow(rows: { v4: RowFlow[]; v6: RowFlow[] }, i: number, addr6: number, cols: Pick<ScreenData, 'names' | 'wide'>): string {
  const v4 = i < rows.v4.length;
  const f = v4 ? rows.v4[i] : rows.v6[i - rows.v4.length];
  const w = v4 ? 21 : addr6;
  const pid = String(f.pid).padEnd(7);
  const comm = printable(f.comm).slice(0, 12).padEnd(12);
  const unit = cols.wide ? ` ${cell(printable(unitOf(f)), UNIT_WIDTH)}` : '';
  const remote = cols.names && f.name !== undefined ? named(printable(f.name), `:${f.rport}`, w) : address(`${printable(f.raddr)}:${f.rport}`, w);
  return `${pid} ${comm}${unit} ${address(`${printable(f.laddr)}:${f.lport}`, w)} ${remote} ` +
    `${kb(f.rxBytes).padStart(6)} ${kb(f.txBytes).padStart(6)}`;
}

/** An address:port in `w` columns: too long, it keeps its end (the port) and shows it was cut. */
function address(text: string, w: number): string {
  return text.length > w ? `\u2026${text.slice(text.length - w + 1)}` : text.padEnd(w);
}

/** A host name and its :port in `w` columns: too long, the name keeps its start (the host) and shows it was cut. */
function named(name: string, port: string, w: number): string {
  return name.length + port.length > w ? `${name.slice(0, w - port.length - 1)}\u2026${port}` : `${name}${port}`.padEnd(w);
}

/** Text in `w` columns: too long, cut with a mark that shows it. */
function cell(text: string, w: number): string {
  return text.length > w ? `${text.slice(0, w - 1)}\u2026` : text.padEnd(w);
}

function keyWidth(width: number): number {
  return Math.max(10, Math.min(39, width - 21));
}

function groupRow(g: { key: string | number; flows: number; rxBytes: number; txBytes: number }, width: number): string {
  return `${cell(printable(String(g.key)), keyWidth(width))} ${String(g.flows).padStart(6)} ${kb(g.rxBytes).padStart(6)} ${kb(g.txBytes).padStart(6)}`;
}

function kb(bytes: number): string {
  return String(Math.floor(bytes / 1024));
}

function chartLines(s: ViewState, d: ScreenData, width: number, height: number): string[] {
  const sel = s.chart;
  const n = d.wallUs.length;
  if (!sel || !d.chart || n === 0) return ['reading the capture...'];
  // Title (3 lines), the plot, its time axis, a blank line, the legend (up to 2 lines).
  const plotHeight = Math.min(15, height - 7);
  if (plotHeight < 2 || width < 40) return [fit('the terminal is too small for the chart', width)];
  const plan = columnPlan(n, plotColumns(width));
  const values: number[] = [];
  let peakRate = 0;
  let peakWallUs = d.wallUs[0];
  let total = 0;
  for (let i = 0; i < n; i++) {
    const bytes = d.chart.rx[i] + d.chart.tx[i];
    total += bytes;
    const rate = (bytes * 1e6) / d.intervalUs[i];
    if (rate > peakRate) {
      peakRate = rate;
      peakWallUs = d.wallUs[i];
    }
  }
  for (let a = 0; a < n; a += plan.framesPerColumn) {
    let bytes = 0;
    let us = 0;
    for (let i = a; i < Math.min(n, a + plan.framesPerColumn); i++) {
      bytes += d.chart.rx[i] + d.chart.tx[i];
      us += d.intervalUs[i];
    }
    values.push((bytes * 1e6) / us);
  }
  const startUs = d.wallUs[0] - d.intervalUs[0];
  const endUs = d.wallUs[n - 1];
  const series: ChartSeries[] = total > 0
    ? [{ name: sel.label, values, totalBytes: total, avgRate: (total * 1e6) / (endUs - startUs), peakRate, peakWallUs }]
    : [];
  const text = renderChart({
    metric: 'total', by: sel.grouping === 'flows' ? 'flow' : sel.grouping, groups: series.length, startUs, endUs, zone: d.zone,
    ...plan, intervalUs: d.recordedUs, series, width, height: plotHeight, color: d.color,
  });
  // The chart's own lines are cut to the width only when they have no colour codes (those it sizes itself).
  return text.replace(/\n$/, '').split('\n').map((l) => (l.includes('\x1b') ? l : fit(l, width)));
}

export const KEYS_HELP: [string, string][] = [
  ['space', 'pause / resume playback'],
  ['\u2192 or t / \u2190 or T', 'one interval forward / back'],
  ['PgDn / PgUp', 'ten intervals forward / back'],
  ['Home / End', 'first / last interval'],
  ['j or b', 'jump to a time: 14:02, +5m, -10m, an ISO time'],
  ['+ / -', 're-bin: one recorded interval more / less per interval'],
  ['s', 'sort: total, received, sent'],
  ['g', 'rows: flows, by host, comm, pid, port'],
  ['/', 'filter: a pid, comm, host or port (pid:, port:,'],
  ['', '  comm:, host: for one kind); empty clears'],
  ['4 / 6', 'IPv4 only / IPv6 only; again for both'],
  ['\u2193 / \u2191', 'move the row cursor'],
  ['Enter / Esc', "the row's throughput over the capture / back"],
  ['?', 'these keys'],
  ['q', 'quit'],
];

function helpLines(live: boolean): string[] {
  const lines = ['keys'];
  for (const [k, what] of KEYS_HELP) lines.push(`  ${k.padEnd(20)} ${what}`);
  if (live) lines.push('  live: space, \u2190, j look back while counting goes on; space or End: now again');
  return lines;
}
