// Which way the kernel programs counted each event (--stats): the flow's home slot found by the socket's
// cookie, the socket's storage read from its cache, the helper's lookup, or lost. Pure: the counts come from the probe.
import { grouped } from '../view/units';

export interface PathCounts {
  /** The flow's home slot, found by the socket's cookie (tracing probes only). */
  home: number;
  /** The socket's storage read from its cache, with an entry for the calling process (tracing probes only). */
  cached: number;
  /** The helper bpf_sk_storage_get, and the entry claimed (kprobes: a hash lookup). */
  lookup: number;
  /** No slot or no storage: the bytes are in the lost counters only. */
  lost: number;
}

export interface EventPaths {
  rx: PathCounts;
  tx: PathCounts;
}

/** The addon's eight counters (rx home, cached, lookup, lost, then tx the same: bpf/tcptop.h) as paths. */
export function eventPathsOf(counts: readonly number[]): EventPaths {
  if (counts.length !== 8) throw new Error(`path counters: want 8, got ${counts.length}`);
  const [rh, rc, rl, rx, th, tc, tl, tx] = counts;
  return { rx: { home: rh, cached: rc, lookup: rl, lost: rx }, tx: { home: th, cached: tc, lookup: tl, lost: tx } };
}

/** `op` on each way's two counts, both directions. */
function eachWay(a: EventPaths, b: EventPaths, op: (x: number, y: number) => number): EventPaths {
  const w = (x: PathCounts, y: PathCounts): PathCounts => ({ home: op(x.home, y.home), cached: op(x.cached, y.cached), lookup: op(x.lookup, y.lookup), lost: op(x.lost, y.lost) });
  return { rx: w(a.rx, b.rx), tx: w(a.tx, b.tx) };
}

/** What happened between two readings. */
export function pathsSince(now: EventPaths, before: EventPaths): EventPaths {
  return eachWay(now, before, (x, y) => x - y);
}

/** Two spans' counts as one. */
export function addPaths(a: EventPaths, b: EventPaths): EventPaths {
  return eachWay(a, b, (x, y) => x + y);
}

export function pathTotal(c: PathCounts): number {
  return c.home + c.cached + c.lookup + c.lost;
}

function share(part: number, total: number): string {
  if (total === 0) return '-';
  const p = (part / total) * 100;
  return `${p === 100 || p === 0 ? p.toFixed(0) : p < 0.1 ? '<0.1' : p > 99.9 ? '>99.9' : p.toFixed(1)}%`;
}

/** One direction: `send 1,234 events: 99.7% home (1,230), 0.1% cached (1), 0.2% lookup (3), 0 lost`. */
export function formatPathCounts(name: string, c: PathCounts): string {
  const total = pathTotal(c);
  return `${name} ${grouped(total)} events: ${share(c.home, total)} home (${grouped(c.home)}), ${share(c.cached, total)} cached (${grouped(c.cached)}), ${share(c.lookup, total)} lookup (${grouped(c.lookup)}), ${grouped(c.lost)} lost`;
}

/** The line --stats prints: counts since attach, both directions. */
export function formatEventPaths(p: EventPaths): string {
  return `paths: ${formatPathCounts('send', p.tx)}; ${formatPathCounts('receive', p.rx)}`;
}
