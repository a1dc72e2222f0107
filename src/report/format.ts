// A report as text: a table for people, CSV and JSON for scripts (raw byte counts, ISO times in UTC). The HTML
// page (html/) is the fourth format.
// docs/report-format.md describes the machine formats; keep the two in step.
import { isoFromUs as iso } from '../capture/meta';
import { dateTimeOf, rangeClock, zoneLabel, type DisplayZone } from '../time/zone';
import { printable } from '../view/printable';
import { grouped, humanBytes, humanDuration, humanRate, lostText } from '../view/units';
import type { GroupKey, KeyColumn, KeyValue } from './group';
import type { ReportRow, SortKey, Summary } from './rows';

export type Format = 'table' | 'csv' | 'json' | 'html';
export const FORMATS: readonly Format[] = ['table', 'csv', 'json', 'html'];

export interface ReportData {
  file: string;
  hostname: string;
  /** The probe that recorded the capture: it tells what its lost counts mean. */
  probe: string;
  by: readonly GroupKey[];
  columns: readonly KeyColumn[];
  windowUs: number | null;
  top: number | null;
  sort: SortKey;
  /** Distinct flows, remote hosts and groups that moved bytes in the range. */
  flows: number;
  hosts: number;
  groups: number;
  summary: Summary;
  rows: readonly ReportRow[];
}

/** Rates in machine formats: bytes per second to the millibyte, so equal inputs print equal text. */
const rawRate = (v: number): number => Math.round(v * 1000) / 1000;

/** A rate for people: whole bytes below 1 KiB/s, three significant figures above. */
export function rateText(bytesPerSecond: number): string {
  return humanRate(bytesPerSecond < 1024 ? Math.round(bytesPerSecond) : bytesPerSecond);
}

function keyText(row: ReportRow, i: number): string {
  if (row.key) return String(row.key[i]);
  return i === 0 ? `other (${row.otherGroups})` : '';
}

