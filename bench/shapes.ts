// The load-shape matrix: tcptop's per-event cost on several shapes of load, each judged against references
// measured in the same windows on the same hooks, so that the machine's speed cancels out:
//   floor     empty programs on the same tracepoints (bench/floor.bpf.c), attached first
//   bpftrace  T3's one-liner
// Per shape and direction the row gives tcptop / bpftrace and the path counters' shares over the windows.
// Where a shape misses the target, the kernel program's steps are measured one by one (copies built to stop
// after each step, bench/variants.c loads them), each beside the floor, so the ns above it are explained.
// Then a real HTTP server (node) under ab with keep-alive: requests per second without and with
// `tcptop record`, and the recorder's CPU.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import { formatPathCounts, pathsSince, type EventPaths } from '../src/record/stats';
import { enableStats, pathCountsOf, StatsSnapshot, type ProgCost } from './bpf-stats';
import { Bpftrace } from './bpftrace';
import { buildLoader, ensureCommand, Load } from './load';
import { Recorder, sleep } from './recorder';
import { check, grouped, notRun, type Row } from './table';

/** tcptop's programs may cost at most this share of bpftrace's on every shape. */
export const SHAPE_RATIO = 0.5;
/** Requests per second the real server may lose with the recorder attached. */
export const SERVER_LOSS = 0.03;
const WINDOWS = 3;
const WINDOW_MS = 3000;
const STEP_MS = 2000;
/** The steps are measured in turn this many times over, and their figures averaged. */
const BREAKDOWN_PASSES = 2;
/** Rounds of the real server without and with the recorder, in turn off-on and on-off so that drift cancels. */
const SERVER_ROUNDS = 5;
const PUMP_RATE = 110_000;
const SEND_RATE = 50_000;
const AB_SECONDS = 5;

const ROOT = path.resolve(__dirname, '../..');
const BPF_DIR = path.join(ROOT, 'bpf');

/** The kernel program's steps, as the copies that stop after each (TCPTOP_BENCH_CUT in bpf/tcptop.bpf.c). */
const STEPS = [
  { label: 'cut0', defines: ['-DTCPTOP_BENCH_CUT=0'], what: 'empty program in the same place' },
  { label: 'cut1', defines: ['-DTCPTOP_BENCH_CUT=1'], what: "socket's cookie, its home slot and whose it is" },
  { label: 'cut2', defines: ['-DTCPTOP_BENCH_CUT=2'], what: "slot's atomic add" },
  { label: 'full', defines: [], what: 'path counter (per CPU)' },
  { label: 'lane1', defines: ['-DTCPTOP_BENCH_LANES=1'], what: 'one lane for every CPU instead (what the lanes save where CPUs add to one flow)' },
  { label: 'storage', defines: ['-DTCPTOP_BENCH_NO_HOME'], what: "the socket's storage instead (sk -> cache -> data -> slot), the path of flows away from home" },
  { label: 'plain', defines: ['-DTCPTOP_BENCH_HELPERS'], what: 'helper path instead (bpf_sk_storage_get, entries, add)' },
  { label: 'hash', defines: ['-DTCPTOP_BENCH_HASH'], what: 'a hash by socket pointer instead (the kprobes\' path)' },
  { label: 'add1', defines: ['-DTCPTOP_BENCH_ADD'], source: 'bench/floor.bpf.c', what: 'for reference, one atomic add into a 2-element array, the least a counting program does' },
] as const;

interface Objects {
  loader: string;
  floor: string;
  steps: Map<string, string>;
}

