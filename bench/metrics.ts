// The live metrics endpoint as a user runs it: `tcptop record --metrics-listen` in a child process while the
// load generator holds 5,000 loopback connections, each from a client address of its own in 127/8, every one
// moving bytes in every interval: 10,000 flows in each frame. For each label set (the default, and one series
// per flow end), the recorder's CPU (process + its BPF programs) is measured in windows without scrapes and
// with scrapes (alternating text and OpenMetrics) in turn, in the same run; each scrape's latency and size
// are taken, and every scrape's counters are checked: none goes back, and at the end their sums equal the
// capture's totals over the frames the scrape had seen. A recorder without --metrics-listen gives the
// reference of what the endpoint costs when nobody scrapes.
//   node dist/bench/metrics.js   (as root; also part of npm run bench)
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CaptureReader } from '../src/capture/reader';
import { freePort } from '../test/helpers/prometheus';
import { enableStats, StatsSnapshot } from './bpf-stats';
import { buildLoader, ensureCommand, Load } from './load';
import { monoUs, Recorder, runCleanups, sleep, type IntervalTiming } from './recorder';
import { check, grouped, notRun, type Row } from './table';

const CONNECTIONS = 5000;
const FLOWS = 2 * CONNECTIONS;
/** Send + receive events a second over all connections: each connection sends 4 times a second, so every flow has bytes in every 1 s interval. */
const RATE = 40_000;
/** Seconds for the recorder to see the 10,000 flows and settle (their first intervals decode and write every flow). */
const WARM_UP_MS = 8000;
const WINDOW_MS = 15_000;
/** Windows without and with scrapes, in turn: drift on the shared machine falls on both alike. */
const WINDOW_PAIRS = 2;
/** Twice a second, 30 times Prometheus' usual 15 s, so that the scrapes' CPU stands out of the recorder's own. */
const SCRAPE_EVERY_MS = 500;
/** A tenth of Prometheus' default scrape timeout (10 s): a scrape of 10,000 series is far from timing out, even on a busy machine. */
export const SCRAPE_P99_MS = 1000;
/** At Prometheus' usual 15 s interval, scrapes add at most a quarter of the whole recorder's 2% budget (T4): 0.5% of one CPU. */
export const SCRAPE_CPU_MS = 75;
const PROMETHEUS_INTERVAL_S = 15;

const OPENMETRICS_ACCEPT = 'application/openmetrics-text; version=1.0.0';

interface Scenario {
  name: string;
  args: string[];
}

const SCENARIOS: Scenario[] = [
  { name: 'default labels (comm, remote)', args: [] },
  // every key but host (raddr's short form): each flow end is a series of its own; the cap raised so none fold
  { name: 'by comm, pid, laddr, raddr, port', args: ['--metrics-by', 'comm', '--metrics-by', 'pid', '--metrics-by', 'laddr', '--metrics-by', 'raddr', '--metrics-by', 'port', '--metrics-max-series', '20000'] },
];

/** One scrape as the bench saw it: latency to the last byte, and the counters read from it. */
interface Scrape {
  openMetrics: boolean;
  ms: number;
  bytes: number;
  /** label text → [received, sent] */
  series: Map<string, [number, number]>;
  gauges: Map<string, number>;
}

const SINGLE = /^(tcptop_[a-z_]+) (\d+(?:\.\d+)?(?:e[+-]?\d+)?)$/;

async function scrape(url: string, openMetrics: boolean): Promise<Scrape> {
  const t0 = performance.now();
  const res = await fetch(url, { headers: openMetrics ? { Accept: OPENMETRICS_ACCEPT } : {} });
  const body = await res.text();
  const ms = performance.now() - t0;
  if (res.status !== 200) throw new Error(`scrape: HTTP ${res.status}`);
  const series = new Map<string, [number, number]>();
  const gauges = new Map<string, number>();
  for (const line of body.split('\n')) {
    const column = line.startsWith('tcptop_received_bytes_total{') ? 0 : line.startsWith('tcptop_sent_bytes_total{') ? 1 : null;
    if (column !== null) {
      const sp = line.lastIndexOf(' ');
      const labels = line.slice(line.indexOf('{'), sp);
      const values = series.get(labels) ?? [NaN, NaN];
      values[column] = Number(line.slice(sp + 1));
      series.set(labels, values);
      continue;
    }
    const m = SINGLE.exec(line);
    if (m) gauges.set(m[1], Number(m[2]));
  }
  if (openMetrics !== body.endsWith('# EOF\n')) throw new Error(`scrape: ${openMetrics ? 'OpenMetrics without' : 'text format with'} # EOF`);
  return { openMetrics, ms, bytes: Buffer.byteLength(body), series, gauges };
}

