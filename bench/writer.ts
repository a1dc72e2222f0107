// The writer under connection churn: does its memory follow the flows alive at once, or every flow it has seen?
// In a child process with --expose-gc, so the heap is measured after a full collection, away from the bench's own.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { CaptureHeader } from '../src/capture/meta';
import { flowKeyString, type FlowKey, type FrameFlows, type FrameInput } from '../src/capture/types';
import { CaptureWriter } from '../src/capture/writer';
import { BENCH_HEADER } from './report';
import { check, grouped, type Row } from './table';

const NEW_PER_FRAME = 1_000;
const FRAMES = 1_000;
/** Where the first measurement is taken: after this many frames, 100,000 flows. */
const EARLY_FRAMES = 100;
export const CHURN_MAX_GROWTH_MB = 2;

interface ChurnResult {
  earlyHeapMb: number;
  lateHeapMb: number;
  flows: number;
  liveFlows: number;
  seconds: number;
}

const HEADER: CaptureHeader = { ...BENCH_HEADER, commandLine: ['node', 'bench/writer.js'] };

/** Every frame, 1,000 connections from distinct clients to a server's port 443, each ending in the next frame. */
function churn(file: string): ChurnResult {
  const gc = (globalThis as { gc?: () => void }).gc!;
  const heapMb = () => {
    gc();
    return process.memoryUsage().heapUsed / 1e6;
  };
  const w = CaptureWriter.create(file, HEADER, { force: true });
  const started = process.hrtime.bigint();
  let ended: string[] = [];
  let earlyHeapMb = 0;
  for (let f = 1; f <= FRAMES; f++) {
    const flows = Array.from({ length: NEW_PER_FRAME }, (_, i) => {
      const n = f * NEW_PER_FRAME + i;
      const key: FlowKey = { pid: 1000 + (n % 8), comm: 'nginx', family: 4, laddr: '10.0.0.5', lport: 443,
        raddr: `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`, rport: 1024 + (n % 60_000) };
      return { ...key, id: flowKeyString(key) };
    });
    const columns: FrameFlows = { count: flows.length, flows, rx: new Float64Array(flows.length).fill(1_500),
      tx: new Float64Array(flows.length).fill(40_000), ended };
    const frame: FrameInput = { wallUs: HEADER.startWallUs + f * 1e6, monoUs: f * 1e6, intervalUs: 1e6,
      loadavg: { load1: 1, load5: 1, load15: 1, running: 1, tasks: 200, lastPid: 1, raw: '1.00 1.00 1.00 1/200 1' },
      lost: { events: 0, rxBytes: 0, txBytes: 0 } };
    w.append(frame, columns);
    ended = flows.map((k) => k.id);
    if (f === EARLY_FRAMES) earlyHeapMb = heapMb();
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const result = { earlyHeapMb, lateHeapMb: heapMb(), flows: w.flows, liveFlows: w.liveFlows, seconds };
  w.close(true);
  return result;
}

export function benchWriterChurn(dir: string): Row {
  const what = `writer heap, ${grouped(NEW_PER_FRAME)} new flows a frame ending in the next (in-process)`;
  const out = spawnSync(process.execPath, ['--expose-gc', __filename, path.join(dir, 'churn.db')], { encoding: 'utf8' });
  fs.rmSync(path.join(dir, 'churn.db'), { force: true });
  if (out.status !== 0) return { target: 'churn', what, figure: `not run: ${out.stderr.trim().split('\n').pop()}`, goal: '', result: 'FAIL' };
  const r = JSON.parse(out.stdout) as ChurnResult;
  const growth = r.lateHeapMb - r.earlyHeapMb;
  return {
    target: 'churn', what,
    figure: `${r.earlyHeapMb.toFixed(1)} MB after ${grouped(EARLY_FRAMES * NEW_PER_FRAME)} flows, ${r.lateHeapMb.toFixed(1)} MB after ` +
      `${grouped(r.flows)} (${growth >= 0 ? '+' : ''}${growth.toFixed(1)} MB; ${grouped(r.liveFlows)} held at the end; ${r.seconds.toFixed(1)} s)`,
    goal: `grows < ${CHURN_MAX_GROWTH_MB} MB`,
    result: check(growth < CHURN_MAX_GROWTH_MB && r.flows === FRAMES * NEW_PER_FRAME),
  };
}

if (require.main === module) process.stdout.write(`${JSON.stringify(churn(process.argv[2]))}\n`);