export function run(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${(r.stderr || r.error?.message || '').trim().split('\n').slice(-3).join(' ')}`);
}

/** Compiles a BPF object of this machine's architecture (x86) from `source` into `out`. */
export function clangBpf(out: string, source: string, defines: readonly string[] = []): void {
  run('clang', ['-g', '-O2', '-target', 'bpf', '-mcpu=v3', '-D__TARGET_ARCH_x86', ...defines, '-I', BPF_DIR, '-c', source, '-o', out]);
}

/** Compiles the loader (bench/variants.c) and the floor's object into `dir`. */
function buildFloor(dir: string): { loader: string; floor: string } {
  const loader = path.join(dir, 'variants');
  run('cc', ['-O2', '-o', loader, path.join(ROOT, 'bench/variants.c'), '-lbpf']);
  const floor = path.join(dir, 'floor.bpf.o');
  clangBpf(floor, path.join(ROOT, 'bench/floor.bpf.c'));
  return { loader, floor };
}

/** Compiles the loader and the BPF objects into `dir`. */
function buildObjects(dir: string): Objects {
  const { loader, floor } = buildFloor(dir);
  const steps = new Map<string, string>();
  for (const s of STEPS) {
    const out = path.join(dir, `${s.label}.bpf.o`);
    clangBpf(out, 'source' in s ? path.join(ROOT, s.source) : path.join(BPF_DIR, 'tcptop.bpf.c'), s.defines);
    steps.set(s.label, out);
  }
  return { loader, floor, steps };
}

/**
 * The floor alone (empty programs on tcptop's tracepoints), built into `dir` and attached: whatever is attached
 * after it, tcptop or bpftrace, is not the first program on the hook, which costs more than the others.
 */
export async function startFloor(dir: string): Promise<Attached> {
  const { loader, floor } = buildFloor(dir);
  return Attached.start(loader, { floor });
}

/** BPF objects loaded and attached by bench/variants.c, until stopped. */
export class Attached {
  private constructor(private readonly child: ChildProcess, readonly ids: Map<string, number>) {}

  get pid(): number {
    return this.child.pid!;
  }

  static async start(loader: string, objects: Record<string, string>): Promise<Attached> {
    const { child, out } = await spawnUntil(loader, Object.entries(objects).map(([label, file]) => `${label}=${file}`), /^attached$/m, 'bench/variants.c');
    const ids = new Map<string, number>();
    for (const m of out.matchAll(/^prog (\S+) (\S+) (\d+)$/gm)) ids.set(`${m[1]}.${m[2]}`, Number(m[3]));
    return new Attached(child, ids);
  }

  async stop(): Promise<void> {
    const done = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.stdin!.end();
    await Promise.race([done, sleep(10_000).then(() => this.child.kill('SIGKILL'))]);
  }
}

interface Shape {
  name: string;
  /** Starts the load; resolves to its stop. */
  start(): Promise<() => Promise<void>>;
}

/** Starts `cmd` and resolves once its stdout matches `signal` (with what it printed so far); rejects if it exits first. */
async function spawnUntil(cmd: string, args: string[], signal: RegExp, name = `${path.basename(cmd)} ${args.join(' ')}`): Promise<{ child: ChildProcess; out: string }> {
  const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  await new Promise<void>((resolve, reject) => {
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      if (signal.test(out)) resolve();
    });
    child.once('exit', (code) => reject(new Error(`${name} exited with ${code}: ${err.trim()}`)));
  });
  return { child, out };
}

/** A child process that runs until its stdin closes, once it printed `ready`. */
async function readyChild(cmd: string, args: string[]): Promise<() => Promise<void>> {
  const { child } = await spawnUntil(cmd, args, /ready/);
  return async () => {
    const done = new Promise((resolve) => child.once('exit', resolve));
    child.stdin!.end();
    child.kill('SIGTERM');
    await Promise.race([done, sleep(10_000).then(() => child.kill('SIGKILL'))]);
  };
}

const HTTP_SERVER = `
const http = require('node:http');
const body = Buffer.from('ok\\n');
const s = http.createServer((req, res) => { res.writeHead(200, { 'content-length': body.length }); res.end(body); });
s.keepAliveTimeout = 60000;
s.listen(0, '127.0.0.1', () => console.log('ready ' + s.address().port));
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
`;

/** A node HTTP server with small responses, until stopped; its port. `cpu`: the one CPU it may run on. */
async function httpServer(cpu?: number): Promise<{ port: number; stop: () => Promise<void> }> {
  const node = [process.execPath, '-e', HTTP_SERVER];
  const [cmd, ...args] = cpu === undefined ? node : ['taskset', '-c', String(cpu), ...node];
  const { child, out } = await spawnUntil(cmd, args, /ready \d+\n/, 'the HTTP server');
  return {
    port: Number(/ready (\d+)/.exec(out)![1]),
    stop: async () => {
      const done = new Promise((resolve) => child.once('exit', resolve));
      child.stdin!.end();
      await Promise.race([done, sleep(5000).then(() => child.kill('SIGKILL'))]);
    },
  };
}

/** ab with keep-alive for `seconds`, on CPU `cpu`; requests per second. */
function abRun(port: number, seconds: number, cpu: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn('taskset', ['-c', String(cpu), 'ab', '-q', '-k', '-c', '4', '-t', String(seconds), '-n', '100000000', `http://127.0.0.1:${port}/`], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.resume();
    child.once('exit', () => {
      const m = /Requests per second:\s+([\d.]+)/.exec(out);
      const failed = Number(/Failed requests:\s+(\d+)/.exec(out)?.[1] ?? NaN);
      const taken = Number(/Time taken for tests:\s+([\d.]+)/.exec(out)?.[1] ?? NaN);
      // a run cut short (the server refused or reset connections) measures nothing about the recorder
      if (m && failed === 0 && taken >= seconds * 0.9) resolve(Number(m[1]));
      else reject(new Error(`ab: a run of ${seconds} s did not complete cleanly (${out.trim().split('\n').filter((l) => /Failed|Time taken|Requests per/.test(l)).join('; ') || 'no summary'})`));
    });
  });
}