const gauge = (s: Scrape, name: string): number => {
  const v = s.gauges.get(name);
  if (v === undefined) throw new Error(`scrape: no ${name}`);
  return v;
};

/** Checks each scrape against the one before: every counter there, at least as high (nothing expires within the bench). */
class CounterCheck {
  private last: Scrape | null = null;
  scrapes = 0;
  problems: string[] = [];

  add(s: Scrape): void {
    this.scrapes++;
    const tracked = gauge(s, 'tcptop_series_tracked');
    if (tracked !== s.series.size) this.problems.push(`tcptop_series_tracked ${tracked} but ${s.series.size} series`);
    for (const [labels, [rx, tx]] of s.series) if (!Number.isFinite(rx) || !Number.isFinite(tx)) this.problems.push(`${labels}: received or sent missing`);
    if (gauge(s, 'tcptop_series_expired_total') !== 0) this.problems.push('a series expired (the bench is shorter than --metrics-expire)');
    const prev = this.last;
    if (prev) {
      for (const [labels, [rx, tx]] of prev.series) {
        const now = s.series.get(labels);
        if (!now) this.problems.push(`${labels} went away`);
        else if (now[0] < rx || now[1] < tx) this.problems.push(`${labels} went back (${rx}/${tx} to ${now[0]}/${now[1]})`);
      }
      if (gauge(s, 'tcptop_frames_written_total') < gauge(prev, 'tcptop_frames_written_total')) this.problems.push('tcptop_frames_written_total went back');
    }
    this.last = s;
  }
}

const sum = (s: Scrape, column: 0 | 1): number => {
  let total = 0;
  for (const v of s.series.values()) total += v[column];
  return total;
};

/** The capture's totals over its first `frames` frames, against a scrape that had seen that many. */
function matchCapture(file: string, s: Scrape): string[] {
  const frames = gauge(s, 'tcptop_frames_written_total');
  const reader = CaptureReader.open(file);
  try {
    const span = reader.span();
    if (!span || span.frames < frames) return [`the capture has ${span?.frames ?? 0} frames, the scrape counted ${frames}`];
    let seq = span.firstSeq;
    let n = 0;
    for (const f of reader.frames(span.firstSeq, span.lastSeq)) {
      seq = f.seq;
      if (++n === frames) break;
    }
    const t = reader.totals(span.firstSeq, seq);
    const pairs: [string, number, number][] = [
      ['received bytes', sum(s, 0), t.rxBytes], ['sent bytes', sum(s, 1), t.txBytes],
      ['unattributed events', gauge(s, 'tcptop_unattributed_events_total'), t.lost.events],
      ['unattributed received bytes', gauge(s, 'tcptop_unattributed_received_bytes_total'), t.lost.rxBytes],
      ['unattributed sent bytes', gauge(s, 'tcptop_unattributed_sent_bytes_total'), t.lost.txBytes],
    ];
    return pairs.filter(([, a, b]) => a !== b).map(([what, a, b]) => `${what}: ${grouped(a)} scraped, ${grouped(b)} in the capture's first ${frames} frames`);
  } finally {
    reader.close();
  }
}

interface Window {
  scraping: boolean;
  fromUs: number;
  toUs: number;
  seconds: number;
  /** the recorder's process CPU and its programs' kernel time, seconds */
  processSeconds: number;
  programSeconds: number;
  scrapes: Scrape[];
  /** Latency of a request for nothing (a 404) to the same recorder before each scrape: the machine's and HTTP's share. */
  nothingMs: number[];
  /** Send and receive events a second (the load actually reached, as the kernel rows count it). */
  rate: number;
}

/** One window of `ms`: the recorder's CPU over it, scraping every SCRAPE_EVERY_MS (formats in turn) when `url` is given. */
async function measureWindow(r: Recorder, ms: number, url: string | null, counters: CounterCheck): Promise<Window> {
  const fromUs = monoUs();
  const snap = new StatsSnapshot([r.pid]);
  const cpu0 = r.cpuSeconds();
  const scrapes: Scrape[] = [];
  const nothingMs: number[] = [];
  if (url) {
    const start = performance.now();
    for (let i = 0; performance.now() - start < ms; i++) {
      const t0 = performance.now();
      const res = await fetch(new URL('/', url));
      await res.arrayBuffer();
      if (res.status !== 404) throw new Error(`GET /: HTTP ${res.status}, expected 404`);
      nothingMs.push(performance.now() - t0);
      const s = await scrape(url, i % 2 === 1);
      counters.add(s);
      scrapes.push(s);
      const next = start + (i + 1) * SCRAPE_EVERY_MS;
      await sleep(Math.max(0, next - performance.now()));
    }
  } else {
    await sleep(ms);
  }
  const d = snap.delta();
  const processSeconds = r.cpuSeconds() - cpu0;
  const programSeconds = [...d.progs.values()].reduce((t, p) => t + p.ns, 0) / 1e9;
  const events = ['tp_send', 'tp_recv'].reduce((t, name) => t + (d.progs.get(r.program(name) ?? -1)?.events ?? NaN), 0);
  return { scraping: url !== null, fromUs, toUs: monoUs(), seconds: d.seconds, processSeconds, programSeconds, scrapes, nothingMs, rate: events / d.seconds };
}

