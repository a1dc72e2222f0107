// Targets 1 to 5 and the real recording of target 6: tcptop record under loopback load, measured by the
// kernel's BPF statistics and /proc. The scenarios, in order, with one recorder (R1) throughout:
//   A   10 connections pumped at RATE: per-event cost (T1, shown), the recorder's CPU share alone, memory (T4)
//   T3  the same with the bpftrace one-liner attached too: both programs' cost on the same events (T3), and both
//       tools' whole CPU, process and programs, in the same windows (T4's judged ratio)
// The floor (empty programs on the same tracepoints) is attached before R1 and stays through C, so that neither
// tcptop nor bpftrace is the first program on the hook, which costs the first 20 to 30 ns more.
//   B   + 1,000 connections that each moved bytes (their 2,000 flows are in the table), load still on the 10 (T2)
//   B'  the load spread round-robin over the 1,000 instead (info)
//   C   50,000 connections instead of the 1,000 (T2); C' the load spread over them (info; T5's 50,000-flow figure)
//   T2's reference: the 10 connections alone again, measured just before B, between B and C, and after C
// then a second recorder (R2) over 5,000 connections all moving bytes in every interval: 10,000 flows per frame
// (T5), and its capture is the real recording of T6; then a third (R3) through a storm of short connections.
import Database from 'better-sqlite3';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { addPaths, formatPathCounts, pathsSince, type EventPaths } from '../src/record/stats';
import { enableStats, pathCountsOf, StatsSnapshot, type ProgCost } from './bpf-stats';
import { Bpftrace } from './bpftrace';
import { buildLoader, ensureCommand, Load } from './load';
import { monoUs, processCpuSeconds, Recorder, runCleanups, sleep, type IntervalTiming } from './recorder';
import { SHAPE_RATIO, startFloor, type Attached } from './shapes';
import { check, grouped, notRun, type Row } from './table';

/** Send + receive events per second the load generator is asked for; the targets need at least MIN_RATE. */
export const RATE = 110_000;
export const MIN_RATE = 100_000;
export const T2_SPREAD = 0.15;
/** The same ratio as the load-shape matrix's (the pump is one of its shapes). */
export const T3_RATIO = SHAPE_RATIO;
/** T3 is measured in this many windows of T3_WINDOW_MS, one after another, and judged on the median. */
const T3_WINDOWS = 5;
const T3_WINDOW_MS = 4000;
/**
 * The whole recorder (its process, writing the capture, and its programs) may cost at most as much CPU as the
 * bpftrace one-liner that only sums bytes in the kernel, in the same windows. Absolute shares move with the
 * kernel build (each event's cost does); the ratio does not.
 */
export const T4_CPU_RATIO = 1;
export const T4_RSS_MB = 100;
/** T1 and T4 are measured over this many windows of T4_WINDOW_MS; T4 shows their spread. */
const T4_WINDOWS = 4;
const T4_WINDOW_MS = 5000;
export const T5_MAX_MS = 20;
/** The storm: new connections a second, each from another client address, and for how long. */
const STORM_RATE = 3000;
const STORM_SECONDS = 20;
/** Intervals after the 10,000 flows appear that T5 leaves to the info rows (see benchKernel). */
const WARM_UP = 4;

export interface KernelBench {
  rows: Row[];
  /** The capture R2 made: T6 measures it. */
  realCapture?: { file: string; connections: number; flows: number; frames: number };
}

interface Cost {
  seconds: number;
  rate: number;
  send: ProgCost;
  recv: ProgCost;
}

/** The cost of the recorder's send and receive programs over `ms` from now. */
export async function measure(r: Recorder, ms: number, extra: number[] = []): Promise<{ cost: Cost; all: Map<number, ProgCost>; paths: EventPaths | null }> {
  const p0 = pathCountsOf(r.pid);
  const snap = new StatsSnapshot([r.pid, ...extra]);
  await sleep(ms);
  const d = snap.delta();
  const p1 = pathCountsOf(r.pid);
  const send = d.progs.get(r.program('tp_send') ?? -1);
  const recv = d.progs.get(r.program('tp_recv') ?? -1);
  if (!send || !recv) throw new Error(`the recorder's tp_send/tp_recv programs were not found (it loaded ${[...r.programs.values()].join(', ')})`);
  return { cost: { seconds: d.seconds, rate: (send.events + recv.events) / d.seconds, send, recv }, all: d.progs, paths: p0 && p1 ? pathsSince(p1, p0) : null };
}

