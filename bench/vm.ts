// The per-event ratios on another kernel: Debian's 6.12 cloud kernel in qemu under TCG (test/kernels/run-vm-tests
// --bench), where nanoseconds mean little but ratios between programs on the same hooks, in the same guest,
// still say something. The guest and this host run the same measurement: bench/load.c pumps 10 connections and
// bench/variants.c --measure puts each program alone beside the floor (empty programs, attached first):
//   tcptop         the kernel program as shipped (bpf/tcptop.bpf.c)
//   bpftrace-like  bpftrace's program for T3 written in C (bench/bpftrace-like.bpf.c): bpftrace itself is not in
//                  the guest; on this host it runs beside the stand-in, which shows how close the two are
//   add1           one atomic add into a 2-element array, the least a counting program does
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { enableStats, StatsSnapshot } from './bpf-stats';
import { Bpftrace } from './bpftrace';
import { Load } from './load';
import { Attached, clangBpf, run } from './shapes';
import { sleep } from './recorder';
import { notRun, type Row } from './table';

const ROOT = path.resolve(__dirname, '../..');
export const VM_KERNEL = 'linux-image-6.12-cloud-amd64';
/** Events a second the pump is asked for: the guest, emulated, reaches far fewer than this host. */
const VM_RATE = 20_000;
const HOST_RATE = 110_000;
const WINDOW_MS = 3000;
const PASSES = 3;
const LABELS = ['tcptop', 'bpftrace-like', 'add1'] as const;

/** The guest's directory: static programs, the objects, and `run`, which pumps at `rate` and measures. */
export function buildBenchDir(dir: string, rate: number): string {
  const out = path.join(dir, 'vm-bench');
  fs.mkdirSync(out, { recursive: true });
  const clang = (name: string, source: string, defines: string[] = []) => clangBpf(path.join(out, name), path.join(ROOT, source), defines);
  clang('floor.bpf.o', 'bench/floor.bpf.c');
  clang('add1.bpf.o', 'bench/floor.bpf.c', ['-DTCPTOP_BENCH_ADD']);
  clang('tcptop.bpf.o', 'bpf/tcptop.bpf.c');
  clang('bpftrace-like.bpf.o', 'bench/bpftrace-like.bpf.c');
  // static, so that the guest needs nothing but its kernel and busybox
  run('cc', ['-O2', '-static', '-o', path.join(out, 'variants'), path.join(ROOT, 'bench/variants.c'), '-lbpf', '-lelf', '-lz']);
  run('cc', ['-O2', '-static', '-o', path.join(out, 'loadgen'), path.join(ROOT, 'bench/load.c')]);
  fs.writeFileSync(path.join(out, 'run'), `#!/bin/sh
# 10 connections, the floor attached, then the pump while each program is measured alone beside the floor;
# lines for the host to read. The load runs only while the hooks' code stays as it is (bench/variants.c says
# why): a second empty program holds each hook at two programs or more, so that attaching and detaching the
# measured one (from two to three and back) changes a list, not the code that calls it.
mkfifo /tmp/pump /tmp/hold /tmp/hold2
./loadgen 10 < /tmp/pump > /tmp/loadgen.out 2>&1 &
loadgen=$!
exec 3> /tmp/pump
until grep -q ready /tmp/loadgen.out; do sleep 1; done
./variants --measure ${WINDOW_MS} ${PASSES} floor=floor.bpf.o ${LABELS.map((l) => `${l}=${l}.bpf.o`).join(' ')} < /tmp/hold > /tmp/variants.out 3>&- &
variants=$!
exec 4> /tmp/hold
# each wait ends early if variants exits (it failed: its stderr is on the console); the children do not
# keep the other ends' descriptors, so that closing one ends its reader
until grep -q "floor attached" /tmp/variants.out || ! kill -0 $variants 2>/dev/null; do sleep 0.1; done
./variants hold=floor.bpf.o < /tmp/hold2 > /tmp/hold.out 3>&- 4>&- &
holder=$!
exec 5> /tmp/hold2
until grep -q "^attached" /tmp/hold.out || ! kill -0 $holder 2>/dev/null; do sleep 0.1; done
echo "pump ${rate}" >&3
until grep -q measured /tmp/variants.out || ! kill -0 $variants 2>/dev/null; do sleep 0.5; done
exec 3>&-
wait $loadgen
exec 4>&- 5>&-
wait $variants $holder
sed 's/^/@@tcptop-vm-bench /' /tmp/variants.out
`, { mode: 0o755 });
  return out;
}

