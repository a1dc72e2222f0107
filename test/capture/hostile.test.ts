// Captures whose structure or values lie (test/helpers/hostile-captures.ts): each is refused in one line, or
// read as what it holds, and never makes a command hang. Most are read in a child process through the reader
// calls the commands make; a subset goes through the real command line.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { test } from 'node:test';
import { hostileCases, sampleSnapshot, type CaseResult, type HostileCase } from '../helpers/hostile-captures';
import { CLI, ROOT } from '../helpers/paths';
import { tempDir } from '../helpers/tmp';

/** A case hangs when its process spends this much CPU on it: a command on a file of a few MB answers well within
 * it. CPU, not the clock, so that a machine busy with other work does not make a slow case look hung... */
const CASE_CPU_MS = 10_000;
/** ...or when it takes this long by the clock (a hang that waits on something rather than spins). */
const CASE_WALL_MS = 120_000;
const HANG = `no answer within ${CASE_CPU_MS / 1000} s of CPU or ${CASE_WALL_MS / 1000} s`;
const TICK_MS = 1000 / Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }));

/** CPU time a process has used, user and system, in ms (null once it is gone). */
function cpuMsOf(pid: number): number | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * TICK_MS;
  } catch {
    return null;
  }
}

/** Calls `onHang` once the process has spent CASE_CPU_MS of CPU or CASE_WALL_MS since the last `arm()`. */
function watchForHang(pid: number, onHang: () => void): { arm(): void; stop(): void } {
  let cpu0 = 0;
  let wall0 = 0;
  const arm = () => {
    cpu0 = cpuMsOf(pid) ?? 0;
    wall0 = performance.now();
  };
  arm();
  const timer = setInterval(() => {
    const cpu = cpuMsOf(pid);
    if ((cpu !== null && cpu - cpu0 >= CASE_CPU_MS) || performance.now() - wall0 >= CASE_WALL_MS) {
      clearInterval(timer);
      onHang();
    }
  }, 100);
  return { arm, stop: () => clearInterval(timer) };
}
const RUNNER = path.join(__dirname, '../helpers/hostile-captures.js');

/** Runs the cases from `start` on in a child; resolves with their results and, if one hung, its index. */
function runFrom(dir: string, start: number, results: CaseResult[]): Promise<{ total: number; hung: number | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [RUNNER, dir, String(start)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let total = 0;
    let current: number | null = null;
    let hung: number | null = null;
    let stderr = '';
    const watch = watchForHang(child.pid!, () => {
      hung = current ?? start;
      child.kill('SIGKILL');
    });
    child.stderr.on('data', (d) => (stderr += d));
    readline.createInterface({ input: child.stdout }).on('line', (line) => {
      const m = JSON.parse(line) as { total?: number; start?: number } & Partial<CaseResult>;
      if (m.total !== undefined) total = m.total;
      else if (m.start !== undefined) {
        current = m.start;
        watch.arm();
      } else results.push(m as CaseResult);
    });
    child.on('error', reject);
    child.on('close', (code) => {
      watch.stop();
      if (hung === null && code !== 0) reject(new Error(`the runner failed (${code}): ${stderr}`));
      else resolve({ total, hung });
    });
  });
}

test('hostile captures: each refused in one line, or read as what it holds, none hanging', { timeout: 600_000 }, async (t) => {
  const dir = tempDir(t);
  const results: CaseResult[] = [];
  const hangs: number[] = [];
  let total = Infinity;
  for (let start = 0; start < total;) {
    const run = await runFrom(dir, start, results);
    total = run.total;
    if (run.hung === null) break;
    hangs.push(run.hung);
    results.push({ i: run.hung, kind: '?', name: '?', wrong: HANG, outcome: 'read', ms: CASE_WALL_MS });
    start = run.hung + 1;
  }
  const byKind = new Map<string, { cases: number; refusedOnOpen: number; refusedReading: number; read: number }>();
  for (const r of results) {
    const k = byKind.get(r.kind) ?? { cases: 0, refusedOnOpen: 0, refusedReading: 0, read: 0 };
    k.cases++;
    if (r.outcome === 'read') k.read++;
    else if (r.outcome === 'refused on open') k.refusedOnOpen++;
    else k.refusedReading++;
    byKind.set(r.kind, k);
  }
  for (const [kind, k] of byKind) t.diagnostic(`${kind}: ${k.cases} (refused on open ${k.refusedOnOpen}, while reading ${k.refusedReading}, read ${k.read})`);
  const slowest = results.reduce((a, b) => (b.ms > a.ms ? b : a));
  t.diagnostic(`${results.length} cases; slowest ${slowest.ms} ms (${slowest.kind}: ${slowest.name})`);
  const names = hostileCases(sampleSnapshot()).map((c) => `${c.kind}: ${c.name}`);
  const wrong = results.filter((r) => r.wrong !== null).map((r) => `#${r.i} ${names[r.i]}: ${r.wrong}`);
  assert.deepEqual(wrong, [], `${wrong.length} of ${results.length} cases wrong`);
  assert.equal(results.length, total);
  assert.ok(total >= 200, `only ${total} cases`);
});