/** The text form: a summary, then one row per group (and window), human units. */
export function reportTable(r: ReportData, zone: DisplayZone): string {
  const s = r.summary;
  const at = rangeClock(zone, s.startUs, s.endUs);
  const lines: [string, string][] = [
    ['capture', `${r.file} (host ${r.hostname})`],
    ['span', `${dateTimeOf(zone, s.startUs)} to ${dateTimeOf(zone, s.endUs)} (${humanDuration(s.durationUs)}), ${zoneLabel(zone, s.startUs / 1000)}`],
    ['frames', grouped(s.frames)],
    ['flows', grouped(r.flows)],
    ['hosts', grouped(r.hosts)],
    ['received', `${grouped(s.rx)} bytes (${humanBytes(s.rx)})`],
    ['sent', `${grouped(s.tx)} bytes (${humanBytes(s.tx)})`],
    ['busiest frame', s.busiestFrame
      ? `${at(s.busiestFrame.startUs)} to ${at(s.busiestFrame.endUs)}: ${humanBytes(s.busiestFrame.rx + s.busiestFrame.tx)}, ${rateText(s.busiestFrame.rate)}`
      : 'none (no bytes moved)'],
  ];
  if (r.windowUs !== null) {
    const w = s.busiestWindow;
    lines.push(['busiest window', w
      ? `${at(w.startUs)} to ${at(w.endUs)}: ${humanBytes(w.rx + w.tx)}, ${rateText(w.rate)} average`
      : 'none (no bytes moved)']);
  }
  if (s.lost.events > 0) {
    lines.push(['not counted', lostText(s.lost, r.probe)]);
  }
  const width = Math.max(...lines.map(([k]) => k.length));
  let out = lines.map(([k, v]) => `${k.padEnd(width)}  ${printable(v)}\n`).join('');
  out += '\n';
  if (r.rows.length === 0) return `${out}no bytes moved in this range\n`;

  const header: string[] = [];
  const right: boolean[] = [];
  if (r.windowUs !== null) {
    header.push('START', 'END');
    right.push(false, false);
  }
  for (const c of r.columns) {
    header.push(c.name.toUpperCase());
    right.push(c.numeric);
  }
  header.push('RX', 'TX', 'TOTAL', 'AVG RATE', 'PEAK RATE', 'PEAK AT');
  right.push(true, true, true, true, true, false);
  const cells = r.rows.map((row) => [
    ...(r.windowUs !== null ? [at(row.startUs), at(row.endUs)] : []),
    ...r.columns.map((_, i) => printable(keyText(row, i))),
    humanBytes(row.rx),
    humanBytes(row.tx),
    humanBytes(row.rx + row.tx),
    rateText(row.avgRate),
    rateText(row.peakRate),
    at(row.peakWallUs),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (c: string[]): string =>
    `${c.map((v, i) => (right[i] ? v.padStart(widths[i]) : v.padEnd(widths[i]))).join('  ').trimEnd()}\n`;
  return out + line(header) + cells.map(line).join('');
}

function csvField(v: string): string {
  return /[",\r\n]|^\s|\s$/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

/**
 * A text value from the capture (a process name, an address): always quoted, and one that a spreadsheet would
 * take for a formula (= + - @, or a tab or carriage return before one) gets a leading apostrophe, so opening
 * the file never runs it. docs/report-format.md says so; every other character is kept as recorded.
 */
export function csvText(v: string): string {
  const safe = /^[=+\-@\t\r]/.test(v) ? `'${v}` : v;
  return `"${safe.replace(/"/g, '""')}"`;
}

/** The CSV header row for these key columns. */
export function csvHeader(columns: readonly KeyColumn[]): string {
  return `${['start', 'end', ...columns.map((c) => c.name), 'other_groups', 'rx_bytes', 'tx_bytes', 'total_bytes',
    'avg_bytes_per_sec', 'peak_bytes_per_sec', 'peak_time'].join(',')}\n`;
}

/** CSV lines for rows: raw bytes, rates in bytes per second, ISO times; written a window at a time. */
export function csvRows(columns: readonly KeyColumn[], rows: readonly ReportRow[]): string {
  return rows.map((row) => `${[
    iso(row.startUs),
    iso(row.endUs),
    ...columns.map((c, i) => (!row.key ? '' : c.numeric ? String(row.key[i]) : csvText(String(row.key[i])))),
    String(row.otherGroups),
    String(row.rx),
    String(row.tx),
    String(row.rx + row.tx),
    String(rawRate(row.avgRate)),
    String(rawRate(row.peakRate)),
    iso(row.peakWallUs),
  ].map((v, i) => (i >= 2 && i < 2 + columns.length ? v : csvField(v))).join(',')}\n`).join('');
}

/** CSV with a header row: one line per group and window. */
export function reportCsv(r: ReportData): string {
  return csvHeader(r.columns) + csvRows(r.columns, r.rows);
}

/** The JSON form: the summary's facts and the rows, raw numbers, ISO times in UTC. */
export function reportJson(r: ReportData): unknown {
  const s = r.summary;
  const frame = (f: Summary['busiestFrame']) =>
    f && { start: iso(f.startUs), end: iso(f.endUs), rx_bytes: f.rx, tx_bytes: f.tx, bytes_per_sec: rawRate(f.rate) };
  return {
    file: r.file,
    hostname: r.hostname,
    from: iso(s.startUs),
    to: iso(s.endUs),
    duration_seconds: s.durationUs / 1e6,
    frames: s.frames,
    flows: r.flows,
    hosts: r.hosts,
    groups: r.groups,
    rx_bytes: s.rx,
    tx_bytes: s.tx,
    lost: { events: s.lost.events, rx_bytes: s.lost.rxBytes, tx_bytes: s.lost.txBytes },
    by: r.by,
    window_seconds: r.windowUs === null ? null : r.windowUs / 1e6,
    top: r.top,
    sort: r.sort,
    busiest_frame: frame(s.busiestFrame),
    busiest_window: s.busiestWindow && { ...frame(s.busiestWindow), frames: s.busiestWindow.frames },
    rows: r.rows.map((row) => {
      const o: Record<string, KeyValue | null> = { start: iso(row.startUs), end: iso(row.endUs) };
      r.columns.forEach((c, i) => (o[c.name] = row.key ? row.key[i] : null));
      return {
        ...o,
        other_groups: row.otherGroups,
        rx_bytes: row.rx,
        tx_bytes: row.tx,
        total_bytes: row.rx + row.tx,
        avg_bytes_per_sec: rawRate(row.avgRate),
        peak_bytes_per_sec: rawRate(row.peakRate),
        peak_time: iso(row.peakWallUs),
      };
    }),
  };
}