function shapesOf(dir: string, log: (line: string) => void): Shape[] {
  const loadgen = buildLoader(dir, log);
  const shapesBin = path.join(dir, 'shapes');
  run('cc', ['-O2', '-pthread', '-o', shapesBin, path.join(ROOT, 'bench/shapes.c')]);
  const pumped = (conns: number) => async () => {
    const load = await Load.start(loadgen, conns);
    load.pump(PUMP_RATE);
    return () => load.stop();
  };
  return [
    { name: `pump: 10 connections, send and receive in one thread, ${grouped(PUMP_RATE)} events/s`, start: pumped(10) },
    { name: `one connection, back-to-back sends (${grouped(SEND_RATE)}/s) and a reader thread`, start: () => readyChild(shapesBin, ['stream', String(SEND_RATE)]) },
    { name: `sender and receiver in two processes on CPUs 0 and 1 (${grouped(SEND_RATE)} sends/s)`, start: () => readyChild(shapesBin, ['twoproc', String(SEND_RATE)]) },
    { name: `8 threads of one process sharing 4 connections, 4 reader threads (${grouped(SEND_RATE)} sends/s)`, start: () => readyChild(shapesBin, ['threads', String(SEND_RATE)]) },
    { name: `pump spread over 1,000 connections, ${grouped(PUMP_RATE)} events/s`, start: pumped(1000) },
    {
      name: 'node HTTP server, ab -k -c 4, 3-byte responses',
      start: async () => {
        const server = await httpServer();
        const ab = spawn('ab', ['-q', '-k', '-c', '4', '-t', '3600', '-n', '100000000', `http://127.0.0.1:${server.port}/`], { stdio: 'ignore' });
        return async () => {
          ab.kill('SIGKILL');
          await server.stop();
        };
      },
    },
  ];
}

