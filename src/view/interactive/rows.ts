// What the interactive view's rows are: flows in the classic sections, or flows added up by host, comm, pid or
// port (as report --by), filtered and sorted. Plain data in and out.
import type { Family, Flow, FlowBytes } from '../../capture/types';
import { hostOf, keyColumns, type GroupKey } from '../../report/group';
import { sortFlows, type SortKey } from '../classic';

export const GROUPINGS = ['flows', 'host', 'comm', 'pid', 'port'] as const;
export type Grouping = (typeof GROUPINGS)[number];

/** A flow with its bytes in the interval shown; `id` is the capture's. */
export type RowFlow = FlowBytes & Flow;

export interface GroupRow {
  /** The group's value: a host, a comm, a pid or a port. */
  key: string | number;
  flows: number;
  rxBytes: number;
  txBytes: number;
}

export type Rows =
  | { kind: 'flows'; v4: RowFlow[]; v6: RowFlow[] }
  | { kind: 'groups'; by: Exclude<Grouping, 'flows'>; groups: GroupRow[] };

export interface RowOptions {
  sort: SortKey;
  grouping: Grouping;
  /** A pid, a comm, a host or a port, as typed; empty is none. */
  filter: string;
  family?: Family;
}

/**
 * Whether a flow is one the filter text names: its pid or either port (a number), its comm or either address;
 * `pid:`, `port:`, `comm:` or `host:` before the value names only that.
 */
export function filterMatches(f: Flow, filter: string): boolean {
  const t = filter.trim();
  if (t === '') return true;
  const kind = /^(pid|port|comm|host):(.*)$/.exec(t);
  if (kind) {
    const v = kind[2];
    switch (kind[1]) {
      case 'pid': return String(f.pid) === v;
      case 'port': return String(f.lport) === v || String(f.rport) === v;
      case 'comm': return f.comm === v;
      default: return f.laddr === v || f.raddr === v || hostOf(f.laddr) === v || hostOf(f.raddr) === v;
    }
  }
  if (/^\d+$/.test(t)) {
    const n = Number(t);
    return f.pid === n || f.lport === n || f.rport === n;
  }
  return f.comm === t || f.laddr === t || f.raddr === t || hostOf(f.laddr) === t || hostOf(f.raddr) === t;
}

export function passes(f: Flow, o: Pick<RowOptions, 'filter' | 'family'>): boolean {
  return (o.family === undefined || f.family === o.family) && filterMatches(f, o.filter);
}

/** The value that names a flow's group; for flows, the flow itself. */
export function groupValue(f: Flow, grouping: Grouping): string | number {
  if (grouping === 'flows') return `${f.pid}\0${f.comm}\0${f.family}\0${f.laddr}\0${f.lport}\0${f.raddr}\0${f.rport}`;
  return keyColumns([grouping as GroupKey])[0].of(f);
}

const VALUE: Record<SortKey, (r: { rxBytes: number; txBytes: number }) => number> = {
  all: (r) => r.rxBytes + r.txBytes,
  sent: (r) => r.txBytes,
  received: (r) => r.rxBytes,
};

export function buildRows(flows: readonly RowFlow[], o: RowOptions): Rows {
  const kept = flows.filter((f) => passes(f, o));
  if (o.grouping === 'flows') {
    return { kind: 'flows', v4: sortFlows(kept.filter((f) => f.family === 4), o.sort) as RowFlow[], v6: sortFlows(kept.filter((f) => f.family === 6), o.sort) as RowFlow[] };
  }
  const by = o.grouping;
  const column = keyColumns([by])[0];
  const groups = new Map<string | number, GroupRow>();
  for (const f of kept) {
    const key = column.of(f);
    const g = groups.get(key);
    if (g) {
      g.flows++;
      g.rxBytes += f.rxBytes;
      g.txBytes += f.txBytes;
    } else groups.set(key, { key, flows: 1, rxBytes: f.rxBytes, txBytes: f.txBytes });
  }
  const value = VALUE[o.sort];
  // Busiest first; equal ones by their key, so rows keep their places from one interval to the next.
  const list = [...groups.values()].sort((a, b) => value(b) - value(a) ||
    (typeof a.key === 'number' && typeof b.key === 'number' ? a.key - b.key : String(a.key) < String(b.key) ? -1 : String(a.key) > String(b.key) ? 1 : 0));
  return { kind: 'groups', by, groups: list };
}

export function rowCount(rows: Rows): number {
  return rows.kind === 'flows' ? rows.v4.length + rows.v6.length : rows.groups.length;
}

/** What a row stands for, to chart it: its grouping and the value that names it. */
export interface Selection {
  grouping: Grouping;
  value: string | number;
  /** How the chart names it. */
  label: string;
}

export function selectionAt(rows: Rows, i: number): Selection | null {
  if (rows.kind === 'flows') {
    const f = i < rows.v4.length ? rows.v4[i] : rows.v6[i - rows.v4.length];
    if (!f) return null;
    return { grouping: 'flows', value: groupValue(f, 'flows'), label: `${f.pid} ${f.comm} ${f.laddr}:${f.lport} ${f.raddr}:${f.rport}` };
  }
  const g = rows.groups[i];
  return g ? { grouping: rows.by, value: g.key, label: `${rows.by} ${g.key}` } : null;
}
