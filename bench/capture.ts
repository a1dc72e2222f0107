// Targets 6 and 7: what a capture costs on disk, and how quickly replay shows any moment of a long one.
import Database from 'better-sqlite3';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { generateBenchCapture } from './report';
import { have } from './load';
import { check, grouped, notRun, type Row } from './table';

const ROOT = path.resolve(__dirname, '../..');
const CLI = path.join(ROOT, 'bin/tcptop');

export const T6_MAX_BYTES = 16;
export const T7_MAX_MS = 50;
export const T7_RSS_SPREAD = 0.1;

/** Bytes of the file per sample (one flow in one frame), and whether plain SQL over its views agrees with its tables. */
export function captureSize(file: string, what: string): Row {
  const bytes = fs.statSync(file).size + (fs.existsSync(`${file}-wal`) ? fs.statSync(`${file}-wal`).size : 0);
  const db = new Database(file, { readonly: true });
  try {
    const one = (sql: string) => db.prepare(sql).get() as Record<string, number>;
    const packed = one('SELECT count(*) n, coalesce(sum(rx_bytes), 0) rx, coalesce(sum(tx_bytes), 0) tx FROM sample_packed');
    const wide = one('SELECT count(*) n, coalesce(sum(rx_bytes), 0) rx, coalesce(sum(tx_bytes), 0) tx FROM sample_wide');
    const frames = one('SELECT count(*) n FROM frame').n;
    const flows = one('SELECT count(*) n FROM flow').n;
    const samples = packed.n + wide.n;
    // what a user would type: the documented view, joined with frames and flows
    const view = one('SELECT count(*) n, coalesce(sum(rx_bytes), 0) rx, coalesce(sum(tx_bytes), 0) tx FROM flow_sample');
    const journal = String(db.pragma('journal_mode', { simple: true }));
    const problems: string[] = [];
    if (view.n !== samples || view.rx !== packed.rx + wide.rx || view.tx !== packed.tx + wide.tx) problems.push('flow_sample disagrees with the sample tables');
    if (journal !== 'delete') problems.push(`journal mode ${journal}`);
    if (have('sqlite3')) {
      const r = spawnSync('sqlite3', ['-readonly', file, 'SELECT count(*) FROM flow_sample'], { encoding: 'utf8' });
      if (r.status !== 0 || Number(r.stdout.trim()) !== samples) problems.push(`sqlite3 shell: ${r.stderr.trim() || r.stdout.trim()}`);
    }
    const perSample = bytes / samples;
    return {
      target: 'T6', what,
      figure: `${perSample.toFixed(2)} bytes/sample (${(bytes / 2 ** 20).toFixed(1)} MB, ${grouped(samples)} samples, ${grouped(flows)} flows, ${grouped(frames)} frames); ` +
        (problems.length ? problems.join(', ') : `flow_sample query ok${have('sqlite3') ? ' (also sqlite3 shell)' : ''}`),
      goal: `<= ${T6_MAX_BYTES} B, plain SQLite`,
      result: check(perSample <= T6_MAX_BYTES && problems.length === 0),
    };
  } finally {
    db.close();
  }
}

function replayPreload(dir: string, out: string): string {
  const file = path.join(dir, 'replay-preload.js');
  fs.writeFileSync(file, `'use strict';
// Notes when the capture is open (CaptureReader.open returned) on the monotonic clock the bench also reads, and the peak RSS.
const fs = require('fs');
const { CaptureReader } = require(${JSON.stringify(path.join(ROOT, 'dist/src/capture/reader.js'))});
const now = () => Number(process.hrtime.bigint() / 1000n);
const t = {};
const open = CaptureReader.open;
CaptureReader.open = function (p) {
  t.openStartUs = now();
  const r = open.call(this, p);
  t.openEndUs = now();
  return r;
};
process.on('exit', () => fs.writeFileSync(process.env.TCPTOP_BENCH_OUT || ${JSON.stringify(out)}, JSON.stringify({ ...t, maxRssKb: process.resourceUsage().maxRSS })));
`);
  return file;
}

interface ReplayRun {
  /** From CaptureReader.open returning to the last byte of the view arriving on the pipe. */
  afterOpenMs: number;
  openMs: number;
  /** From spawning the process to the view, Node's start-up included. */
  totalMs: number;
  peakRssMb: number;
}

