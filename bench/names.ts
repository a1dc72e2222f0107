// What cgroups and names cost the recorder: 10,000 flows in 500 cgroups to 1,000 remote addresses, written frame
// after frame as the recorder writes them, without and with the cgroup paths and the name lookups. A synthetic
// drive, in a child process with --expose-gc per run: the cgroup tree is 500 directories made under a temporary
// directory (walked as the cgroup2 mount is, by inode number), and reverse DNS is a stand-in that answers each
// lookup after 1 ms; the writer, the cgroup cache and the lookups are the recorder's own.
// And T1 with the flow's cgroup noted and not: tcptop record under the kernel bench's load, in alternating windows.
import Database from 'better-sqlite3';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { CaptureHeader } from '../src/capture/meta';
import { flowKeyString, type FlowKey, type FrameFlows, type FrameInput, type KeyedFlow } from '../src/capture/types';
import { CaptureWriter } from '../src/capture/writer';
import { CgroupPaths } from '../src/record/cgroups';
import { NameLookups } from '../src/record/names';
import { measure, MIN_RATE, RATE } from './kernel';
import { kernelBenchSetup, Load } from './load';
import { Recorder, runCleanups, sleep } from './recorder';
import { BENCH_HEADER } from './report';
import { check, formatTable, grouped, notRun, type Row } from './table';

const FLOWS = 10_000;
const CGROUPS = 500;
const ADDRESSES = 1_000;
const FRAMES = 30;
const FRAME_MS = 100;

interface RunResult {
  cpuSeconds: number;
  heapMb: number;
  rssMb: number;
  cgroupRows: number;
  names: number;
  walks: number;
}

const HEADER: CaptureHeader = { ...BENCH_HEADER, commandLine: ['node', 'bench/names.js'] };

async function run(file: string, withBoth: boolean): Promise<RunResult> {
  const gc = (globalThis as { gc?: () => void }).gc!;
  const tree = fs.mkdtempSync(path.join(os.tmpdir(), 'tcptop-cgroups-'));
  const ids: number[] = [];
  for (let i = 0; i < CGROUPS; i++) {
    const dir = path.join(tree, `slice-${i % 10}.slice`, `svc-${i}.service`);
    fs.mkdirSync(dir, { recursive: true });
    ids.push(Number(fs.statSync(dir).ino));
  }
  const cgroups = new CgroupPaths(tree);
  const names = withBoth ? new NameLookups({ hosts: '', perSecond: 1_000_000, inFlight: 64,
    reverse: (addr) => new Promise((r) => setTimeout(() => r([`host-${addr.replace(/\./g, '-')}.example`]), 1)) }) : null;
  const w = CaptureWriter.create(file, HEADER, { force: true, cgroupPaths: withBoth ? (x) => cgroups.paths(x) : undefined });
  const flows: KeyedFlow[] = Array.from({ length: FLOWS }, (_, n) => {
    const key: FlowKey = { pid: 1000 + (n % 50), comm: 'svc', family: 4, laddr: '10.0.0.5', lport: 20_000 + n,
      raddr: `10.1.${(n % ADDRESSES) >> 8}.${(n % ADDRESSES) & 255}`, rport: 443, cgroup: ids[n % CGROUPS] };
    return { ...key, id: flowKeyString(key) };
  });
  const columns: FrameFlows = { count: FLOWS, flows, rx: new Float64Array(FLOWS).fill(1_500), tx: new Float64Array(FLOWS).fill(400) };
  gc();
  const cpu0 = process.cpuUsage();
  for (let f = 1; f <= FRAMES; f++) {
    const frame: FrameInput = { wallUs: HEADER.startWallUs + f * 1e6, monoUs: f * 1e6, intervalUs: 1e6,
      loadavg: { load1: 1, load5: 1, load15: 1, running: 1, tasks: 200, lastPid: 1, raw: '1.00 1.00 1.00 1/200 1' },
      lost: { events: 0, rxBytes: 0, txBytes: 0 } };
    w.append(frame, columns);
    if (names) {
      // as the recorder does after each frame
      w.addNames(names.take());
      for (let i = 0; i < columns.count; i++) names.note(columns.flows[i].raddr);
    }
    await new Promise((r) => setTimeout(r, FRAME_MS));
  }
  const cpu = process.cpuUsage(cpu0);
  gc();
  const mem = process.memoryUsage();
  const result = { cpuSeconds: (cpu.user + cpu.system) / 1e6, heapMb: mem.heapUsed / 1e6, rssMb: mem.rss / 1e6,
    cgroupRows: 0, names: 0, walks: cgroups.walks };
  names?.close();
  w.close(true);
  fs.rmSync(tree, { recursive: true, force: true });
  const Database = (await import('better-sqlite3')).default;
  const db = new Database(file, { readonly: true });
  result.cgroupRows = Number(db.prepare('SELECT count(*) FROM cgroup').pluck().get());
  result.names = Number(db.prepare('SELECT count(*) FROM name').pluck().get());
  db.close();
  return result;
}

