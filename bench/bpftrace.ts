// What users would run instead: the bpftrace one-liner that sums TCP bytes by process and socket.
import { spawn, spawnSync, type ChildProcessByStdio } from 'node:child_process';
import * as fs from 'node:fs';
import type { Readable } from 'node:stream';
import { tracepointsOf } from './bpf-stats';
import { ensureCommand } from './load';
import { sleep } from './recorder';

export const BPFTRACE_PROGRAM = 'tracepoint:sock:sock_send_length, tracepoint:sock:sock_recv_length { @[pid, comm, args->sk] = sum(args->ret); }';

const TRACEFS = '/sys/kernel/tracing';

/** Classic tracepoints are found through tracefs, which may not be mounted. */
function ensureTracefs(): string | null {
  if (fs.existsSync(`${TRACEFS}/events/sock/sock_send_length`)) return null;
  const r = spawnSync('mount', ['-t', 'tracefs', 'nodev', TRACEFS], { encoding: 'utf8' });
  if (fs.existsSync(`${TRACEFS}/events/sock/sock_send_length`)) return null;
  return `tracefs has no sock tracepoints (mount -t tracefs nodev ${TRACEFS}: ${r.stderr.trim() || 'failed'})`;
}

export class Bpftrace {
  private constructor(private readonly child: ChildProcessByStdio<null, Readable, Readable>, readonly send: number, readonly recv: number) {}

  get pid(): number {
    return this.child.pid!;
  }

  /** Starts the one-liner and waits until both its programs are attached; throws why it cannot. */
  static async start(log: (line: string) => void): Promise<Bpftrace> {
    const missing = ensureCommand('bpftrace', 'bpftrace', log) ?? ensureTracefs();
    if (missing) throw new Error(missing);
    const child = spawn('bpftrace', ['-e', BPFTRACE_PROGRAM], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stdout.resume();
    child.stderr.setEncoding('utf8').on('data', (c: string) => {
      err += c;
    });
    let exited = false;
    child.once('exit', () => {
      exited = true;
    });
    for (let waited = 0; waited < 30_000; waited += 100) {
      await sleep(100);
      if (exited) throw new Error(`bpftrace exited: ${err.trim().split('\n').pop()}`);
      const tps = tracepointsOf(child.pid!);
      const send = [...tps].find(([, tp]) => tp === 'sock_send_length')?.[0];
      const recv = [...tps].find(([, tp]) => tp === 'sock_recv_length')?.[0];
      if (send !== undefined && recv !== undefined) return new Bpftrace(child, send, recv);
    }
    child.kill('SIGKILL');
    throw new Error('bpftrace did not attach within 30 s');
  }

  async stop(): Promise<void> {
    const done = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.kill('SIGINT');
    await Promise.race([done, sleep(20_000).then(() => this.child.kill('SIGKILL'))]);
  }
}
