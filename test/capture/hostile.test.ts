// Captures whose structure or values lie (test/helpers/hostile-captures.ts): each is refused in one line, or
// read as what it holds, and never makes a command hang. Most are read in a child process through the reader
// calls the commands make; a subset goes through the real command line.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { test } from 'node:test';
import { hostileCases, sampleSnapshot, type CaseResult, type HostileCase } from '../helpers/hostile-captures';
import { CLI, ROOT } from '../helpers/paths';
import { tempDir } from '../helpers/tmp';

/** Longest a case may take: a command on a file of a few MB must answer well within it. */
const CASE_TIMEOUT_MS = 10_000;
const RUNNER = path.join(__dirname, '../helpers/hostile-captures.js');

/** Runs the cases from `start` on in a child; resolves with their results and, if one hung, its index. */
function runFrom(dir: string, start: number, results: CaseResult[]): Promise<{ total: number; hung: number | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [RUNNER, dir, String(start)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let total = 0;
    let current: number | null = null;
    let hung: number | null = null;
    let stderr = '';
    let timer: NodeJS.Timeout | undefined;
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        hung = current ?? start;
        child.kill('SIGKILL');
      }, CASE_TIMEOUT_MS);
    };
    arm();
    child.stderr.on('data', (d) => (stderr += d));
    readline.createInterface({ input: child.stdout }).on('line', (line) => {
      const m = JSON.parse(line) as { total?: number; start?: number } & Partial<CaseResult>;
      if (m.total !== undefined) total = m.total;
      else if (m.start !== undefined) {
        current = m.start;
        arm();
      } else results.push(m as CaseResult);
    });
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
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
    results.push({ i: run.hung, kind: '?', name: '?', wrong: `no answer within ${CASE_TIMEOUT_MS / 1000} s`, outcome: 'read', ms: CASE_TIMEOUT_MS });
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
}

function cli(args: string[]): Promise<Cli> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, [CLI, ...args], { cwd: ROOT, env: { ...process.env, TZ: 'UTC' }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), CASE_TIMEOUT_MS);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stderr, ms: Math.round(performance.now() - t0) });
    });
  });
}

/** Problems with one command's answer to a case, or null. */
function checkCli(c: HostileCase, file: string, command: string, r: Cli): string | null {
  if (r.ms >= CASE_TIMEOUT_MS) return `${command}: no answer within ${CASE_TIMEOUT_MS / 1000} s`;
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

test('hostile captures through the command line: exit 2 and one line, or a view, within 10 s', { timeout: 300_000 }, async (t) => {
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
