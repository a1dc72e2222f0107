// The classic tcptop screen, byte for byte: the same function renders live counts and replayed frames.
import { cgroupFacts } from '../capture/cgroup';
import type { FlowBytes } from '../capture/types';
import { printable } from './printable';

export type SortKey = 'all' | 'sent' | 'received';
export const SORT_KEYS: readonly SortKey[] = ['all', 'sent', 'received'];

export interface ViewOptions {
  /** Clear the screen before each interval; false (-C) prints a blank line instead. */
  clear: boolean;
  /** Print the time and load average line; false is -S. */
  summary: boolean;
  /** At most this many rows per section. */
  rows?: number;
  sort: SortKey;
  /** Show the remote host's name instead of its address, where the capture has one (--names). */
  names?: boolean;
  /** A UNIT column after COMM: the systemd unit of the flow's cgroup (--wide). */
  wide?: boolean;
}

export interface ViewFrame {
  /** Time of day as the operator saw it, HH:MM:SS. */
  clock: string;
  /** The raw text of /proc/loadavg, without its newline. */
  loadavg: string;
  flows: readonly FlowBytes[];
}

/** What a terminal's `clear` sends: cursor home, erase the screen. */
export const CLEAR_SCREEN = '\x1b[H\x1b[2J';

export function banner(intervalSeconds: number): string {
  return `Tracing... Output every ${formatSeconds(intervalSeconds)} secs. Hit Ctrl-C to end\n`;
}

/** One interval's output. KB columns are bytes / 1024 rounded down, as the classic tool prints them. */
export function renderFrame(frame: ViewFrame, opts: ViewOptions): string {
  let out = opts.clear ? CLEAR_SCREEN : '\n';
  // The classic tool printed the file's text with its newline, then print's own: hence the blank line.
  if (opts.summary) out += `${frame.clock.padEnd(8)} loadavg: ${printable(frame.loadavg)}\n\n`;
  const v4 = sortFlows(frame.flows.filter((f) => f.family === 4), opts.sort);
  const v6 = sortFlows(frame.flows.filter((f) => f.family === 6), opts.sort);
  const unit = opts.wide ? ` ${'UNIT'.padEnd(UNIT_WIDTH)}` : '';
  if (v4.length > 0) {
    out += `${'PID'.padEnd(7)} ${'COMM'.padEnd(12)}${unit} ${'LADDR'.padEnd(21)} ${'RADDR'.padEnd(21)} ${'RX_KB'.padStart(6)} ${'TX_KB'.padStart(6)}\n`;
    for (const f of limit(v4, opts.rows)) out += row(f, 21, opts);
  }
  if (v6.length > 0) {
    out += `\n${'PID'.padEnd(7)} ${'COMM'.padEnd(12)}${unit} ${'LADDR6'.padEnd(32)} ${'RADDR6'.padEnd(32)} ${'RX_KB'.padStart(6)} ${'TX_KB'.padStart(6)}\n`;
    for (const f of limit(v6, opts.rows)) out += row(f, 32, opts);
  }
  return out;
}

/** Columns of the UNIT column of --wide: a longer unit name is cut. */
export const UNIT_WIDTH = 24;

function row(f: FlowBytes, addrWidth: number, opts: ViewOptions): string {
  const pid = String(f.pid).padEnd(7);
  // Escaped first, then cut: a hostile name takes no more than its 12 columns.
  const comm = printable(f.comm).slice(0, 12).padEnd(12);
  const unit = opts.wide ? ` ${printable(unitOf(f)).slice(0, UNIT_WIDTH).padEnd(UNIT_WIDTH)}` : '';
  const local = `${printable(f.laddr)}:${f.lport}`.padEnd(addrWidth);
  const port = `:${f.rport}`;
  // a name is cut to keep its port in the column; an address is shown whole, as always
  const remote = (opts.names && f.name !== undefined ? `${printable(f.name).slice(0, Math.max(1, addrWidth - port.length))}${port}` : `${printable(f.raddr)}${port}`).padEnd(addrWidth);
  return `${pid} ${comm}${unit} ${local} ${remote} ${kb(f.rxBytes).padStart(6)} ${kb(f.txBytes).padStart(6)}\n`;
}

const units = new Map<string, string>();
/** The systemd unit of a flow's cgroup path, `-` when there is none. */
export function unitOf(f: FlowBytes): string {
  if (f.cgroupPath === undefined) return '-';
  let u = units.get(f.cgroupPath);
  if (u === undefined) {
    if (units.size >= 4096) units.clear();
    u = cgroupFacts(f.cgroupPath).unit ?? '-';
    units.set(f.cgroupPath, u);
  }
  return u;
}

function kb(bytes: number): string {
  return String(Math.floor(bytes / 1024));
}

function limit<T>(rows: T[], n: number | undefined): T[] {
  return n === undefined ? rows : rows.slice(0, n);
}

const SORT_VALUE: Record<SortKey, (f: FlowBytes) => number> = {
  all: (f) => f.rxBytes + f.txBytes,
  sent: (f) => f.txBytes,
  received: (f) => f.rxBytes,
};

/** Busiest first; ties in a fixed order (pid, then the addresses) so equal counts always print alike. */
export function sortFlows(flows: FlowBytes[], key: SortKey): FlowBytes[] {
  const value = SORT_VALUE[key];
  return flows.sort((a, b) =>
    value(b) - value(a) || a.pid - b.pid || cmp(a.laddr, b.laddr) || a.lport - b.lport || cmp(a.raddr, b.raddr) ||
    a.rport - b.rport || cmp(a.comm, b.comm));
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** 1 → "1", 0.5 → "0.5", 2.25 → "2.25": the interval as a person wrote it. */
export function formatSeconds(s: number): string {
  return String(Math.round(s * 1e6) / 1e6);
}