export function benchCgroupsNames(dir: string): Row {
  const what = `recorder writing ${grouped(FLOWS)} flows in ${CGROUPS} cgroups to ${grouped(ADDRESSES)} addresses, ${FRAMES} frames (synthetic)`;
  const one = (mode: string): RunResult | string => {
    const file = path.join(dir, `names-${mode}.db`);
    const out = spawnSync(process.execPath, ['--expose-gc', __filename, file, mode], { encoding: 'utf8' });
    fs.rmSync(file, { force: true });
    return out.status === 0 ? (JSON.parse(out.stdout) as RunResult) : out.stderr.trim().split('\n').pop() ?? 'failed';
  };
  const plain = one('plain');
  const both = one('both');
  if (typeof plain === 'string' || typeof both === 'string') {
    return { target: 'names', what, figure: `not run: ${typeof plain === 'string' ? plain : both}`, goal: '', result: 'FAIL' };
  }
  return {
    target: 'names', what,
    figure: `CPU ${plain.cpuSeconds.toFixed(2)} s without cgroups and names, ${both.cpuSeconds.toFixed(2)} s with `
      + `(+${(both.cpuSeconds - plain.cpuSeconds).toFixed(2)} s); heap ${plain.heapMb.toFixed(1)} / ${both.heapMb.toFixed(1)} MB, `
      + `RSS ${plain.rssMb.toFixed(0)} / ${both.rssMb.toFixed(0)} MB; ${both.cgroupRows} cgroups stored (${both.walks} walk), ${both.names} names`,
    goal: 'none', result: 'info',
  };
}

/** Pairs of windows, one recorder with the cgroup noted and one without in each, their order alternating (ABBA). */
const T1_PAIRS = 4;
const T1_WINDOW_MS = 6000;
const T1_SETTLE_MS = 2000;
/** How far apart the two medians may be and still count as T1 not moving. */
export const CGROUP_T1_SPREAD = 0.05;

/** Required before `tcptop record`: the addon's open() then loads the programs with the cgroup helper switched off. */
function noCgroupPreload(): string {
  // the module '#bpf' resolves to (package.json "imports"), from dist/bench
  const addon = path.resolve(__dirname, '../../bpf/index.js');
  return `'use strict';
const id = require.resolve(${JSON.stringify(addon)});
const bpf = require(id);
require.cache[id].exports = { ...bpf, open: (o) => bpf.open({ ...o, recordCgroup: false }) };
`;
}

/**
 * T1 with and without the once-per-flow cgroup helper: tcptop record (one at a time) over the kernel bench's 10
 * connections pumped at RATE, in windows alternating between a recorder that notes each flow's cgroup and one whose
 * programs were loaded with the helper off. The load's flows in each capture show which one ran.
 */
