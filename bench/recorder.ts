// `tcptop record` as a user runs it, in a child process, watched from outside: its programs (by the file
// descriptors it holds), its CPU time and memory from /proc, and (through a preload that wraps the sampler
// and the writer) how long each interval's drain and commit took.
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { programNames, programsOf } from './bpf-stats';

const ROOT = path.resolve(__dirname, '../..');
const CLI = path.join(ROOT, 'bin/tcptop');
const TICKS_PER_SECOND = 100; // USER_HZ, what /proc/PID/stat counts in on Linux

/** One interval as the recorder lived it: the drain (Sampler.sample: clocks, counters, load) and the commit. */
export interface IntervalTiming {
  /** CLOCK_MONOTONIC at the end of the commit, microseconds (comparable with process.hrtime in the bench). */
  atUs: number;
  flows: number;
  drainMs: number;
  /** The whole commit: the rows (insertMs) and the transaction's end, with its fsync. */
  appendMs: number;
  insertMs: number;
  /** CPU time of the recorder process (all its threads) over the drain and the commit: what is not CPU was waiting. */
  cpuMs: number;
}

function preloadSource(timingFile: string): string {
  const dist = path.join(ROOT, 'dist/src');
  return `'use strict';
// Times each interval's drain and commit in the recorder; written when it exits.
const fs = require('fs');
const { Sampler } = require(${JSON.stringify(path.join(dist, 'record/sampler.js'))});
const { CaptureWriter } = require(${JSON.stringify(path.join(dist, 'capture/writer.js'))});
const timings = [];
let last = null;
const sample = Sampler.prototype.sample;
const cpuMs = (u) => (u.user + u.system) / 1000;
Sampler.prototype.sample = function () {
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const s = sample.call(this);
  last = { flows: s.flows.count, drainMs: Number(process.hrtime.bigint() - t0) / 1e6, cpuMs: cpuMs(process.cpuUsage(c0)) };
  return s;
};
let insertMs = 0;
const insert = CaptureWriter.prototype.insert;
CaptureWriter.prototype.insert = function (...args) {
  const t0 = process.hrtime.bigint();
  try {
    return insert.apply(this, args);
  } finally {
    insertMs = Number(process.hrtime.bigint() - t0) / 1e6;
  }
};
const append = CaptureWriter.prototype.append;
CaptureWriter.prototype.append = function (frame, flows, ...rest) {
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const seq = append.call(this, frame, flows, ...rest);
  const t1 = process.hrtime.bigint();
  const cpu = cpuMs(process.cpuUsage(c0)) + (last ? last.cpuMs : 0);
  timings.push({ atUs: Number(t1 / 1000n), flows: last ? last.flows : flows.count, drainMs: last ? last.drainMs : 0, appendMs: Number(t1 - t0) / 1e6, insertMs, cpuMs: cpu });
  last = null;
  return seq;
};
process.on('exit', () => fs.writeFileSync(${JSON.stringify(timingFile)}, JSON.stringify(timings)));
`;
}

export class Recorder {
  /** Program names by id, of the programs this recorder loaded. */
  readonly programs: Map<number, string>;
  private stderr = '';
  private readonly exited: Promise<number | null>;

  private constructor(private readonly child: ChildProcess, readonly file: string, private readonly timingFile: string) {
    child.stderr!.setEncoding('utf8').on('data', (c: string) => {
      this.stderr += c;
    });
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    this.programs = new Map();
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** Starts `tcptop record -o file -i 1` (and `args`) and waits until it is recording; `preloads` are required before it too. */
  static async start(file: string, dir: string, args: readonly string[] = [], preloads: readonly string[] = []): Promise<Recorder> {
    const name = path.basename(file, '.db');
    const preload = path.join(dir, `${name}-preload.js`);
    const timingFile = path.join(dir, `${name}-timing.json`);
    fs.writeFileSync(preload, preloadSource(timingFile));
    const child = spawn(process.execPath, [...preloads.flatMap((p) => ['--require', p]), '--require', preload, CLI, 'record', '-o', file, '-i', '1', '--force', '--no-status', ...args],
      { stdio: ['ignore', 'ignore', 'pipe'] });
    const r = new Recorder(child, file, timingFile);
    const deadline = Date.now() + 30_000;
    while (!r.stderr.includes('recording to')) {
      const code = await Promise.race([r.exited, sleep(50).then(() => undefined)]);
      if (code !== undefined) throw new Error(`tcptop record exited with ${code}: ${r.stderr.trim()}`);
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`tcptop record did not start in 30 s: ${r.stderr.trim()}`);
      }
    }
    for (const [id, n] of programNames(programsOf(r.pid).map((p) => p.id))) r.programs.set(id, n);
    return r;
  }

  /** The id of this recorder's program called `name` (tp_send, tp_recv, ...). */
  program(name: string): number | undefined {
    for (const [id, n] of this.programs) if (n === name) return id;
    return undefined;
  }

  /** utime + stime of the whole process (all threads), in seconds. */
  cpuSeconds(): number {
    return processCpuSeconds(this.pid);
  }

  /** Resident memory now and its peak so far, MB. */
  memory(): { rssMb: number; peakMb: number } {
    const status = fs.readFileSync(`/proc/${this.pid}/status`, 'utf8');
    const kb = (k: string) => Number(new RegExp(`^${k}:\\s*(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
    return { rssMb: kb('VmRSS') / 1024, peakMb: kb('VmHWM') / 1024 };
  }

  /** Stops it as Ctrl-C would and returns its interval timings. */
  async stop(): Promise<IntervalTiming[]> {
    this.child.kill('SIGINT');
    const code = await Promise.race([this.exited, sleep(60_000).then(() => 'timeout' as const)]);
    if (code === 'timeout') {
      this.child.kill('SIGKILL');
      throw new Error('tcptop record did not stop within 60 s of SIGINT');
    }
    if (code !== 0) throw new Error(`tcptop record exited with ${code}: ${this.stderr.trim()}`);
    return JSON.parse(fs.readFileSync(this.timingFile, 'utf8')) as IntervalTiming[];
  }

  /** Stops it without waiting for anything, for cleaning up after a failure. */
  kill(): void {
    this.child.kill('SIGKILL');
  }
}

/** Runs a benchmark's cleanups, last registered first; one that fails (its process already gone) stops no other. */
export async function runCleanups(cleanup: (() => unknown)[]): Promise<void> {
  for (const c of cleanup.reverse()) {
    try {
      await c();
    } catch {
      // already gone
    }
  }
}

/** utime + stime of process `pid` (all threads), in seconds. */
export function processCpuSeconds(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // after "pid (comm) ", field 3 (state) is index 0: utime is field 14, stime 15
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function monoUs(): number {
  return Number(process.hrtime.bigint() / 1000n);
}

export function machine(): string {
  const cpus = os.cpus();
  return `${cpus[0]?.model.trim() ?? 'unknown CPU'}, ${cpus.length} CPUs, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB`;
}