interface DirCost {
  tcptop: ProgCost;
  bpftrace: ProgCost;
  floor: ProgCost;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Each step of the kernel program alone beside the floor, one window each: ns above the floor, per direction. */
async function stepCosts(objects: Objects, floor: Attached): Promise<Map<string, { send: number; recv: number }>> {
  const above = new Map<string, { send: number; recv: number }>();
  for (let pass = 0; pass < BREAKDOWN_PASSES; pass++) for (const s of STEPS) {
    const a = await Attached.start(objects.loader, { [s.label]: objects.steps.get(s.label)! });
    try {
      await sleep(300);
      const snap = new StatsSnapshot([floor.pid, a.pid]);
      await sleep(STEP_MS);
      const d = snap.delta().progs;
      const ns = (label: string, prog: string) => d.get(label === 'floor' ? floor.ids.get(`floor.${prog}`)! : a.ids.get(`${label}.${prog}`)!)?.nsPerEvent ?? NaN;
      const was = above.get(s.label) ?? { send: 0, recv: 0 };
      above.set(s.label, { send: was.send + (ns(s.label, 'tp_send') - ns('floor', 'tp_send')) / BREAKDOWN_PASSES, recv: was.recv + (ns(s.label, 'tp_recv') - ns('floor', 'tp_recv')) / BREAKDOWN_PASSES });
    } finally {
      await a.stop();
    }
  }
  return above;
}

function breakdownFigure(above: Map<string, { send: number; recv: number }>, dir: 'send' | 'recv', budget: number): string {
  const v = (label: string) => above.get(label)![dir];
  const f = (x: number) => `${x >= 0 ? '+' : ''}${x.toFixed(0)}`;
  const parts = [`empty program here ${f(v('cut0'))}`];
  const last = STEPS.findIndex((s) => s.label === 'full');
  for (let i = 1; i <= last; i++) parts.push(`${STEPS[i].what} ${f(v(STEPS[i].label) - v(STEPS[i - 1].label))}`);
  const others = STEPS.slice(last + 1).map((s) => `${s.what}: ${f(v(s.label))}`);
  return `ns above the floor, each step alone beside it (mean of ${BREAKDOWN_PASSES} windows of ${STEP_MS / 1000} s; ${SHAPE_RATIO}x bpftrace leaves ${budget.toFixed(0)}): ` +
    `${parts.join(', ')} = ${f(v('full'))} in all; ${others.join('; ')}`;
}

/** The shape's rows; with `breakdown`, the steps are measured whether or not the shape meets the target. */
async function measureShape(shape: Shape, objects: Objects, floor: Attached, dir: string, log: (line: string) => void, breakdown: boolean): Promise<Row[]> {
  const stopLoad = await shape.start();
  const rows: Row[] = [];
  try {
    const recorder = await Recorder.start(path.join(dir, 'shape.db'), dir);
    let bpftrace: Bpftrace | undefined;
    const windows: { send: DirCost; recv: DirCost; rate: number }[] = [];
    let paths: EventPaths | null = null;
    try {
      bpftrace = await Bpftrace.start(log);
      await sleep(1500);
      const p0 = pathCountsOf(recorder.pid);
      for (let w = 0; w < WINDOWS; w++) {
        const snap = new StatsSnapshot([recorder.pid, floor.pid, bpftrace.pid]);
        await sleep(WINDOW_MS);
        const d = snap.delta();
        const get = (id: number | undefined, what: string) => {
          const c = id === undefined ? undefined : d.progs.get(id);
          if (!c) throw new Error(`${what} not found`);
          return c;
        };
        const send = { tcptop: get(recorder.program('tp_send'), "tcptop's tp_send"), bpftrace: get(bpftrace.send, "bpftrace's send program"), floor: get(floor.ids.get('floor.tp_send'), 'the floor') };
        const recv = { tcptop: get(recorder.program('tp_recv'), "tcptop's tp_recv"), bpftrace: get(bpftrace.recv, "bpftrace's receive program"), floor: get(floor.ids.get('floor.tp_recv'), 'the floor') };
        windows.push({ send, recv, rate: (send.tcptop.events + recv.tcptop.events) / d.seconds });
      }
      const p1 = pathCountsOf(recorder.pid);
      paths = p0 && p1 ? pathsSince(p1, p0) : null;
    } finally {
      await bpftrace?.stop();
      await recorder.stop().catch(() => recorder.kill());
    }
    const failing: ('send' | 'recv')[] = [];
    const budget = { send: 0, recv: 0 };
    for (const dirName of ['send', 'recv'] as const) {
      const ratios = windows.map((w) => w[dirName].tcptop.nsPerEvent / w[dirName].bpftrace.nsPerEvent);
      const mid = windows[ratios.indexOf(median(ratios))][dirName];
      const ok = median(ratios) <= SHAPE_RATIO;
      budget[dirName] = SHAPE_RATIO * mid.bpftrace.nsPerEvent - mid.floor.nsPerEvent;
      if (!ok) failing.push(dirName);
      const p = paths ? `paths: ${formatPathCounts(dirName, dirName === 'send' ? paths.tx : paths.rx)}` : 'paths: not read';
      rows.push({
        target: 'shape', what: `${dirName}, ${shape.name}`, rate: median(windows.map((w) => w.rate)),
        figure: `${mid.tcptop.nsPerEvent.toFixed(0)} / ${mid.bpftrace.nsPerEvent.toFixed(0)} ns = ${median(ratios).toFixed(2)}x (floor ${mid.floor.nsPerEvent.toFixed(0)} ns, ` +
          `so ${SHAPE_RATIO}x bpftrace leaves ${(SHAPE_RATIO * mid.bpftrace.nsPerEvent - mid.floor.nsPerEvent).toFixed(0)} ns above it; ` +
          `${WINDOWS} windows of ${WINDOW_MS / 1000} s, all ${Math.min(...ratios).toFixed(2)} to ${Math.max(...ratios).toFixed(2)}); ${p}`,
        goal: `<= ${SHAPE_RATIO}x bpftrace`, result: check(ok),
      });
    }
    if (failing.length > 0 || breakdown) {
      log(failing.length > 0 ? '  it misses the target: each step of the kernel program alone beside the floor' : '  each step of the kernel program alone beside the floor');
      const above = await stepCosts(objects, floor);
      for (const dirName of failing.length > 0 ? failing : (['send', 'recv'] as const)) rows.push({ target: 'shape info', what: `${dirName}, ${shape.name}`, figure: breakdownFigure(above, dirName, budget[dirName]), goal: 'none (where the ns go)', result: 'info' });
    }
  } finally {
    await stopLoad();
  }
  return rows;
}

/** The user-visible figure: the real server's requests per second without and with the recorder. */
async function serverRows(dir: string, log: (line: string) => void): Promise<Row[]> {
  // the server on one CPU and ab on the other, so that rounds do not differ by where the scheduler put them
  const server = await httpServer(1);
  const ab = (seconds: number) => abRun(server.port, seconds, 0);
  try {
    await ab(2); // the server's code gets compiled before anything is measured
    const off: number[] = [];
    const on: number[] = [];
    const cpus: number[] = [];
    let cpu = '';
    const withRecorder = async () => {
      const recorder = await Recorder.start(path.join(dir, 'server.db'), dir);
      try {
        await sleep(1000);
        const snap = new StatsSnapshot([recorder.pid]);
        const cpu0 = recorder.cpuSeconds();
        const rate = await ab(AB_SECONDS);
        const d = snap.delta();
        const progNs = [...d.progs.values()].reduce((sum, p) => sum + p.ns, 0);
        const proc = ((recorder.cpuSeconds() - cpu0) / d.seconds) * 100;
        const prog = (progNs / 1e9 / d.seconds) * 100;
        cpus.push(proc + prog);
        cpu = `${(proc + prog).toFixed(1)}% of one CPU (process ${proc.toFixed(1)}% + programs ${prog.toFixed(1)}%)`;
        return rate;
      } finally {
        await recorder.stop().catch(() => recorder.kill());
      }
    };
    for (let round = 0; round < SERVER_ROUNDS; round++) {
      if (round % 2 === 0) {
        off.push(await ab(AB_SECONDS));
        on.push(await withRecorder());
      } else {
        on.push(await withRecorder());
        off.push(await ab(AB_SECONDS));
      }
      log(`  round ${round + 1}: ${grouped(off[round])} requests/s without, ${grouped(on[round])} with the recorder`);
    }
    // each round's own pair, so that the machine's drift from round to round does not count as the recorder's
    const losses = on.map((x, i) => 1 - x / off[i]);
    const loss = median(losses);
    return [{
      target: 'server', what: `node HTTP server on CPU 1 under ab -k -c 4 on CPU 0, ${AB_SECONDS} s runs, without and with tcptop record, ${SERVER_ROUNDS} rounds (off-on, on-off, ...)`,
      figure: `${grouped(median(off))} / ${grouped(median(on))} requests/s (median round ${(loss * 100).toFixed(1)}% lost, all ${losses.map((l) => `${(l * 100).toFixed(1)}%`).join(', ')}); ` +
        `recorder ${median(cpus).toFixed(1)}% of one CPU in the median round (last: ${cpu})`,
      goal: `loss <= ${SERVER_LOSS * 100}%`, result: check(loss <= SERVER_LOSS),
    }];
  } finally {
    await server.stop();
  }
}

export async function benchShapes(dir: string, log: (line: string) => void, breakdown = false): Promise<Row[]> {
  const missing = ensureCommand('ab', 'apache2-utils', log);
  let objects: Objects;
  try {
    objects = buildObjects(dir);
  } catch (err) {
    return [notRun('shape', 'load-shape matrix', (err as Error).message, `<= ${SHAPE_RATIO}x bpftrace`)];
  }
  const restoreStats = enableStats();
  try {
    return [...(await matrixRows(objects, missing, dir, log, breakdown)), ...(await realServerRows(missing, dir, log))];
  } finally {
    restoreStats();
  }
}

async function matrixRows(objects: Objects, missing: string | null, dir: string, log: (line: string) => void, breakdown: boolean): Promise<Row[]> {
  const rows: Row[] = [];
  // the floor is attached first, before the recorder and bpftrace, and stays for the whole matrix
  const floor = await Attached.start(objects.loader, { floor: objects.floor });
  try {
    for (const shape of shapesOf(dir, log)) {
      if (missing && shape.name.includes('ab ')) {
        rows.push(notRun('shape', shape.name, missing, `<= ${SHAPE_RATIO}x bpftrace`));
        continue;
      }
      log(`load shape: ${shape.name}`);
      try {
        rows.push(...(await measureShape(shape, objects, floor, dir, log, breakdown)));
      } catch (err) {
        rows.push(notRun('shape', shape.name, (err as Error).message, `<= ${SHAPE_RATIO}x bpftrace`));
      }
    }
  } finally {
    await floor.stop();
  }
  return rows;
}

async function realServerRows(missing: string | null, dir: string, log: (line: string) => void): Promise<Row[]> {
  log('the real server: requests per second without and with the recorder');
  try {
    return missing ? [notRun('server', 'node HTTP server under ab', missing)] : await serverRows(dir, log);
  } catch (err) {
    return [notRun('server', 'node HTTP server under ab', (err as Error).message, `loss <= ${SERVER_LOSS * 100}%`)];
  }
}