export async function benchCgroupT1(dir: string, log: (line: string) => void): Promise<Row[]> {
  const what = (dir: string) => `${dir}, 10 connections, flow cgroup noted vs not (${T1_PAIRS * 2} alternating windows of ${T1_WINDOW_MS / 1000} s)`;
  const cleanup: (() => Promise<void> | void)[] = [];
  try {
    const { bin, restore } = kernelBenchSetup(dir, log);
    cleanup.push(restore);
    const load = await Load.start(bin, 10);
    cleanup.push(() => load.stop());
    load.pump(RATE);
    const off = path.join(dir, 'no-cgroup-preload.js');
    fs.writeFileSync(off, noCgroupPreload());
    const windows = { on: [] as Cost[], off: [] as Cost[] };
    const noted = { on: [] as number[], off: [] as number[] };
    for (let pair = 0; pair < T1_PAIRS; pair++) {
      for (const mode of pair % 2 === 0 ? (['on', 'off'] as const) : (['off', 'on'] as const)) {
        const file = path.join(dir, `t1-cgroup-${mode}-${pair}.db`);
        const r = await Recorder.start(file, dir, [], mode === 'off' ? [off] : []);
        cleanup.push(() => r.kill());
        await sleep(T1_SETTLE_MS);
        const m = await measure(r, T1_WINDOW_MS);
        await r.stop();
        windows[mode].push(m.cost);
        noted[mode].push(loadFlowsWithCgroup(file, load.pids));
        log(`  cgroup ${mode}: send ${m.cost.send.nsPerEvent.toFixed(1)}, recv ${m.cost.recv.nsPerEvent.toFixed(1)} ns/event, ${grouped(m.cost.rate)} events/s`);
      }
    }
    // the switch did what it says: the load's 20 flows (two ends of 10) carry a cgroup id only when it was on
    const switched = noted.on.every((n) => n === 20) && noted.off.every((n) => n === 0);
    const rate = Math.min(...[...windows.on, ...windows.off].map((c) => c.rate));
    return (['send', 'recv'] as const).map((d) => {
      const on = windows.on.map((c) => c[d].nsPerEvent);
      const offNs = windows.off.map((c) => c[d].nsPerEvent);
      const x = median(on) / median(offNs) - 1;
      return {
        target: 'T1', what: what(d), rate,
        figure: `${median(on).toFixed(1)} ns/event noted (windows ${range(on)}), ${median(offNs).toFixed(1)} not (${range(offNs)}): ` +
          `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)}% medians` +
          `${switched ? '' : `; the switch failed: load flows with a cgroup id ${noted.on.join('/')} noted, ${noted.off.join('/')} not`}` +
          `${rate >= MIN_RATE ? '' : ` (load ${grouped(rate)}/s < ${grouped(MIN_RATE)}/s)`}`,
        goal: `medians within ${CGROUP_T1_SPREAD * 100}%`,
        result: check(Math.abs(x) <= CGROUP_T1_SPREAD && switched && rate >= MIN_RATE),
      };
    });
  } catch (err) {
    return [notRun('T1', what('send and recv'), (err as Error).message, `medians within ${CGROUP_T1_SPREAD * 100}%`)];
  } finally {
    await runCleanups(cleanup);
  }
}

type Cost = Awaited<ReturnType<typeof measure>>['cost'];

/** The load generator's flows in a capture that have a cgroup id. */
function loadFlowsWithCgroup(file: string, pids: readonly number[]): number {
  const db = new Database(file, { readonly: true });
  try {
    return Number(db.prepare(`SELECT count(*) FROM flow WHERE cgroup != 0 AND pid IN (${pids.map(() => '?').join(', ')})`).pluck().get(...pids));
  } finally {
    db.close();
  }
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

function range(xs: readonly number[]): string {
  return `${Math.min(...xs).toFixed(1)} to ${Math.max(...xs).toFixed(1)}`;
}

if (require.main === module && process.argv[2] === '--t1') {
  // node dist/bench/names.js --t1: this row alone
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tcptop-bench-'));
  benchCgroupT1(dir, (l) => process.stdout.write(`${l}\n`)).then((rows) => {
    process.stdout.write(`${formatTable(rows)}\n`);
    fs.rmSync(dir, { recursive: true, force: true });
  }, (err) => {
    process.stderr.write(`${(err as Error).stack}\n`);
    process.exitCode = 1;
  });
} else if (require.main === module) {
  run(process.argv[2], process.argv[3] === 'both').then((r) => process.stdout.write(`${JSON.stringify(r)}\n`), (err) => {
    process.stderr.write(`${(err as Error).stack}\n`);
    process.exit(1);
  });
}