interface Window {
  pass: number;
  label: string;
  prog: string;
  ns: number;
  floorNs: number;
  events: number;
}

export function parseWindows(text: string): Window[] {
  const out: Window[] = [];
  for (const m of text.matchAll(/^(?:@@tcptop-vm-bench )?window (\d+) (\S+) (\S+) ([\d.]+) ([\d.]+) (\d+)$/gm)) {
    out.push({ pass: Number(m[1]), label: m[2], prog: m[3], ns: Number(m[4]), floorNs: Number(m[5]), events: Number(m[6]) });
  }
  return out;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Per direction: the ratios of each pass (tcptop to the stand-in, and each to the floor), their medians and ranges. */
function ratioFigure(windows: Window[], prog: string): string {
  const of = (label: string, pass: number) => windows.find((w) => w.label === label && w.prog === prog && w.pass === pass);
  const passes = [...new Set(windows.map((w) => w.pass))];
  const per = (f: (pass: number) => number | undefined) => passes.map(f).filter((x): x is number => x !== undefined && Number.isFinite(x));
  const show = (xs: number[]) => (xs.length === 0 ? 'not measured' : `${median(xs).toFixed(2)}x (${Math.min(...xs).toFixed(2)} to ${Math.max(...xs).toFixed(2)})`);
  const vsStandin = per((p) => { const t = of('tcptop', p); const b = of('bpftrace-like', p); return t && b ? t.ns / b.ns : undefined; });
  const overFloor = (label: string) => per((p) => { const w = of(label, p); return w ? w.ns / w.floorNs : undefined; });
  const events = median(windows.filter((w) => w.prog === prog).map((w) => w.events / (WINDOW_MS / 1000)));
  return `tcptop / bpftrace-like ${show(vsStandin)}; over the floor: tcptop ${show(overFloor('tcptop'))}, bpftrace-like ${show(overFloor('bpftrace-like'))}, ` +
    `add1 ${show(overFloor('add1'))}; median of ${passes.length} passes, windows of ${WINDOW_MS / 1000} s, ${Math.round(events).toLocaleString('en-US')} events/s on each program`;
}

function rowsOf(where: string, windows: Window[]): Row[] {
  return (['tp_send', 'tp_recv'] as const).map((prog) => ({
    target: 'vm', what: `${prog === 'tp_send' ? 'send' : 'recv'}, ${where}`, figure: ratioFigure(windows, prog), goal: 'none (ratios across kernels)', result: 'info' as const,
  }));
}

/** variants --measure on this host under the pump: each label alone beside the floor. */
async function measureHost(benchDir: string, loader: string): Promise<Window[]> {
  const load = await Load.start(loader, 10);
  try {
    load.pump(HOST_RATE);
    await sleep(1000);
    const out = await new Promise<string>((resolve, reject) => {
      const child = spawn(path.join(benchDir, 'variants'), ['--measure', String(WINDOW_MS), String(PASSES), 'floor=floor.bpf.o', ...LABELS.map((l) => `${l}=${l}.bpf.o`)], { cwd: benchDir, stdio: ['ignore', 'pipe', 'pipe'] });
      let text = '';
      let err = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => (text += d));
      child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
      child.once('exit', (code) => (code === 0 ? resolve(text) : reject(new Error(`variants --measure exited ${code}: ${err.trim()}`))));
    });
    return parseWindows(out);
  } finally {
    await load.stop();
  }
}

/**
 * How close the stand-in is to bpftrace: each alone beside the floor (attached first), in turn, PASSES times
 * over, under the pump. A program's cost depends on where it is on the hook (the first pays for what the
 * ones after it find warm), so the two never run together.
 */
