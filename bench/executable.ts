// The single executables (scripts/executable): their size, and how long they take to start against the
// same command run by node from the installed tree (bin/tcptop), measured in the same run.
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { check, type Row } from './table';

const ROOT = path.resolve(__dirname, '../..');
const RUNS = 15;
/** The executable is one file to copy to a host: it must stay small enough to ship over a slow link. */
export const EXECUTABLE_MAX_MB = 120;
/** Start-up may cost this much more CPU than node starting bin/tcptop (it extracts the addons it loads). */
export const START_MAX_RATIO = 1.5;

/** CPU time (user + system) of this process's waited-for children so far, in ms: /proc reports it in 1/100 s. */
function childrenCpuMs(): number {
  const fields = fs.readFileSync('/proc/self/stat', 'utf8').replace(/^.*\) /, '').split(' ');
  // after the command name: field 16 (cutime) and 17 (cstime) of proc(5) are the 14th and 15th here
  return (Number(fields[13]) + Number(fields[14])) * 10;
}

/**
 * `cmd args` run RUNS times after one warm-up: the median wall time, and the mean CPU time, in ms. CPU time
 * hardly changes with other jobs on the machine; wall time does.
 */
function startMs(cmd: string, args: string[]): { wall: number; cpu: number } {
  const times: number[] = [];
  let cpu = 0;
  for (let i = 0; i <= RUNS; i++) {
    const c0 = childrenCpuMs();
    const t0 = process.hrtime.bigint();
    const r = spawnSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    if (r.status !== 0) throw new Error(`${path.basename(cmd)} ${args.join(' ')} exited ${r.status}: ${r.stderr.trim()}`);
    if (i > 0) {
      times.push(ms);
      cpu += childrenCpuMs() - c0;
    }
  }
  times.sort((a, b) => a - b);
  return { wall: times[Math.floor(times.length / 2)], cpu: cpu / RUNS };
}

export function benchExecutable(dir: string, log: (line: string) => void): Row[] {
  const exe = path.join(dir, `tcptop-linux-${os.arch()}`);
  log(`  building ${path.basename(exe)} with scripts/executable`);
  execFileSync(path.join(ROOT, 'scripts/executable'), ['--arch', os.arch(), '--out', exe], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
  const mb = fs.statSync(exe).size / 1e6;
  const sample = path.join(ROOT, 'fixtures/sample.db');
  const cli = path.join(ROOT, 'bin/tcptop');
  const rows: Row[] = [{
    target: 'executable', what: `tcptop-<version>-linux-${os.arch()}: size`,
    figure: `${mb.toFixed(1)} MB`, goal: `< ${EXECUTABLE_MAX_MB} MB`, result: check(mb < EXECUTABLE_MAX_MB),
  }];
  const commands: [string, string[]][] = [['--version', ['--version']], ['replay of fixtures/sample.db', ['replay', '-C', sample]]];
  for (const [what, args] of commands) {
    log(`  ${what}: ${RUNS} runs each, the executable and node bin/tcptop`);
    const own = startMs(exe, args);
    const node = startMs(process.execPath, [cli, ...args]);
    rows.push({
      target: 'executable', what: `start-up and ${what} (${RUNS} runs)`,
      figure: `CPU ${own.cpu.toFixed(0)} ms (node bin/tcptop ${node.cpu.toFixed(0)} ms, x${(own.cpu / node.cpu).toFixed(2)}); `
        + `wall ${own.wall.toFixed(0)} ms (node bin/tcptop ${node.wall.toFixed(0)} ms)`,
      goal: `CPU <= x${START_MAX_RATIO} node bin/tcptop`, result: check(own.cpu <= START_MAX_RATIO * node.cpu),
    });
  }
  // the arm64 one is measured by size only: this machine cannot run it
  const other = os.arch() === 'x64' ? 'arm64' : 'x64';
  const version = (JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
  const built = path.join(ROOT, 'release', `tcptop-${version}-linux-${other}`);
  if (fs.existsSync(built)) {
    const otherMb = fs.statSync(built).size / 1e6;
    rows.push({
      target: 'executable', what: `release/tcptop-${version}-linux-${other}: size (npm run package)`,
      figure: `${otherMb.toFixed(1)} MB`, goal: `< ${EXECUTABLE_MAX_MB} MB`, result: check(otherMb < EXECUTABLE_MAX_MB),
    });
  }
  return rows;
}
