// The load generator (load.c): compiled with cc on the bench machine, run as child processes of at most
// PER_PROCESS connections each, since one process may hold only about 20,000 descriptors there.
import { spawn, spawnSync, type ChildProcessByStdio } from 'node:child_process';
import * as path from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { enableStats } from './bpf-stats';

const SOURCE = path.resolve(__dirname, '../../bench/load.c');
const PER_PROCESS = 8000;

/** Whether a command is on the PATH. */
export function have(command: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

/**
 * Makes sure a Debian package's command is there, installing the package with apt-get when it is not.
 * Returns null when the command is there, else why not.
 */
export function ensureCommand(command: string, pkg: string, log: (line: string) => void): string | null {
  if (have(command)) return null;
  log(`${command} is missing: apt-get install -y ${pkg}`);
  const apt = (...args: string[]) => spawnSync('apt-get', args, { encoding: 'utf8', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  let r = apt('install', '-y', '--no-install-recommends', pkg);
  if (r.status !== 0) {
    // a fresh machine may have no package lists yet
    apt('update');
    r = apt('install', '-y', '--no-install-recommends', pkg);
  }
  if (have(command)) return null;
  return `${command} is missing and apt-get install ${pkg} failed${r.stderr ? `: ${r.stderr.trim().split('\n').pop()}` : ''}`;
}

/** Compiles one of the bench's C programs into `dir` as `name`; returns the binary's path. */
function compile(dir: string, source: string, name: string, log: (line: string) => void): string {
  const why = ensureCommand('cc', 'gcc', log);
  if (why) throw new Error(why);
  const bin = path.join(dir, name);
  const r = spawnSync('cc', ['-O2', '-pthread', '-o', bin, source], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`cc ${source} failed: ${r.stderr.trim()}`);
  return bin;
}

/** Compiles the load generator into `dir`; returns the binary's path. */
export function buildLoader(dir: string, log: (line: string) => void): string {
  return compile(dir, SOURCE, 'loadgen', log);
}

/**
 * What a benchmark of the kernel programs needs: root, bpftool, the kernel's BPF statistics on (until `restore`)
 * and the load generator built into `dir`. Throws why not.
 */
export function kernelBenchSetup(dir: string, log: (line: string) => void): { bin: string; restore: () => void } {
  if (process.getuid?.() !== 0) throw new Error('needs root (BPF programs and their statistics)');
  const noBpftool = ensureCommand('bpftool', 'bpftool', log);
  if (noBpftool) throw new Error(noBpftool);
  const restore = enableStats();
  try {
    return { bin: buildLoader(dir, log), restore };
  } catch (err) {
    restore();
    throw err;
  }
}

/** One load generator process and its connections. */
class Loader {
  private lines: string[] = [];
  private waiting: ((line: string) => void) | null = null;
  private exited = false;

  private constructor(private readonly child: ChildProcessByStdio<Writable, Readable, Readable>, readonly connections: number) {
    let rest = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      rest += chunk;
      for (let nl = rest.indexOf('\n'); nl >= 0; nl = rest.indexOf('\n')) {
        const line = rest.slice(0, nl);
        rest = rest.slice(nl + 1);
        if (this.waiting) {
          const w = this.waiting;
          this.waiting = null;
          w(line);
        } else this.lines.push(line);
      }
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      err += chunk;
    });
    child.on('exit', (code) => {
      this.exited = true;
      if (this.waiting) this.waiting(`exit ${code}: ${err.trim()}`);
    });
  }

  static async start(bin: string, connections: number, spread = false): Promise<Loader> {
    const args = spread ? [String(connections), '64', 'spread'] : [String(connections)];
    const l = new Loader(spawn(bin, args, { stdio: ['pipe', 'pipe', 'pipe'] }), connections);
    await l.expect('ready');
    return l;
  }

  private next(): Promise<string> {
    const line = this.lines.shift();
    if (line !== undefined) return Promise.resolve(line);
    if (this.exited) return Promise.resolve('exit');
    return new Promise((resolve) => {
      this.waiting = resolve;
    });
  }

  private async expect(word: string): Promise<void> {
    const line = await this.next();
    if (!line.startsWith(word)) throw new Error(`load generator: expected "${word}", got "${line}"`);
  }

  get pid(): number {
    return this.child.pid!;
  }

  async touch(): Promise<void> {
    this.child.stdin.write('touch\n');
    await this.expect('touched');
  }

  pump(rate: number): void {
    this.child.stdin.write(`pump ${rate}\n`);
  }

  /** New connections at `perSecond` for `seconds`, each used once and closed; resolves to how many were made. */
  async storm(perSecond: number, seconds: number): Promise<number> {
    this.child.stdin.write(`storm ${perSecond} ${seconds}\n`);
    const line = await this.next();
    const made = /^stormed (\d+)/.exec(line);
    if (!made) throw new Error(`load generator: expected "stormed", got "${line}"`);
    return Number(made[1]);
  }

  async stop(): Promise<void> {
    if (this.exited) return;
    const done = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.stdin.end();
    await done;
  }
}

/** `total` connections over as many load generator processes as they need. */
export class Load {
  private constructor(private readonly loaders: Loader[], readonly connections: number) {}

  /** With `spread`, each connection's client end has an address of its own in 127/8 (the same ones in each process). */
  static async start(bin: string, total: number, opts: { spread?: boolean } = {}): Promise<Load> {
    const started: Promise<Loader>[] = [];
    for (let left = total; left > 0; left -= PER_PROCESS) started.push(Loader.start(bin, Math.min(PER_PROCESS, left), opts.spread));
    const settled = await Promise.allSettled(started);
    const loaders = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
    const failed = settled.find((s) => s.status === 'rejected');
    if (failed) {
      await Promise.all(loaders.map((l) => l.stop()));
      throw (failed as PromiseRejectedResult).reason;
    }
    return new Load(loaders, total);
  }

  /** One send and receive on every connection, so that each end holds a flow in the probe's table. */
  async touch(): Promise<void> {
    await Promise.all(this.loaders.map((l) => l.touch()));
  }

  /** The load generator processes' pids. */
  get pids(): number[] {
    return this.loaders.map((l) => l.pid);
  }

  /** A storm of short connections from the first process (storm in load.c); resolves to how many were made. */
  storm(perSecond: number, seconds: number): Promise<number> {
    return this.loaders[0].storm(perSecond, seconds);
  }

  /** Sends and receives round-robin over all connections at `rate` events per second in all; 0 stops. */
  pump(rate: number): void {
    for (const l of this.loaders) l.pump((rate * l.connections) / this.connections);
  }

  async stop(): Promise<void> {
    await Promise.all(this.loaders.map((l) => l.stop()));
  }
}
