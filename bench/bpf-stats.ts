// The kernel's own cost accounting of BPF programs (kernel.bpf_stats_enabled=1): run_time_ns and run_cnt per
// program. Programs are found through the file descriptors of the process that loaded them, so programs of
// other runs on the same machine are never mixed in.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { eventPathsOf, type EventPaths } from '../src/record/stats';

const STATS_SYSCTL = '/proc/sys/kernel/bpf_stats_enabled';

export interface ProgStat {
  id: number;
  runTimeNs: number;
  runCnt: number;
}

/** Turns the statistics on; returns a function that puts the previous setting back. */
export function enableStats(): () => void {
  const before = fs.readFileSync(STATS_SYSCTL, 'utf8').trim();
  if (before !== '1') fs.writeFileSync(STATS_SYSCTL, '1');
  return () => {
    if (before !== '1') fs.writeFileSync(STATS_SYSCTL, before);
  };
}

/** The BPF programs process `pid` holds open, from /proc/PID/fdinfo (prog_id, run_time_ns, run_cnt). */
export function programsOf(pid: number): ProgStat[] {
  const out = new Map<number, ProgStat>();
  for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
    let link: string;
    let info: string;
    try {
      link = fs.readlinkSync(`/proc/${pid}/fd/${fd}`);
      if (link !== 'anon_inode:bpf-prog') continue;
      info = fs.readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8');
    } catch {
      continue; // closed meanwhile
    }
    const field = (name: string) => Number(new RegExp(`^${name}:\\s*(\\d+)`, 'm').exec(info)?.[1] ?? NaN);
    const id = field('prog_id');
    if (Number.isFinite(id)) out.set(id, { id, runTimeNs: field('run_time_ns'), runCnt: field('run_cnt') });
  }
  return [...out.values()];
}

/** Program names by id (bpftool). */
export function programNames(ids: readonly number[]): Map<number, string> {
  const names = new Map<number, string>();
  for (const id of ids) {
    const p = JSON.parse(execFileSync('bpftool', ['-j', 'prog', 'show', 'id', String(id)], { encoding: 'utf8' })) as { name?: string };
    names.set(id, p.name ?? `prog ${id}`);
  }
  return names;
}

/** For programs attached to classic tracepoints by process `pid`: the tracepoint's name by program id. */
export function tracepointsOf(pid: number): Map<number, string> {
  const all = JSON.parse(execFileSync('bpftool', ['-j', 'perf', 'show'], { encoding: 'utf8' })) as
    { pid: number; prog_id: number; fd_type: string; tracepoint?: string }[];
  return new Map(all.filter((p) => p.pid === pid && p.tracepoint).map((p) => [p.prog_id, p.tracepoint!]));
}

export interface ProgCost {
  id: number;
  events: number;
  ns: number;
  nsPerEvent: number;
}

/** Statistics of some processes' programs at one moment; `since` gives the cost per program from then to now. */
export class StatsSnapshot {
  private readonly at = process.hrtime.bigint();
  private readonly stats: Map<number, ProgStat>;

  constructor(private readonly pids: readonly number[]) {
    this.stats = new Map(pids.flatMap(programsOf).map((s) => [s.id, s]));
  }

  /** Seconds and per-program deltas from `this` to now. */
  delta(): { seconds: number; progs: Map<number, ProgCost> } {
    const now = new StatsSnapshot(this.pids);
    const progs = new Map<number, ProgCost>();
    for (const [id, s] of now.stats) {
      const b = this.stats.get(id);
      if (!b) continue;
      const events = s.runCnt - b.runCnt;
      const ns = s.runTimeNs - b.runTimeNs;
      progs.set(id, { id, events, ns, nsPerEvent: events > 0 ? ns / events : NaN });
    }
    return { seconds: Number(now.at - this.at) / 1e9, progs };
  }
}

/** The per-CPU `paths` map of process `pid`, summed over CPUs, as the addon gives it; null if it holds none. */
export function pathCountsOf(pid: number): EventPaths | null {
  for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
    let info: string;
    try {
      if (fs.readlinkSync(`/proc/${pid}/fd/${fd}`) !== 'anon_inode:bpf-map') continue;
      info = fs.readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8');
    } catch {
      continue;
    }
    const id = /^map_id:\s*(\d+)/m.exec(info)?.[1];
    if (!id) continue;
    const m = JSON.parse(execFileSync('bpftool', ['-j', 'map', 'show', 'id', id], { encoding: 'utf8' })) as { name?: string; max_entries?: number };
    if (m.name !== 'paths') continue;
    const dump = JSON.parse(execFileSync('bpftool', ['-j', 'map', 'dump', 'id', id], { encoding: 'utf8' })) as
      { formatted?: { key: number; values: { cpu: number; value: number }[] } }[];
    const n = new Array<number>(m.max_entries ?? 0).fill(0);
    for (const e of dump) if (e.formatted) n[e.formatted.key] = e.formatted.values.reduce((s, v) => s + Number(v.value), 0);
    return eventPathsOf(n);
  }
  return null;
}