interface Cli {
  status: number | null;
  stderr: string;
  ms: number;
  hung: boolean;
}

function cli(args: string[]): Promise<Cli> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, [CLI, ...args], { cwd: ROOT, env: { ...process.env, TZ: 'UTC' }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    let hung = false;
    child.stderr.on('data', (d) => (stderr += d));
    const watch = watchForHang(child.pid!, () => {
      hung = true;
      child.kill('SIGKILL');
    });
    child.on('close', (status) => {
      watch.stop();
      resolve({ status, stderr, ms: Math.round(performance.now() - t0), hung });
    });
  });
}

/** Problems with one command's answer to a case, or null. */
function checkCli(c: HostileCase, file: string, command: string, r: Cli): string | null {
  if (r.hung) return `${command}: ${HANG}`;
  if (/^\s+at /m.test(r.stderr)) return `${command}: stack trace: ${r.stderr}`;
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  const e = c.expect;
  const mustRefuse = 'open' in e || ('refused' in e && command === 'replay');
  const mayRefuse = mustRefuse || 'refusedOrSame' in e || 'refusedOrSameAs' in e || ('refused' in e && command !== 'replay');
  if (r.status === 0 && !mustRefuse && lines.length === 0) return null;
  if (r.status === 0) return `${command}: exit 0${mustRefuse ? ' for a capture it must refuse' : ''}, stderr ${JSON.stringify(r.stderr)}`;
  if (!mayRefuse) return `${command}: refused a capture it should read (${r.status}): ${r.stderr}`;
  if (r.status !== 2) return `${command}: exit status ${r.status}: ${r.stderr}`;
  if (lines.length !== 1) return `${command}: ${lines.length} lines on stderr: ${r.stderr}`;
  if (!lines[0].startsWith(`tcptop: ${file}: `)) return `${command}: the line does not name the file: ${lines[0]}`;
  const problem = 'open' in e ? e.open : 'refused' in e ? e.refused : /./;
  return problem.test(lines[0]) ? null : `${command}: ${lines[0]} does not match ${problem}`;
}

test('hostile captures through the command line: exit 2 and one line, or a view, none hanging', { timeout: 900_000 }, async (t) => {
  const dir = tempDir(t);
  const cases = hostileCases(sampleSnapshot());
  // The first two of each kind, and every table swapped for a view joined to an endless CTE.
  const seen = new Map<string, number>();
  const chosen = cases.filter((c) => {
    const n = (seen.get(c.kind) ?? 0) + 1;
    seen.set(c.kind, n);
    return n <= 2 || /joined to an endless CTE/.test(c.name);
  });
  const commands: Record<string, (file: string) => string[]> = {
    info: (file) => ['info', file],
    replay: (file) => ['replay', '-C', file],
    report: (file) => ['report', file],
    export: (file) => ['export', file, '-o', `${file}.out`],
  };
  const names = Object.keys(commands);
  const jobs: { c: HostileCase; file: string; command: string }[] = [];
  chosen.forEach((c, j) => {
    const file = c.make(dir);
    // Every command for the views joined to endless CTEs; one each, in turn, for the rest.
    const run = /joined to an endless CTE/.test(c.name) ? names : [names[j % names.length]];
    for (const command of run) jobs.push({ c, file, command });
  });
  const wrong: string[] = [];
  let slowest = 0;
  const worker = async () => {
    for (let job = jobs.shift(); job; job = jobs.shift()) {
      const r = await cli(commands[job.command](job.file));
      slowest = Math.max(slowest, r.ms);
      const problem = checkCli(job.c, job.file, job.command, r);
      if (problem) wrong.push(`${job.c.kind}: ${job.c.name}: ${problem}`);
      if (job.command === 'export' && r.status !== 0 && fs.existsSync(`${job.file}.out`)) wrong.push(`${job.c.name}: export left its output behind`);
    }
  };
  const count = jobs.length;
  await Promise.all([worker(), worker()]);
  t.diagnostic(`${chosen.length} captures, ${count} commands; slowest ${slowest} ms`);
  assert.deepEqual(wrong, []);
  assert.ok(chosen.length >= 20);
});