/** Percent of one CPU over some windows pooled. */
function share(ws: Window[]): { total: number; process: number; programs: number } {
  const seconds = ws.reduce((t, w) => t + w.seconds, 0);
  const p = (x: number) => (x / seconds) * 100;
  const proc = p(ws.reduce((t, w) => t + w.processSeconds, 0));
  const progs = p(ws.reduce((t, w) => t + w.programSeconds, 0));
  return { total: proc + progs, process: proc, programs: progs };
}

const percentile = (xs: number[], p: number): number => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))];
const latencies = (xs: number[]) => `median ${percentile(xs, 0.5).toFixed(1)}, p99 ${percentile(xs, 0.99).toFixed(1)}, max ${Math.max(...xs).toFixed(1)} ms`;
const kib = (bytes: number) => `${grouped(bytes / 1024)} KiB`;
const pct = (x: number) => `${x.toFixed(2)}%`;
const mean = (xs: number[]) => xs.reduce((t, x) => t + x, 0) / xs.length;
const loadavg = () => os.loadavg()[0].toFixed(1);

/**
 * The flows of the intervals that ended inside the windows (from the recorder's own timings): the median must be
 * the 10,000 for the figures to count; where a starved load generator left some connections idle for an
 * interval, the figure says so.
 */
function activeFlows(timings: IntervalTiming[], windows: Window[]): { ok: boolean; note: string } {
  const flows = timings.filter((t) => windows.some((w) => t.atUs > w.fromUs && t.atUs <= w.toUs)).map((t) => t.flows);
  if (!flows.length) return { ok: false, note: ' (no interval measured)' };
  const short = flows.filter((n) => n < FLOWS);
  const ok = percentile(flows, 0.5) >= FLOWS;
  return { ok, note: short.length ? ` (${short.length} of ${flows.length} intervals under ${grouped(FLOWS)} flows, fewest ${grouped(Math.min(...short))})` : '' };
}

/** One recorder with the endpoint, through pairs of windows without and with scrapes; its rows. */
async function runScenario(sc: Scenario, dir: string, index: number, cleanup: (() => unknown)[], log: (line: string) => void): Promise<Row[]> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}/metrics`;
  const file = path.join(dir, `metrics-${index}.db`);
  log(`  recorder --metrics-listen 127.0.0.1:${port}, ${sc.name}`);
  const r = await Recorder.start(file, dir, ['--metrics-listen', `127.0.0.1:${port}`, ...sc.args]);
  cleanup.push(() => r.kill());
  await sleep(WARM_UP_MS);
  const counters = new CounterCheck();
  const windows: Window[] = [];
  for (let i = 0; i < WINDOW_PAIRS; i++) {
    windows.push(await measureWindow(r, WINDOW_MS, null, counters));
    windows.push(await measureWindow(r, WINDOW_MS, url, counters));
  }
  const last = await scrape(url, false);
  counters.add(last);
  const timings = await r.stop();
  const problems = [...counters.problems, ...matchCapture(file, last)];
  const flows = activeFlows(timings, windows);
  const scrapes = windows.flatMap((w) => w.scrapes);
  const text = scrapes.filter((s) => !s.openMetrics);
  const om = scrapes.filter((s) => s.openMetrics);
  const off = share(windows.filter((w) => !w.scraping));
  const on = share(windows.filter((w) => w.scraping));
  const perSecond = scrapes.length / windows.filter((w) => w.scraping).reduce((t, w) => t + w.seconds, 0);
  // A scrape's work is the process's (render, HTTP); the programs only see its few loopback sends, and their time
  // follows the load generator's pace, which a busy machine moves either way.
  const cpuMsPerScrape = ((on.process - off.process) / 100) * 1000 / perSecond;
  const at15 = (cpuMsPerScrape / 1000 / PROMETHEUS_INTERVAL_S) * 100;
  const series = last.series.size;
  const active = flows.note;
  log(`  ${grouped(series)} series${active}; CPU ${pct(off.total)} without scrapes, ${pct(on.total)} with; ${problems.length} counter problems`);
  for (const p of problems.slice(0, 5)) log(`    ${p}`);
  const onRate = mean(windows.filter((w) => w.scraping).map((w) => w.rate));
  const offRate = mean(windows.filter((w) => !w.scraping).map((w) => w.rate));
  const nothing = windows.flatMap((w) => w.nothingMs);
  const p99 = Math.max(percentile(text.map((s) => s.ms), 0.99), percentile(om.map((s) => s.ms), 0.99));
  return [
    { target: 'metrics', what: `scrape, 10,000 flows, ${sc.name}: ${grouped(series)} series (text ${kib(text[0].bytes)}, OpenMetrics ${kib(om[0].bytes)})`,
      figure: `text ${latencies(text.map((s) => s.ms))}; OpenMetrics ${latencies(om.map((s) => s.ms))} (${scrapes.length} scrapes); `
        + `a request for nothing: ${latencies(nothing)}; load average ${loadavg()}${active}`,
      rate: onRate,
      goal: `p99 < ${SCRAPE_P99_MS} ms`, result: check(p99 < SCRAPE_P99_MS && flows.ok) },
    { target: 'metrics', what: `recorder CPU, 10,000 flows, ${sc.name}, scraped ${perSecond.toFixed(1)}/s`, rate: onRate,
      figure: `${pct(off.total)} of one CPU without scrapes, ${pct(on.total)} with (process ${pct(off.process)} to ${pct(on.process)}, programs ${pct(off.programs)} to ${pct(on.programs)}): `
        + `process ${cpuMsPerScrape.toFixed(1)} ms a scrape, +${pct(at15)} at one per ${PROMETHEUS_INTERVAL_S} s; ${grouped(offRate)} events/s without${active}`,
      goal: `< ${SCRAPE_CPU_MS} ms a scrape`, result: check(cpuMsPerScrape < SCRAPE_CPU_MS && flows.ok) },
    { target: 'metrics', what: `counters, ${sc.name}`,
      figure: problems.length ? `${problems.length} problems: ${problems[0]}` : `${counters.scrapes} scrapes: none went back; at frame ${grouped(gauge(last, 'tcptop_frames_written_total'))} their sums equal the capture's (${grouped(sum(last, 0))} B received, ${grouped(sum(last, 1))} B sent)`,
      goal: 'never back, sums exact', result: check(problems.length === 0) },
  ];
}