/** The window's share of events that took the shortcut, for a row's figure. */
function hits(m: { paths: EventPaths | null }, dir: 'send' | 'recv'): string {
  if (!m.paths) return '; paths not read';
  const p = dir === 'send' ? m.paths.tx : m.paths.rx;
  return `; paths: ${formatPathCounts(dir, p)}`;
}

const ns = (c: ProgCost) => `${c.nsPerEvent.toFixed(1)} ns/event`;
const pct = (x: number) => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)}%`;

function loadOk(rate: number): string {
  return rate >= MIN_RATE ? '' : ` (load ${grouped(rate)}/s < ${grouped(MIN_RATE)}/s)`;
}

/** A recorder's share of one CPU over a measured window: its process's CPU time, and its programs' kernel time. */
function cpuShare(cpuSeconds: number, m: Awaited<ReturnType<typeof measure>>): { total: number; figure: string } {
  const progNs = [...m.all.values()].reduce((sum, p) => sum + p.ns, 0);
  const procPct = (cpuSeconds / m.cost.seconds) * 100;
  const progPct = (progNs / 1e9 / m.cost.seconds) * 100;
  const total = procPct + progPct;
  return { total, figure: `${total.toFixed(2)}% of one CPU (process ${procPct.toFixed(2)}% + programs ${progPct.toFixed(2)}%)` };
}

/** Two windows' costs as one: their events and time added up. */
function pooled(a: Cost, b: Cost): Cost {
  const add = (x: ProgCost, y: ProgCost): ProgCost => ({ id: x.id, events: x.events + y.events, ns: x.ns + y.ns, nsPerEvent: (x.ns + y.ns) / (x.events + y.events) });
  const seconds = a.seconds + b.seconds;
  return { seconds, rate: (a.rate * a.seconds + b.rate * b.seconds) / seconds, send: add(a.send, b.send), recv: add(a.recv, b.recv) };
}

/**
 * T2: the cost with n more connections in the table against the 10 connections alone in the windows just before
 * and just after (pooled), so that the machine's drift over the minute between T1 and here does not count as the
 * table's; the figure against T1 is shown too.
 */
function flatRows(label: string, ref: Cost, t1: Cost, c: Cost): Row[] {
  return (['send', 'recv'] as const).map((dir) => {
    const x = c[dir].nsPerEvent / ref[dir].nsPerEvent - 1;
    return {
      target: 'T2', what: `${dir}, ${label}`, rate: c.rate,
      figure: `${ns(c[dir])} (${pct(x)} vs 10 alone around it, ${ns(ref[dir])}; ${pct(c[dir].nsPerEvent / t1[dir].nsPerEvent - 1)} vs T1)${loadOk(c.rate)}`,
      goal: `within ${T2_SPREAD * 100}% of 10-connection figure`,
      result: check(Math.abs(x) <= T2_SPREAD && c.rate >= MIN_RATE && ref.rate >= MIN_RATE),
    };
  });
}

function spreadRows(label: string, ref: Cost, c: Cost): Row[] {
  return (['send', 'recv'] as const).map((dir) => ({
    target: 'T2 info', what: `${dir}, load spread over ${label}`, rate: c.rate,
    figure: `${ns(c[dir])} (${pct(c[dir].nsPerEvent / ref[dir].nsPerEvent - 1)} vs 10)`, goal: 'none (cold per-socket state)', result: 'info' as const,
  }));
}

/** R3: the storm row (see benchKernel). */
async function storm(bin: string, dir: string, cleanup: (() => Promise<void> | void)[]): Promise<Row> {
  const file = path.join(dir, 'storm.db');
  const recorder = await Recorder.start(file, dir);
  cleanup.push(() => recorder.kill());
  const stormer = await Load.start(bin, 1);
  cleanup.push(() => stormer.stop());
  await sleep(2000);
  const before = recorder.memory();
  const cpu0 = recorder.cpuSeconds();
  const [made, m] = await Promise.all([stormer.storm(STORM_RATE, STORM_SECONDS), measure(recorder, STORM_SECONDS * 1000)]);
  const cpu1 = recorder.cpuSeconds();
  const after = recorder.memory();
  await sleep(1500);
  await stormer.stop();
  const timings = await recorder.stop();
  // the storm's own flows: whatever else the machine did meanwhile is recorded too
  const pid = stormer.pids[0];
  const db = new Database(file, { readonly: true });
  const flows = Number(db.prepare('SELECT count(*) FROM flow WHERE pid = ?').pluck().get(pid));
  const bytes = db.prepare('SELECT coalesce(sum(rx_bytes), 0) rx, coalesce(sum(tx_bytes), 0) tx FROM flow_sample WHERE pid = ?').get(pid) as { rx: number; tx: number };
  const lost = Number(db.prepare('SELECT coalesce(sum(lost_events), 0) FROM frame').pluck().get());
  db.close();
  // each connection: two ends, each a flow of its own that received and sent 64 bytes
  const want = 2 * made * 64;
  const exact = flows === 2 * made && bytes.rx === want && bytes.tx === want && lost === 0;
  const cpu = cpuShare(cpu1 - cpu0, m);
  const worst = Math.max(...timings.map((t) => t.drainMs + t.appendMs));
  return {
    target: 'storm', what: `recorder, ${grouped(STORM_RATE)} new connections a second for ${STORM_SECONDS} s, each from another client`,
    figure: `${grouped(made)} connections: ${grouped(flows)} flows, rx ${grouped(bytes.rx)} / tx ${grouped(bytes.tx)} bytes` +
      ` (${exact ? 'exact' : `want ${grouped(2 * made)} flows and ${grouped(want)} bytes each way`}), ${grouped(lost)} events lost;` +
      ` CPU ${cpu.figure},` +
      ` RSS ${before.rssMb.toFixed(0)} MB before, ${after.rssMb.toFixed(0)} MB after (peak ${after.peakMb.toFixed(0)}), worst interval ${worst.toFixed(1)} ms`,
    goal: 'every connection, bytes exact, none lost',
    result: check(exact && made >= 0.9 * STORM_RATE * STORM_SECONDS),
  };
}

function timingFigure(ts: IntervalTiming[]): string {
  const total = ts.map((t) => t.drainMs + t.appendMs);
  const worst = ts[total.indexOf(Math.max(...total))];
  const sorted = [...total].sort((a, b) => a - b);
  return `max ${(worst.drainMs + worst.appendMs).toFixed(1)} ms (drain ${worst.drainMs.toFixed(1)} + rows ${worst.insertMs.toFixed(1)} + commit ${(worst.appendMs - worst.insertMs).toFixed(1)}; ` +
    `CPU ${worst.cpuMs.toFixed(1)} ms), ` +
    `median ${sorted[Math.floor(sorted.length / 2)].toFixed(1)} ms, ${ts.length} intervals of >= ${grouped(Math.min(...ts.map((t) => t.flows)))} flows`;
}

function lostEvents(file: string): number {
  const db = new Database(file, { readonly: true });
  try {
    return Number(db.prepare('SELECT coalesce(sum(lost_events), 0) FROM frame').pluck().get());
  } finally {
    db.close();
  }
}

export async function benchKernel(dir: string, log: (line: string) => void): Promise<KernelBench> {
  const rows: Row[] = [];
  const cleanup: (() => Promise<void> | void)[] = [];
  const result: KernelBench = { rows };
  try {
    if (process.getuid?.() !== 0) throw new Error('needs root (BPF programs and their statistics)');
    const noBpftool = ensureCommand('bpftool', 'bpftool', log);
    if (noBpftool) throw new Error(noBpftool);
    cleanup.push(enableStats());
    const bin = buildLoader(dir, log);

    // A recorder, then connections carrying the load while it records; both stopped by the cleanup if a step fails.
    const recording = async (file: string, connections: number) => {
      const recorder = await Recorder.start(file, dir);
      cleanup.push(() => recorder.kill());
      const load = await Load.start(bin, connections);
      cleanup.push(() => load.stop());
      load.pump(RATE);
      return { recorder, load };
    };

    let floor: Attached | undefined;
    try {
      floor = await startFloor(dir);
      cleanup.push(() => floor?.stop());
    } catch (err) {
      log(`  no floor (${(err as Error).message}): tcptop is the first program on the hook`);
    }
    const floorNs = (m: { all: Map<number, ProgCost> }, dir: 'send' | 'recv') => {
      const c = floor && m.all.get(floor.ids.get(`floor.tp_${dir}`) ?? -1);
      return c ? `, floor ${c.nsPerEvent.toFixed(1)} ns attached first` : ', no floor attached';
    };

    log('R1: tcptop record, 10 connections pumped');
    const { recorder: r1, load: hot } = await recording(path.join(dir, 'r1.db'), 10);
    await sleep(3000);

    // A: 10 connections, in T4_WINDOWS windows: T1 and T4 over all of them, T4's spread over each
    const parts: { m: Awaited<ReturnType<typeof measure>>; cpu: ReturnType<typeof cpuShare> }[] = [];
    for (let w = 0; w < T4_WINDOWS; w++) {
      const cpu0 = r1.cpuSeconds();
      const m = await measure(r1, T4_WINDOW_MS);
      parts.push({ m, cpu: cpuShare(r1.cpuSeconds() - cpu0, m) });
    }
    const mem = r1.memory();
    const a = { cost: parts.map((p) => p.m.cost).reduce(pooled), paths: parts.map((p) => p.m.paths).reduce((x, y) => (x && y ? addPaths(x, y) : null)) };
    const base = a.cost;
    for (const dir of ['send', 'recv'] as const) {
      rows.push({ target: 'T1', what: `${dir}, 10 connections, recording`, rate: base.rate, figure: `${ns(base[dir])}${floor ? ' (floor attached first)' : ''}${hits(a, dir)}${loadOk(base.rate)}`,
        goal: 'none: ns differ by kernel build (the shape rows judge against the floor and bpftrace)', result: 'info' });
    }
    const cpuAll = parts.map((p) => p.cpu.total);
    const cpuMean = cpuAll.reduce((x, y) => x + y, 0) / cpuAll.length;
    const cpuMid = [...parts].sort((x, y) => x.cpu.total - y.cpu.total)[Math.floor(parts.length / 2)].cpu;
    const t4Cpu = `${cpuMean.toFixed(2)}% of one CPU over ${T4_WINDOWS} windows of ${T4_WINDOW_MS / 1000} s (median window ${cpuMid.figure}; all ${Math.min(...cpuAll).toFixed(2)} to ${Math.max(...cpuAll).toFixed(2)}%)`;
    rows.push(
      { target: 'T4', what: 'recorder resident memory', rate: base.rate, figure: `peak ${mem.peakMb.toFixed(0)} MB (now ${mem.rssMb.toFixed(0)} MB)`,
        goal: `< ${T4_RSS_MB} MB`, result: check(mem.peakMb < T4_RSS_MB) },
    );
    log(`  send ${ns(base.send)}, recv ${ns(base.recv)}, ${grouped(base.rate)} events/s; CPU ${cpuMean.toFixed(2)}%, peak RSS ${mem.peakMb.toFixed(0)} MB`);

    // T3: the bpftrace one-liner on the same events, in T3_WINDOWS windows. The row is judged on the median window,
    // so a few seconds of interference from elsewhere on the machine do not decide it, and shows all the ratios' range.
    const t3: Row[] = [];
    let t4: Row = notRun('T4', 'recorder CPU against bpftrace\'s, 1 s interval', 'bpftrace did not run', `<= ${T4_CPU_RATIO}x`);
    try {
      const bt = await Bpftrace.start(log);
      const windows: Awaited<ReturnType<typeof measure>>[] = [];
      // T4: each window's CPU of the whole recorder (process and programs) against bpftrace's (process and programs)
      const cpuRatios: number[] = [];
      try {
        await sleep(2000);
        for (let i = 0; i < T3_WINDOWS; i++) {
          const ours0 = r1.cpuSeconds();
          const theirs0 = processCpuSeconds(bt.pid);
          const m = await measure(r1, T3_WINDOW_MS, floor ? [bt.pid, floor.pid] : [bt.pid]);
          windows.push(m);
          const progSeconds = (ids: number[]) => ids.reduce((sum, id) => sum + (m.all.get(id)?.ns ?? 0), 0) / 1e9;
          const ours = r1.cpuSeconds() - ours0 + progSeconds([...r1.programs.keys()]);
          const theirs = processCpuSeconds(bt.pid) - theirs0 + progSeconds([bt.send, bt.recv]);
          cpuRatios.push(ours / theirs);
        }
      } finally {
        await bt.stop();
      }
      const mid = [...cpuRatios].sort((x, y) => x - y)[Math.floor(cpuRatios.length / 2)];
      t4 = {
        target: 'T4', what: 'recorder CPU (process and programs) against bpftrace\'s one-liner (process and programs), 1 s interval', rate: base.rate,
        figure: `${mid.toFixed(2)}x (median of ${cpuRatios.length} windows of ${T3_WINDOW_MS / 1000} s side by side; all ${Math.min(...cpuRatios).toFixed(2)} to ${Math.max(...cpuRatios).toFixed(2)}); ` +
          `alone before: ${t4Cpu}${loadOk(base.rate)}`,
        goal: `<= ${T4_CPU_RATIO}x`, result: check(mid <= T4_CPU_RATIO && base.rate >= MIN_RATE),
      };
      for (const dir of ['send', 'recv'] as const) {
        const each = windows.map((s) => {
          const theirs = s.all.get(dir === 'send' ? bt.send : bt.recv)!;
          return { ours: s.cost[dir].nsPerEvent, theirs: theirs.nsPerEvent, ratio: s.cost[dir].nsPerEvent / theirs.nsPerEvent, rate: s.cost.rate, floor: floorNs(s, dir) };
        });
        const mid = [...each].sort((a, b) => a.ratio - b.ratio)[Math.floor(each.length / 2)];
        const rate = Math.min(...each.map((w) => w.rate));
        const range = `${Math.min(...each.map((w) => w.ratio)).toFixed(3)} to ${Math.max(...each.map((w) => w.ratio)).toFixed(3)}`;
        t3.push({ target: 'T3', what: `${dir}, tcptop / bpftrace, side by side`, rate,
          figure: `${mid.ours.toFixed(1)} / ${mid.theirs.toFixed(1)} ns = ${mid.ratio.toFixed(3)}x (median of ${each.length} windows of ${T3_WINDOW_MS / 1000} s; all ${range}${mid.floor})${loadOk(rate)}`,
          goal: `<= ${T3_RATIO}x`, result: check(mid.ratio <= T3_RATIO && rate >= MIN_RATE) });
      }
      log(`  with bpftrace: ${t3.map((r) => r.figure).join('; ')}`);
    } catch (err) {
      t3.push(notRun('T3', 'tcptop / bpftrace, side by side', (err as Error).message, `<= ${T3_RATIO}x`));
    }
    rows.push(...t3, t4);

    // B, C: n more connections each move bytes once, so their flows hold slots in the table while the load stays
    // on the 10 (T2); then the load moves onto them, every event on another socket (T2 info). They keep running
    // until the caller stops them.
    const moreConnections = async (n: number, settleMs: number) => {
      const more = await Load.start(bin, n);
      cleanup.push(() => more.stop());
      await more.touch();
      await sleep(settleMs);
      const flat = await measure(r1, 10_000);
      hot.pump(0);
      more.pump(RATE);
      await sleep(settleMs);
      const from = monoUs();
      const spread = await measure(r1, 8000);
      const window = [from, monoUs()];
      log(`  ${grouped(n)}: send ${ns(flat.cost.send)}, recv ${ns(flat.cost.recv)}; spread: send ${ns(spread.cost.send)}, recv ${ns(spread.cost.recv)}`);
      return { more, window, flat: flat.cost, spread: spread.cost };
    };
    // the 10 connections alone, once the others' slots are freed: T2's reference
    const alone = async () => {
      await sleep(2000);
      const ref = await measure(r1, 8000);
      log(`  10 alone: send ${ns(ref.cost.send)}, recv ${ns(ref.cost.recv)}`);
      return ref.cost;
    };

    const ref0 = await alone();
    const b = await moreConnections(1000, 2000);
    await b.more.stop();
    hot.pump(RATE);
    const ref1 = await alone();
    rows.push(...flatRows('1,000 more connections in the table', pooled(ref0, ref1), base, b.flat), ...spreadRows('1,000 connections', pooled(ref0, ref1), b.spread));

    log('  opening 50,000 connections');
    const c = await moreConnections(50_000, 3000);
    const end = r1.memory();
    rows.push({ target: 'T4 info', what: 'recorder memory after 100,000 flows', figure: `peak ${end.peakMb.toFixed(0)} MB (now ${end.rssMb.toFixed(0)} MB)`, goal: 'none', result: 'info' });
    await c.more.stop();
    hot.pump(RATE);
    const ref2 = await alone();
    rows.push(...flatRows('50,000 more connections in the table', pooled(ref1, ref2), base, c.flat), ...spreadRows('50,000 connections', pooled(ref1, ref2), c.spread));
    await hot.stop();
    const r1Timings = await r1.stop();
    await floor?.stop();
    floor = undefined;
    const wide = r1Timings.filter((t) => t.atUs >= c.window[0] && t.atUs <= c.window[1]);

    // R2: 5,000 connections, every one moving bytes in every interval
    log('R2: tcptop record, 5,000 connections all active');
    const file = path.join(dir, 'real.db');
    const { recorder: r2, load: all } = await recording(file, 5000);
    await sleep(31_000);
    const r2Memory = r2.memory();
    const closing = monoUs();
    await all.stop();
    await sleep(1500);
    const r2Timings = await r2.stop();
    const lost2 = lostEvents(file);
    const full = r2Timings.filter((t) => t.flows >= 10_000);
    // The interval in which the 10,000 flows first appear also decodes their keys and writes their flow rows; in
    // the next few the recorder's heap grows to hold them and the code of the steady path gets compiled; the one
    // in which their connections close also frees their slots. All once per flow, so shown apart.
    const warm = full.slice(1, 1 + WARM_UP).filter((t) => t.atUs < closing);
    const open = full.slice(1 + WARM_UP).filter((t) => t.atUs < closing);
    const closed = full.filter((t) => t.atUs >= closing);
    if (open.length < 10) throw new Error(`R2 saw 10,000 flows in only ${full.length} intervals`);
    rows.push(
      { target: 'T5', what: 'drain + append, 10,000 active flows', figure: timingFigure(open), goal: `<= ${T5_MAX_MS} ms`,
        result: check(Math.max(...open.map((t) => t.drainMs + t.appendMs)) <= T5_MAX_MS) },
      { target: 'T5 info', what: 'the interval the 10,000 flows appear in', figure: timingFigure(full.slice(0, 1)), goal: 'none (once per flow)', result: 'info' },
      { target: 'T5 info', what: `the ${WARM_UP} intervals after it`, figure: timingFigure(warm), goal: 'none (once per flow)', result: 'info' },
    );
    if (closed.length) rows.push({ target: 'T5 info', what: 'the interval their 5,000 connections close in', figure: timingFigure(closed), goal: 'none (once per flow)', result: 'info' });
    const lost1 = lostEvents(r1.file);
    const wideFlows = wide.length ? Math.min(...wide.map((t) => t.flows)) : 0;
    rows.push({ target: 'T5', what: 'drain + append, 50,000 connections (100,000 flows)', figure: wide.length ? `${timingFigure(wide)}; ${grouped(lost1)} events lost` : 'no interval measured',
      goal: '50,000 flows recorded, none lost', result: check(wideFlows >= 50_000 && lost1 === 0 && lost2 === 0) });
    log(`  10,000 flows: ${rows.find((r) => r.target === 'T5')!.figure}`);
    const m2 = r2Memory;
    rows.push({ target: 'T4 info', what: 'recorder memory with 10,000 active flows', figure: `peak ${m2.peakMb.toFixed(0)} MB (now ${m2.rssMb.toFixed(0)} MB)`, goal: 'none', result: 'info' });
    result.realCapture = { file, connections: 5000, flows: Math.max(...r2Timings.map((t) => t.flows)), frames: r2Timings.length };

    // R3: a storm of short connections, as during an incident's retries: what the recorder costs, and whether
    // every connection is in the capture with its bytes
    log(`R3: tcptop record, ${grouped(STORM_RATE)} new connections a second for ${STORM_SECONDS} s`);
    rows.push(await storm(bin, dir, cleanup));
  } catch (err) {
    const why = (err as Error).message;
    log(`kernel benchmarks stopped: ${why}`);
    for (const t of ['T1', 'T2', 'T3', 'T4', 'T5', 'storm']) if (!rows.some((r) => r.target === t)) rows.push(notRun(t, 'kernel benchmark', why));
  } finally {
    await runCleanups(cleanup);
  }
  return result;
}

export function removeCapture(file: string): void {
  for (const f of [file, `${file}-wal`, `${file}-shm`]) fs.rmSync(f, { force: true });
}
