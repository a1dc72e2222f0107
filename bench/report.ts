// How fast `tcptop report` and its chart go through a long, busy capture, and how much memory they take.
// Generates an hour at 1 s with 1,000 active flows per frame (3.6 million samples) into a temporary directory,
// then runs the command line as a user would, in a child process, timing it and reading its peak RSS.
//   npm run bench
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { formatLoadavg } from '../src/capture/loadavg';
import type { CaptureHeader } from '../src/capture/meta';
import { frameFlowsOf, type FlowBytes, type FlowKey } from '../src/capture/types';
import { CaptureWriter } from '../src/capture/writer';
import type { RenderTime } from './html-render';

const ROOT = path.resolve(__dirname, '../..');
const CLI = path.join(ROOT, 'bin/tcptop');

/** Deterministic pseudo-random numbers in [0, 1) (mulberry32), so every run measures the same capture. */
function random(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const COMMS = ['nginx', 'postgres', 'java', 'node', 'envoy', 'redis-server', 'curl', 'sshd', 'python3', 'kafka'];

/** The header of the captures the benchmarks generate: a synthetic host, 1 s frames from 2026-11-20 14:00 UTC. */
export const BENCH_HEADER: CaptureHeader = {
  toolVersion: '0.1.0', hostname: 'bench', kernelRelease: '6.18.44', bootId: '00000000-0000-4000-8000-000000000000',
  startWallUs: Date.UTC(2026, 10, 20, 14) * 1000, tzOffsetMinutes: 0, timeZone: 'UTC', intervalUs: 1_000_000,
  probe: 'synthetic', commandLine: ['node', 'bench/report.js'], filters: {},
};

/**
 * Writes `frames` frames of `flows` active flows each: connections live from half a minute to half an hour and are
 * replaced by new ones, to a few hundred remote hosts (some far busier than others), IPv4, IPv6 and IPv4-mapped;
 * bytes per frame vary around each connection's own heavy-tailed rate. Returns the number of samples.
 */
export function generateBenchCapture(file: string, frames = 3600, flows = 1000): number {
  const rnd = random(20261120);
  const header = BENCH_HEADER;
  let port = 32768;
  const host = (): { family: 4 | 6; laddr: string; raddr: string } => {
    const h = Math.floor(rnd() * rnd() * 400);
    const kind = h % 10;
    if (kind < 7) return { family: 4, laddr: '10.0.0.5', raddr: `203.0.${h >> 8}.${h & 255}` };
    if (kind < 9) return { family: 6, laddr: '2001:db8::5', raddr: `2001:db8:1::${h.toString(16)}` };
    return { family: 6, laddr: '::ffff:10.0.0.5', raddr: `::ffff:198.51.100.${h & 255}` };
  };
  const connection = () => {
    port = port >= 60999 ? 32768 : port + 1;
    const server = rnd() < 0.6;
    const key: FlowKey = { pid: 1000 + Math.floor(rnd() * 200), comm: COMMS[Math.floor(rnd() * COMMS.length)], ...host(),
      lport: server ? 443 : port, rport: server ? port : 5432 };
    return { key, left: 30 + Math.floor(rnd() * 1800), rate: Math.exp(rnd() * 14) };
  };
  const slots = Array.from({ length: flows }, connection);
  const w = CaptureWriter.create(file, header, { force: true });
  for (let i = 1; i <= frames; i++) {
    const bytes: FlowBytes[] = new Array(flows);
    for (let j = 0; j < flows; j++) {
      if (--slots[j].left <= 0) slots[j] = connection();
      const s = slots[j];
      bytes[j] = { ...s.key, rxBytes: 1 + Math.floor(s.rate * rnd() * 2), txBytes: 1 + Math.floor(s.rate * rnd() * 0.5) };
    }
    const load = { load1: 1.5, load5: 1.2, load15: 1, running: 2, tasks: 900, lastPid: 40000 + i };
    w.append({ wallUs: header.startWallUs + i * 1_000_000, monoUs: 1e10 + i * 1_000_000, intervalUs: 1_000_000,
      loadavg: { ...load, raw: formatLoadavg(load) }, lost: { events: 0, rxBytes: 0, txBytes: 0 } }, frameFlowsOf(bytes));
  }
  w.close(true);
  return frames * flows;
}

export interface Run {
  name: string;
  args: string[];
  seconds: number;
  samplesPerSecond: number;
  peakRssMb: number;
}

/** Runs the command line once, returning its wall time and the child's peak RSS (read by a preload at exit). */
function measure(dir: string, args: string[]): { seconds: number; peakRssMb: number } {
  const preload = path.join(dir, 'rss.js');
  const rssFile = path.join(dir, 'rss.txt');
  fs.writeFileSync(preload, `process.on('exit', () => require('fs').writeFileSync(${JSON.stringify(rssFile)}, String(process.resourceUsage().maxRSS)));\n`);
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, ['--require', preload, CLI, ...args], { encoding: 'utf8', maxBuffer: 1 << 30 });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) throw new Error(`tcptop ${args.join(' ')} failed: ${r.stderr}`);
  return { seconds, peakRssMb: Number(fs.readFileSync(rssFile, 'utf8')) / 1024 };
}

/** The HTML report of the hour: how long writing it takes, how big it is, how quickly a browser shows it. */
export interface HtmlBench {
  seconds: number;
  peakRssMb: number;
  sizeMb: number;
  /**
   * From the start of loading the page to its first frame painted with all of it (the page's clock): the median
   * of `loads` loads after a first one, their least and greatest, the first (cold) load, and the page script's
   * share; null when no browser could be run (`problem` says why).
   */
  shownMs: number | null;
  minMs: number | null;
  maxMs: number | null;
  coldMs: number | null;
  renderMs: number | null;
  loads: number;
  problem: string | null;
}

