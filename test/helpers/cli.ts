// Runs the tcptop command line as a user would, in a child process.
import { spawnSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { CLI, ROOT } from './paths';
import type { Peer } from './traffic';

export interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function tcptop(args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string; input?: string } = {}): Run {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    cwd: opts.cwd ?? ROOT,
    env: { ...process.env, TZ: 'America/Los_Angeles', ...opts.env },
    encoding: 'utf8',
    input: opts.input,
    timeout: 60_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Starts tcptop without waiting, for commands that run until stopped. */
export function tcptopAsync(args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {}) {
  return spawn(process.execPath, [CLI, ...args], { cwd: opts.cwd ?? ROOT, env: { ...process.env, ...opts.env } });
}

/** One line on stderr, nothing else: what every refused input must produce. */
export function oneLine(r: Run): string {
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  if (lines.length !== 1) throw new Error(`expected one line on stderr, got ${lines.length}:\n${r.stderr}`);
  if (/\n\s+at /.test(r.stderr)) throw new Error(`stack trace on stderr:\n${r.stderr}`);
  return lines[0];
}

/** What the recorder and the live tool print once their probe is attached and counting. */
export const COUNTING = /^Tracing\.\.\. Output every|tcptop: recording to /m;

/**
 * Resolves once `child` has printed `signal` on stdout or stderr; rejects if it exits or stays silent for
 * `ms` first. Kernel tests start their traffic only after this: a first load of the programs on a fresh
 * machine can take far longer than any fixed delay a test would guess.
 */
export function printed(child: ChildProcess, signal: RegExp = COUNTING, ms = 30_000): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const done = (err?: Error): void => {
      clearTimeout(timer);
      child.stdout?.off('data', look);
      child.stderr?.off('data', look);
      child.off('exit', exited);
      if (err) reject(err);
      else resolve();
    };
    const look = (d: Buffer): void => {
      seen += d.toString();
      if (signal.test(seen)) done();
    };
    const exited = (code: number | null): void => done(new Error(`exited with ${code} before printing ${signal}: ${seen.slice(-500)}`));
    const timer = setTimeout(() => done(new Error(`no ${signal} within ${ms} ms: ${seen.slice(-500)}`)), ms);
    child.stdout?.on('data', look);
    child.stderr?.on('data', look);
    child.once('exit', exited);
  });
}

/**
 * Waits for `child` (a recorder or the live tool) while `peer` moves its bytes: the peer starts once the child
 * has said it is counting. Returns the child's stdout and exit code, and the peer's report.
 */
export async function whilePeerRuns<T>(child: ChildProcess, peer: Peer<T>): Promise<{ out: string; code: number | null; report: T }> {
  const exited = once(child, 'exit');
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  await printed(child);
  peer.go();
  const report = await peer.result;
  const [code] = (await exited) as [number | null];
  return { out, code, report };
}
