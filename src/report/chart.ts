// Throughput over time as a terminal chart (asciichart), one line per group. Pure: numbers in, text out.
import * as asciichart from 'asciichart';
import { dateTimeOf, rangeClock, zoneLabel, type DisplayZone } from '../time/zone';
import { printable } from '../view/printable';
import { humanBytes } from '../view/units';
import type { Metric } from './aggregate';
import { rateText } from './format';

export interface ChartSeries {
  name: string;
  /** Mean rate of the metric in each column's frames, bytes per second. */
  values: number[];
  totalBytes: number;
  /** Bytes over the whole range's duration, per second. */
  avgRate: number;
  /** The highest rate of one frame, and when that frame ended: a column's mean can hide it, the legend cannot. */
  peakRate: number;
  peakWallUs: number;
}

export interface ChartInput {
  metric: Metric;
  /** How groups are keyed, for the title: "host", "host and comm". */
  by: string;
  /** Groups that moved bytes in the range; the series are the first of them. */
  groups: number;
  startUs: number;
  endUs: number;
  zone: DisplayZone;
  /** Frames summed into one column, and columns one frame is drawn over (one of the two is 1). */
  framesPerColumn: number;
  columnsPerFrame: number;
  /** Nominal length of a frame, µs. */
  intervalUs: number;
  series: ChartSeries[];
  width: number;
  height: number;
  color: boolean;
}

/** Y-axis labels are right-aligned in this many characters ("1000 KiB/s", "49.5 MiB/s"); the plot gets the rest. */
export const LABEL_WIDTH = 10;

/** The most rows a chart may have: more would need longer labels. */
export const MAX_HEIGHT = 100;

/** The columns a chart `width` characters wide has for its plot. */
export function plotColumns(width: number): number {
  return width - LABEL_WIDTH - 1;
}

/**
 * How frames map to the plot's columns: summed into buckets of whole frames when there are more frames than
 * columns, each frame widened over several columns when there are fewer.
 */
export function columnPlan(frames: number, columns: number): { framesPerColumn: number; columnsPerFrame: number } {
  if (frames > columns) return { framesPerColumn: Math.ceil(frames / columns), columnsPerFrame: 1 };
  return { framesPerColumn: 1, columnsPerFrame: Math.max(1, Math.floor(columns / frames)) };
}

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

/**
 * A y axis from 0 in `steps` equal steps of 1, 2 or 5 times a power of ten, in one unit, so every label is exact
 * and a value drawn at the first row at or above it is never shown lower than it is.
 */
export function yScale(max: number, steps: number): { stepBytes: number; label: (level: number) => string } {
  // The largest unit the values reach, unless its steps would need more than two decimals.
  let u = 0;
  while (u < UNITS.length - 1 && max >= 1024 ** (u + 1) && max / 1024 ** (u + 1) / steps >= 0.01) u++;
  const raw = Math.max(max / 1024 ** u / steps, u === 0 ? 1 : Number.MIN_VALUE);
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * magnitude).find((s) => s >= raw * (1 - 1e-9))!;
  const decimals = Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
  return { stepBytes: step * 1024 ** u, label: (level) => `${(level * step).toFixed(decimals)} ${UNITS[u]}/s` };
}

/** Line styles told apart without colour; asciichart's symbol order: axis, axis, -, -, ─, ╰, ╭, ╮, ╯, │. */
type Symbols = [string, string, string, string, string, string, string, string, string, string];
const STYLES: Symbols[] = [
  ['┼', '┤', '╶', '╴', '─', '╰', '╭', '╮', '╯', '│'],
  ['┼', '┤', '╺', '╸', '━', '┗', '┏', '┓', '┛', '┃'],
  ['┼', '┤', '╶', '╴', '═', '╚', '╔', '╗', '╝', '║'],
  ['┼', '┤', '╶', '╴', '┄', '╰', '╭', '╮', '╯', '┆'],
  ['┼', '┤', '╺', '╸', '┅', '┗', '┏', '┓', '┛', '┇'],
  ['┼', '┤', '-', '-', '-', '+', '+', '+', '+', '|'],
];

export const PALETTE = [asciichart.cyan, asciichart.magenta, asciichart.yellow, asciichart.green, asciichart.lightred,
  asciichart.blue, asciichart.lightcyan, asciichart.lightmagenta, asciichart.lightyellow, asciichart.lightgreen];

/** At most this many series: each gets its own colour. */
export const MAX_SERIES = PALETTE.length;

const METRIC_TITLE: Record<Metric, string> = { rx: 'received', tx: 'sent', total: 'received + sent' };

const paint = (text: string, color: string | undefined): string => (color ? `${color}${text}${asciichart.reset}` : text);

