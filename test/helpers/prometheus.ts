// A real Prometheus for the tests: started on 127.0.0.1 on a free port with its own temporary storage, asked
// through its HTTP API, stopped after the test. Tests skip with the reason where it is not installed,
// never with CI=true (scripts/setup installs it).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import type { TestContext } from 'node:test';

export const PROMETHEUS = '/usr/bin/prometheus';
export const PROMTOOL = '/usr/bin/promtool';

function unavailable(): string | undefined {
  for (const p of [PROMETHEUS, PROMTOOL]) if (!fs.existsSync(p)) return `${p} is not installed (apt-get install prometheus, or scripts/setup)`;
  return undefined;
}

/** Test options for a test that needs Prometheus: skipped with the reason where it is missing, unless CI=true. */
export const prometheus = { skip: unavailable() !== undefined && process.env.CI !== 'true' ? unavailable() : false };

/** A TCP port free on 127.0.0.1 now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** Polls `check` until it returns a value (not undefined), or fails after `ms` naming what it waited for. */
export async function until<T>(what: string, check: () => Promise<T | undefined>, ms = 60_000): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

export interface Prometheus {
  url: string;
  child: ChildProcess;
  /** Stops it and waits until it has exited (before its storage is removed). */
  stop(): Promise<void>;
  /** An instant query; `time` in seconds. Returns the result vector. */
  query(promql: string, time?: number): Promise<{ metric: Record<string, string>; value: [number, string] }[]>;
}

/** Starts Prometheus on `storage` with the given scrape configs; resolves once it is ready. */
export async function startPrometheus(t: TestContext, storage: string, scrapeConfigs: object[] = []): Promise<Prometheus> {
  const port = await freePort();
  const config = path.join(storage, '..', `prometheus-${port}.yml`);
  fs.writeFileSync(config, JSON.stringify({ global: { scrape_interval: '1s', evaluation_interval: '1s' }, scrape_configs: scrapeConfigs }));
  const child = spawn(PROMETHEUS, [
    `--config.file=${config}`, `--storage.tsdb.path=${storage}`, `--web.listen-address=127.0.0.1:${port}`,
    // Backfilled blocks can be older than the default 15 days: retention would delete them at once.
    '--storage.tsdb.retention.time=100y',
  ], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr!.on('data', (d) => (log = (log + d).slice(-4000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  };
  // A safety net only: after-hooks run in the order registered, so a test stops it itself before its
  // temporary directory goes.
  t.after(stop);
  const url = `http://127.0.0.1:${port}`;
  await until('prometheus to be ready', async () => {
    if (child.exitCode !== null) throw new Error(`prometheus exited ${child.exitCode}: ${log}`);
    const r = await fetch(`${url}/-/ready`);
    return r.ok ? true : undefined;
  });
  return {
    url,
    child,
    stop,
    async query(promql, time) {
      const q = new URLSearchParams({ query: promql });
      if (time !== undefined) q.set('time', String(time));
      const r = await fetch(`${url}/api/v1/query?${q}`);
      const j = (await r.json()) as { status: string; error?: string; data: { result: { metric: Record<string, string>; value: [number, string] }[] } };
      if (j.status !== 'success') throw new Error(`query ${promql}: ${j.error}`);
      return j.data.result;
    },
  };
}

/** Runs promtool; throws with its output when it fails. */
export function promtool(args: string[]): string {
  const r = spawnSync(PROMTOOL, args, { encoding: 'utf8', maxBuffer: 256 << 20, timeout: 120_000 });
  if (r.status !== 0) throw new Error(`promtool ${args.join(' ')} exited ${r.status}: ${r.stderr}${r.stdout}`.slice(0, 4000));
  return r.stdout;
}