/** The reference: the same recorder and load without --metrics-listen. */
async function reference(dir: string, cleanup: (() => unknown)[], log: (line: string) => void): Promise<Row> {
  log('  recorder without --metrics-listen');
  const r = await Recorder.start(path.join(dir, 'metrics-none.db'), dir);
  cleanup.push(() => r.kill());
  await sleep(WARM_UP_MS);
  const counters = new CounterCheck();
  const w = [await measureWindow(r, WINDOW_MS, null, counters)];
  const timings = await r.stop();
  const s = share(w);
  const flows = activeFlows(timings, w);
  return { target: 'metrics', what: 'recorder CPU, 10,000 flows, without --metrics-listen', rate: w[0].rate, figure: `${pct(s.total)} of one CPU (process ${pct(s.process)}, programs ${pct(s.programs)})${flows.note}`,
    goal: 'none (reference)', result: 'info' };
}

export async function benchMetrics(dir: string, log: (line: string) => void): Promise<Row[]> {
  const rows: Row[] = [];
  const cleanup: (() => unknown)[] = [];
  let done = 0;
  try {
    if (process.getuid?.() !== 0) throw new Error('needs root (BPF programs and their statistics)');
    const noBpftool = ensureCommand('bpftool', 'bpftool', log);
    if (noBpftool) throw new Error(noBpftool);
    cleanup.push(enableStats());
    const load = await Load.start(buildLoader(dir, log), CONNECTIONS, { spread: true });
    cleanup.push(() => load.stop());
    load.pump(RATE);
    log(`  ${grouped(CONNECTIONS)} loopback connections from as many 127/8 addresses, ${grouped(RATE)} events/s over all of them`);
    rows.push(await reference(dir, cleanup, log));
    for (const [i, sc] of SCENARIOS.entries()) {
      rows.push(...(await runScenario(sc, dir, i, cleanup, log)));
      done++;
    }
  } catch (err) {
    const why = (err as Error).message;
    log(`  metrics benchmark stopped: ${why}`);
    for (const sc of SCENARIOS.slice(done)) rows.push(notRun('metrics', `scrapes and recorder CPU, 10,000 flows, ${sc.name}`, why));
  } finally {
    await runCleanups(cleanup);
  }
  return rows;
}

if (require.main === module) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tcptop-bench-metrics-'));
  benchMetrics(dir, (l) => process.stdout.write(`${l}\n`)).then((rows) => {
    for (const r of rows) process.stdout.write(`${r.what}: ${r.figure} [${r.result}]\n`);
    fs.rmSync(dir, { recursive: true, force: true });
    process.exitCode = rows.some((r) => r.result === 'FAIL') ? 1 : 0;
  });
}