export interface ReportBench {
  samples: number;
  generateSeconds: number;
  fileMb: number;
  runs: Run[];
  html: HtmlBench;
}

/** Targets of the HTML report: at most 2 MB, drawn within a second of opening it (the median load). */
export const HTML_MAX_MB = 2;
export const HTML_MAX_SHOWN_MS = 1000;
/** Loads of the page measured after the first. */
const HTML_LOADS = 9;

export function htmlTargetMet(h: HtmlBench): boolean {
  return h.sizeMb <= HTML_MAX_MB && h.shownMs !== null && h.shownMs <= HTML_MAX_SHOWN_MS;
}

/** The HTML row's figure: size, time to write, and how soon a browser draws it. */
export function htmlFigure(h: HtmlBench): string {
  const drawn = h.shownMs === null ? `not opened in a browser: ${h.problem}`
    : `drawn ${h.shownMs.toFixed(0)} ms after opening in Chromium (median of ${h.loads}, ${h.minMs!.toFixed(0)}-${h.maxMs!.toFixed(0)} ms; `
      + `first load in a fresh browser ${h.coldMs!.toFixed(0)} ms; page script ${h.renderMs!.toFixed(0)} ms)`;
  return `${h.sizeMb.toFixed(2)} MB, written in ${h.seconds.toFixed(2)} s; ${drawn}`;
}

/** Writes the hour's HTML report (default options) and opens it in headless Chromium (bench/html-render.ts). */
function benchHtml(dir: string, file: string, repeat: number): HtmlBench {
  const page = path.join(dir, 'hour.html');
  let best = { seconds: Infinity, peakRssMb: 0 };
  for (let i = 0; i < repeat; i++) {
    const m = measure(dir, ['report', '--format', 'html', '-o', page, file]);
    if (m.seconds < best.seconds) best = m;
  }
  const sizeMb = fs.statSync(page).size / 2 ** 20;
  const r = spawnSync(process.execPath, [path.join(__dirname, 'html-render.js'), page, String(HTML_LOADS)], { encoding: 'utf8', timeout: 300_000 });
  if (r.status !== 0) {
    return { ...best, sizeMb, shownMs: null, minMs: null, maxMs: null, coldMs: null, renderMs: null, loads: 0,
      problem: r.stderr.trim().split('\n')[0] || `exit ${r.status}` };
  }
  const t = JSON.parse(r.stdout) as RenderTime;
  return { ...best, sizeMb, shownMs: t.shownMs, minMs: t.minMs, maxMs: t.maxMs, coldMs: t.coldMs, renderMs: t.renderMs, loads: t.loads, problem: null };
}

/** The report benchmark: the best of `repeat` runs of each command, to keep a busy machine's noise out. */
export function benchReport(opts: { frames?: number; flows?: number; repeat?: number; htmlOnly?: boolean; log?: (line: string) => void } = {}): ReportBench {
  const log = opts.log ?? (() => undefined);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tcptop-bench-'));
  try {
    const file = path.join(dir, 'hour.db');
    const t0 = process.hrtime.bigint();
    const samples = generateBenchCapture(file, opts.frames, opts.flows);
    const generateSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
    const fileMb = fs.statSync(file).size / 2 ** 20;
    log(`generated ${samples.toLocaleString('en-US')} samples (${fileMb.toFixed(0)} MB) in ${generateSeconds.toFixed(1)} s`);
    const cases: [string, string[]][] = [
      ['report --by host', ['report', '--by', 'host', file]],
      ['report --chart', ['report', '--chart', file]],
      ['report --by flow --top 10 --window 1m', ['report', '--by', 'flow', '--top', '10', '--window', '1m', file]],
      ['report --by host --window 10s --format csv', ['report', '--by', 'host', '--window', '10s', '--format', 'csv', file]],
    ];
    const runs: Run[] = [];
    for (const [name, args] of opts.htmlOnly ? [] : cases) {
      let best = { seconds: Infinity, peakRssMb: 0 };
      for (let i = 0; i < (opts.repeat ?? 3); i++) {
        const m = measure(dir, args);
        if (m.seconds < best.seconds) best = m;
      }
      const run = { name, args, seconds: best.seconds, samplesPerSecond: samples / best.seconds, peakRssMb: best.peakRssMb };
      runs.push(run);
      log(`${name.padEnd(44)} ${run.seconds.toFixed(2).padStart(6)} s  ${(run.samplesPerSecond / 1e6).toFixed(2).padStart(5)} M samples/s  peak RSS ${run.peakRssMb.toFixed(0).padStart(4)} MB`);
    }
    const html = benchHtml(dir, file, opts.repeat ?? 3);
    log(`${'report --format html'.padEnd(44)} ${htmlFigure(html)}: ${htmlTargetMet(html) ? 'pass' : 'FAIL'}`);
    return { samples, generateSeconds, fileMb, runs, html };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** The targets: at least 2 million samples a second, under 300 MB, for the plain report and the chart. */
export function reportTargetsMet(b: ReportBench): boolean {
  return b.runs.filter((r) => r.name === 'report --by host' || r.name === 'report --chart')
    .every((r) => r.samplesPerSecond >= 2e6 && r.peakRssMb < 300);
}

if (require.main === module) {
  // node dist/bench/report.js [--html]: this benchmark alone (--html: the HTML report's row alone).
  const b = benchReport({ htmlOnly: process.argv.includes('--html'), log: (line) => process.stdout.write(`${line}\n`) });
  process.exitCode = htmlTargetMet(b.html) && (b.runs.length === 0 || reportTargetsMet(b)) ? 0 : 1;
}