/** `tcptop replay --from FROM FILE 1 1`: one view; the bench times the bytes as they arrive on its stdout. */
function firstView(preload: string, out: string, file: string, from: string): Promise<ReplayRun> {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(process.execPath, ['--require', preload, CLI, 'replay', '--from', from, file, '1', '1'],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, TCPTOP_BENCH_OUT: out } });
    let text = '';
    let err = '';
    let lastUs = 0;
    child.stdout.setEncoding('utf8').on('data', (c: string) => {
      lastUs = Number(process.hrtime.bigint() / 1000n);
      text += c;
    });
    child.stderr.setEncoding('utf8').on('data', (c: string) => {
      err += c;
    });
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`tcptop replay --from ${from} failed: ${err.trim()}`));
      if (!text.startsWith('Tracing...') || text.split('loadavg:').length !== 2) return reject(new Error(`tcptop replay --from ${from}: not one view: ${text.slice(0, 200)}`));
      const t = JSON.parse(fs.readFileSync(out, 'utf8')) as { openStartUs: number; openEndUs: number; maxRssKb: number };
      resolve({ afterOpenMs: (lastUs - t.openEndUs) / 1000, openMs: (t.openEndUs - t.openStartUs) / 1000,
        totalMs: (lastUs - Number(t0 / 1000n)) / 1000, peakRssMb: t.maxRssKb / 1024 });
    });
  });
}

/** A whole replay, unpaced, to /dev/null: its peak RSS and time. */
function fullReplay(preload: string, out: string, file: string): { peakRssMb: number; seconds: number } {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, ['--require', preload, CLI, 'replay', file], { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8', env: { ...process.env, TCPTOP_BENCH_OUT: out } });
  if (r.status !== 0) throw new Error(`tcptop replay ${file} failed: ${r.stderr}`);
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  return { peakRssMb: (JSON.parse(fs.readFileSync(out, 'utf8')) as { maxRssKb: number }).maxRssKb / 1024, seconds };
}

/** Moments of the generated hour (14:00 to 15:00 UTC) to start a replay at: start, middle, near and at the end. */
export const MOMENTS = ['+1s', '+20m', '14:45:30', '2026-11-20T14:59:30Z', '-1s'];

export async function benchCaptures(dir: string, real: string | undefined, log: (line: string) => void): Promise<Row[]> {
  const rows: Row[] = [];
  rows.push(real ? captureSize(real, 'real recording (5,000 connections, 10,000 flows)') : notRun('T6', 'real recording', 'the kernel benchmark made none', `<= ${T6_MAX_BYTES} B`));

  const hour = path.join(dir, 'hour.db');
  const ten = path.join(dir, 'ten-minutes.db');
  const t0 = Date.now();
  generateBenchCapture(hour, 3600, 1000);
  generateBenchCapture(ten, 600, 1000);
  log(`generated the one-hour and ten-minute captures in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  rows.push(captureSize(hour, 'generated hour, 1,000 flows per frame'));

  const out = path.join(dir, 'replay-times.json');
  const preload = replayPreload(dir, out);
  const views: { from: string; run: ReplayRun }[] = [];
  for (const from of MOMENTS) {
    const runs: ReplayRun[] = [];
    for (let i = 0; i < 3; i++) runs.push(await firstView(preload, out, hour, from));
    runs.sort((a, b) => a.afterOpenMs - b.afterOpenMs);
    views.push({ from, run: runs[1] });
  }
  const worst = views.reduce((w, v) => (v.run.afterOpenMs > w.run.afterOpenMs ? v : w));
  rows.push({
    target: 'T7', what: `replay --from, first view of the hour (${MOMENTS.length} moments)`,
    figure: `worst ${worst.run.afterOpenMs.toFixed(1)} ms after open (--from ${worst.from}; open ${worst.run.openMs.toFixed(1)} ms, ` +
      `${worst.run.totalMs.toFixed(0)} ms from exec); all: ${views.map((v) => v.run.afterOpenMs.toFixed(1)).join(', ')} ms`,
    goal: `<= ${T7_MAX_MS} ms`, result: check(worst.run.afterOpenMs <= T7_MAX_MS),
  });
  const tenView = await firstView(preload, out, ten, '-1s');
  const hourView = views[views.length - 1].run;
  const h = fullReplay(preload, out, hour);
  const m = fullReplay(preload, out, ten);
  const spread = h.peakRssMb / m.peakRssMb - 1;
  rows.push({
    target: 'T7', what: 'replay memory, hour vs ten minutes',
    figure: `whole replay peak RSS ${h.peakRssMb.toFixed(0)} vs ${m.peakRssMb.toFixed(0)} MB (${spread >= 0 ? '+' : ''}${(spread * 100).toFixed(1)}%; ` +
      `${h.seconds.toFixed(1)} / ${m.seconds.toFixed(1)} s); last view alone ${hourView.peakRssMb.toFixed(0)} vs ${tenView.peakRssMb.toFixed(0)} MB`,
    goal: `within ${T7_RSS_SPREAD * 100}%`, result: check(Math.abs(spread) <= T7_RSS_SPREAD),
  });
  return rows;
}
