// The interactive view on the generated hour (3,600 frames × 1,000 flows): each key that steps, seeks or
// re-bins timed from the key to the screen's lines (state machine + capture cursor + render, as the terminal
// edge calls them), and the view's peak RSS. Run in a child process of its own so the RSS is the view's alone.
//   node dist/bench/interactive.js [FILE]   (generates the hour when no file is given)
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CaptureReader } from '../src/capture/reader';
import { CaptureCursor } from '../src/replay/cursor';
import { UTC } from '../src/time/zone';
import type { Key } from '../src/view/interactive/keys';
import { render } from '../src/view/interactive/render';
import { buildRows } from '../src/view/interactive/rows';
import { initialState, reduceKey } from '../src/view/interactive/state';
import { generateBenchCapture } from './report';
import { check, type Row } from './table';

export const KEY_MAX_MS = 50;
export const VIEW_MAX_MB = 150;

type Kind = 'step' | 'seek' | 'rebin' | 'other';

/** Keys pressed in order, each with the kind of work it is. */
const SCRIPT: [Kind, (Key | string)[]][] = [
  ['step', Array(30).fill('right')],
  ['step', Array(10).fill('left')],
  ['seek', ['pagedown', 'pagedown', 'pageup', 'end', 'home', 'end']],
  ['seek', ['j', ...'14:30', 'enter']],
  ['seek', ['j', ...'+5m', 'enter']],
  ['seek', ['j', ...'-10m', 'enter']],
  ['seek', ['j', ...'2026-11-20T14:59:00Z', 'enter']],
  ['rebin', Array(9).fill('+')],
  ['step', Array(10).fill('right')],
  ['rebin', Array(9).fill('-')],
  ['other', ['s', 's', 's', 'g', 'g', 'g', 'g', 'g', '4', '4', '6', '6', 'down', 'down', 'up']],
  ['seek', ['home', 'end']],
];

interface Timing {
  kind: Kind;
  key: string;
  ms: number;
}

export interface InteractiveBench {
  openMs: number;
  timings: Timing[];
  peakRssMb: number;
}

/** Runs the script on `file` in this process. */
export function measure(file: string): InteractiveBench {
  const t0 = performance.now();
  const reader = CaptureReader.open(file);
  const span = reader.span()!;
  const cursor = new CaptureCursor(reader, span.firstSeq, span.lastSeq);
  let state = initialState({ live: false, frames: cursor.frames, factor: 1, startFrame: 0, sort: 'all' });
  const size = { width: 80, height: 24 };
  const screen = (): { lines: string[]; rows: ReturnType<typeof buildRows> } => {
    const bin = cursor.bin(state.pos, state.factor);
    const rows = buildRows(bin.flows, state);
    const lines = render(state, {
      host: reader.meta.hostname, zone: UTC, bin, rows, wallUs: cursor.timeline.wallUs, intervalUs: cursor.timeline.intervalUs,
      totals: cursor.timeline.totals, recordedUs: reader.meta.intervalUs, chart: null, color: false,
    }, size);
    return { lines, rows };
  };
  let shown = screen();
  const openMs = performance.now() - t0;
  const timings: Timing[] = [];
  for (const [kind, keys] of SCRIPT) {
    for (const k of keys) {
      const key: Key = typeof k === 'string' && k.length === 1 ? { char: k } : (k as Key);
      const start = performance.now();
      state = reduceKey(state, key, { rows: shown.rows, wallUs: cursor.timeline.wallUs, monoUs: cursor.timeline.monoUs, span: cursor.span(), zone: UTC });
      shown = screen();
      const ms = performance.now() - start;
      // Typing into the jump prompt only redraws its line; the Enter is the seek.
      const typing = state.prompt !== null || (typeof k === 'string' && k.length === 1 && kind === 'seek' && k !== 'j');
      timings.push({ kind: typing ? 'other' : kind, key: typeof key === 'object' ? key.char : key, ms });
    }
  }
  reader.close();
  return { openMs, timings, peakRssMb: process.resourceUsage().maxRSS / 1024 };
}

function stats(ms: number[]): { max: number; median: number } {
  const s = [...ms].sort((a, b) => a - b);
  return { max: s[s.length - 1] ?? 0, median: s[Math.floor(s.length / 2)] ?? 0 };
}

/** The bench rows: generates the hour, measures in a child process. */
export function benchInteractive(dir: string, log: (line: string) => void): Row[] {
  const file = path.join(dir, 'interactive-hour.db');
  if (!fs.existsSync(file)) generateBenchCapture(file, 3600, 1000);
  const r = spawnSync(process.execPath, [__filename, file], { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (r.status !== 0) throw new Error(`interactive bench failed: ${r.stderr.trim()}`);
  const b = JSON.parse(r.stdout) as InteractiveBench;
  const rows: Row[] = [];
  for (const kind of ['step', 'seek', 'rebin'] as const) {
    const t = b.timings.filter((x) => x.kind === kind);
    const s = stats(t.map((x) => x.ms));
    const worst = t.find((x) => x.ms === s.max)!;
    log(`  ${kind}: ${t.length} keys, median ${s.median.toFixed(1)} ms, worst ${s.max.toFixed(1)} ms (${worst.key})`);
    rows.push({
      target: 'view', what: `interactive view, key to screen: ${kind} (hour, 1,000 flows, ${t.length} keys)`,
      figure: `worst ${s.max.toFixed(1)} ms (${worst.key}), median ${s.median.toFixed(1)} ms`,
      goal: `<= ${KEY_MAX_MS} ms`, result: check(s.max <= KEY_MAX_MS),
    });
  }
  rows.push({
    target: 'view', what: 'interactive view memory (hour, 1,000 flows)',
    figure: `peak RSS ${b.peakRssMb.toFixed(0)} MB; first screen ${b.openMs.toFixed(0)} ms after start (timeline of 3,600 frames read)`,
    goal: `< ${VIEW_MAX_MB} MB`, result: check(b.peakRssMb < VIEW_MAX_MB),
  });
  return rows;
}

if (require.main === module) {
  const given = process.argv[2];
  if (given) {
    process.stdout.write(JSON.stringify(measure(given)));
  } else {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tcptop-bench-'));
    try {
      const rows = benchInteractive(dir, (l) => process.stdout.write(`${l}\n`));
      for (const row of rows) process.stdout.write(`${row.what}: ${row.figure} [${row.goal}: ${row.result}]\n`);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
}