export function renderChart(c: ChartInput): string {
  const at = rangeClock(c.zone, c.startUs, c.endUs);
  const seconds = (n: number): string => `${Math.round((n * c.intervalUs) / 1e3) / 1e3} s`;
  const perColumn = c.columnsPerFrame > 1
    ? `one frame (${seconds(1)}) per ${c.columnsPerFrame} columns`
    : c.framesPerColumn === 1
      ? `one column per frame (${seconds(1)})`
      : `one column per ${c.framesPerColumn} frames (${seconds(c.framesPerColumn)}), their mean rate`;
  let out = `${METRIC_TITLE[c.metric]} by ${printable(c.by)}, top ${c.series.length} of ${c.groups}\n`;
  out += `${dateTimeOf(c.zone, c.startUs)} to ${at(c.endUs)} ${zoneLabel(c.zone, c.startUs / 1000)}\n${perColumn}\n`;
  if (c.series.length === 0) return `${out}no bytes moved in this range\n`;

  const steps = c.height - 1;
  const max = Math.max(...c.series.flatMap((s) => s.values));
  const scale = yScale(max, steps);
  const levels = (values: number[]): number[] =>
    values.flatMap((v) => Array<number>(c.columnsPerFrame).fill(Math.min(steps, Math.ceil(v / scale.stepBytes - 1e-9))));
  const format = (x: number): string => scale.label(Math.round(x)).padStart(LABEL_WIDTH);

  // Each series is drawn alone in its own line style, then laid over the others, the biggest last so it stays on top.
  let grid: string[][] = [];
  let owner: number[][] = [];
  let labels: string[] = [];
  for (let s = c.series.length - 1; s >= 0; s--) {
    const text = asciichart.plot(levels(c.series[s].values), { min: 0, max: steps, height: steps, format, symbols: STYLES[s % STYLES.length] });
    const rows = text.split('\n');
    if (grid.length === 0) {
      labels = rows.map((r) => r.slice(0, LABEL_WIDTH + 1));
      grid = rows.map((r) => Array.from(r.slice(LABEL_WIDTH + 1)));
      owner = grid.map((r) => r.map((ch) => (ch !== ' ' ? s : -1)));
      continue;
    }
    rows.forEach((r, y) => Array.from(r.slice(LABEL_WIDTH + 1)).forEach((ch, x) => {
      if (ch === ' ') return;
      grid[y][x] = ch;
      owner[y][x] = s;
    }));
  }
  // The axis: ┼ at zero and where each series starts, in its colour; asciichart marks its own zero row, which
  // with a minimum of 0 is the top one.
  grid.forEach((cells, y) => {
    cells[0] = y === steps ? '┼' : '┤';
    owner[y][0] = -1;
  });
  c.series.forEach((s, i) => {
    const y = steps - levels(s.values.slice(0, 1))[0];
    if (owner[y][0] < 0) {
      grid[y][0] = '┼';
      owner[y][0] = i;
    }
  });
  out += grid.map((cells, y) => {
    let line = '';
    // One colour code per run of cells of the same series.
    for (let x = 0; x < cells.length;) {
      let end = x + 1;
      while (end < cells.length && owner[y][end] === owner[y][x]) end++;
      const run = cells.slice(x, end).join('');
      line += c.color && owner[y][x] >= 0 ? paint(run, PALETTE[owner[y][x] % PALETTE.length]) : run;
      x = end;
    }
    return `${labels[y]}${line}`.trimEnd();
  }).join('\n');
  out += '\n';

  // Times under the plot: where it starts, where it ends, and the middle when there is room.
  const columns = grid[0].length - 1;
  const axis = Array<string>(columns).fill(' ');
  const put = (text: string, x: number): void => {
    for (let i = 0; i < text.length; i++) axis[x + i] = text[i];
  };
  const start = at(c.startUs);
  const end = at(c.endUs);
  if (start.length + end.length + 2 <= columns) {
    put(start, 0);
    put(end, columns - end.length);
    const mid = at((c.startUs + c.endUs) / 2);
    const midX = Math.round(columns / 2 - mid.length / 2);
    if (midX >= start.length + 3 && midX + mid.length + 3 <= columns - end.length) put(mid, midX);
  } else if (start.length <= columns) {
    put(start, 0);
  }
  out += `${' '.repeat(LABEL_WIDTH + 1)}${axis.join('')}`.trimEnd();
  out += '\n\n';

  const names = c.series.map((s) => printable(s.name));
  const nameWidth = Math.max(...names.map((n) => n.length));
  out += c.series.map((s, i) => {
    const marker = STYLES[i % STYLES.length][4].repeat(2);
    const color = c.color ? PALETTE[i % PALETTE.length] : undefined;
    const facts = `total ${humanBytes(s.totalBytes)}, avg ${rateText(s.avgRate)}, peak ${rateText(s.peakRate)} at ${at(s.peakWallUs)}`;
    // Too long for the width: the facts go on a line of their own.
    const oneLine = 2 + marker.length + 1 + nameWidth + 2 + facts.length <= c.width;
    return `  ${paint(marker, color)} ${oneLine ? `${names[i].padEnd(nameWidth)}  ${facts}` : `${names[i]}\n       ${facts}`}\n`;
  }).join('');
  return out;
}