async function standinRows(benchDir: string, loader: string, log: (line: string) => void): Promise<Row[]> {
  const variants = path.join(benchDir, 'variants');
  const load = await Load.start(loader, 10);
  const floor = await Attached.start(variants, { floor: path.join(benchDir, 'floor.bpf.o') });
  const ns: Record<'real' | 'standin', { send: number[]; recv: number[] }> = { real: { send: [], recv: [] }, standin: { send: [], recv: [] } };
  try {
    load.pump(HOST_RATE);
    const window = async (pid: number, send: number, recv: number, into: { send: number[]; recv: number[] }) => {
      await sleep(300);
      const snap = new StatsSnapshot([pid, floor.pid]);
      await sleep(WINDOW_MS);
      const d = snap.delta().progs;
      into.send.push(d.get(send)?.nsPerEvent ?? NaN);
      into.recv.push(d.get(recv)?.nsPerEvent ?? NaN);
    };
    for (let pass = 0; pass < PASSES; pass++) {
      const bt = await Bpftrace.start(log);
      try {
        await window(bt.pid, bt.send, bt.recv, ns.real);
      } finally {
        await bt.stop();
      }
      const s = await Attached.start(variants, { standin: path.join(benchDir, 'bpftrace-like.bpf.o') });
      try {
        await window(s.pid, s.ids.get('standin.tp_send')!, s.ids.get('standin.tp_recv')!, ns.standin);
      } finally {
        await s.stop();
      }
    }
  } finally {
    await floor.stop();
    await load.stop();
  }
  return (['send', 'recv'] as const).map((dir) => {
    const standin = median(ns.standin[dir]);
    const real = median(ns.real[dir]);
    return {
      target: 'vm', what: `${dir}, bpftrace-like and bpftrace on this host, each alone beside the floor`,
      figure: `${standin.toFixed(0)} / ${real.toFixed(0)} ns = ${(standin / real).toFixed(2)}x (medians of ${PASSES} windows of ${WINDOW_MS / 1000} s each, in turn)`,
      goal: 'none (how close the stand-in is)', result: 'info' as const,
    };
  });
}

export async function benchVm(dir: string, loader: string, log: (line: string) => void): Promise<Row[]> {
  let benchDir: string;
  try {
    benchDir = buildBenchDir(dir, VM_RATE);
  } catch (err) {
    return [notRun('vm', 'ratios in a VM kernel', (err as Error).message)];
  }
  const rows: Row[] = [];
  const restoreStats = enableStats();
  try {
    log('  on this host: each program beside the floor');
    rows.push(...rowsOf('this host', await measureHost(benchDir, loader)));
    log('  on this host: the stand-in and bpftrace itself, in turn');
    rows.push(...(await standinRows(benchDir, loader, log)));
  } catch (err) {
    rows.push(notRun('vm', 'ratios on this host', (err as Error).message));
  } finally {
    restoreStats();
  }
  log(`  in Debian's 6.12 kernel under qemu (TCG): the same, at ${VM_RATE.toLocaleString('en-US')} events/s asked`);
  const consoleFile = path.join(dir, 'vm-console.log');
  const r = spawnSync(path.join(ROOT, 'test/kernels/run-vm-tests'), ['--kernel-package', VM_KERNEL, '--bench', benchDir, '--console', consoleFile, '--timeout', '900'], { encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'] });
  const windows = fs.existsSync(consoleFile) ? parseWindows(fs.readFileSync(consoleFile, 'utf8')) : [];
  if (r.status !== 0 || windows.length === 0) {
    const console = fs.existsSync(consoleFile) ? fs.readFileSync(consoleFile, 'utf8').trim().split('\n').slice(-3).join(' | ') : 'no console';
    rows.push(notRun('vm', "ratios in Debian's 6.12 kernel under qemu", `run-vm-tests exited ${r.status}: ${(r.stderr ?? '').trim().split('\n').slice(-2).join(' ')}; console: ${console}`));
  } else {
    const release = /finished on Linux (\S+)/.exec(r.stderr)?.[1] ?? '6.12';
    rows.push(...rowsOf(`Debian's ${release} cloud kernel under qemu (TCG, 2 vCPUs)`, windows));
  }
  return rows;
}
