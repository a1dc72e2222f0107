// What cgroups and names cost the recorder: 10,000 flows in 500 cgroups to 1,000 remote addresses, written frame
// after frame as the recorder writes them, without and with the cgroup paths and the name lookups. A synthetic
// drive, in a child process with --expose-gc per run: the cgroup tree is 500 directories made under a temporary
// directory (walked as the cgroup2 mount is, by inode number), and reverse DNS is a stand-in that answers each
// lookup after 1 ms; the writer, the cgroup cache and the lookups are the recorder's own.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { CaptureHeader } from '../src/capture/meta';
import { flowKeyString, type FlowKey, type FrameFlows, type FrameInput, type KeyedFlow } from '../src/capture/types';
import { CaptureWriter } from '../src/capture/writer';
import { CgroupPaths } from '../src/record/cgroups';
import { NameLookups } from '../src/record/names';
import { BENCH_HEADER } from './report';
import { grouped, type Row } from './table';

const FLOWS = 10_000;
const CGROUPS = 500;
const ADDRESSES = 1_000;
const FRAMES = 30;
const FRAME_MS = 100;

interface RunResult {
  cpuSeconds: number;
  heapMb: number;
  rssMb: number;
  cgroupRows: number;
  names: number;
  walks: number;
}

const HEADER: CaptureHeader = { ...BENCH_HEADER, commandLine: ['node', 'bench/names.js'] };

async function run(file: string, withBoth: boolean): Promise<RunResult> {
  const gc = (globalThis as { gc?: () => void }).gc!;
  const tree = fs.mkdtempSync(path.join(os.tmpdir(), 'tcptop-cgroups-'));
  const ids: number[] = [];
  for (let i = 0; i < CGROUPS; i++) {
    const dir = path.join(tree, `slice-${i % 10}.slice`, `svc-${i}.service`);
    fs.mkdirSync(dir, { recursive: true });
    ids.push(Number(fs.statSync(dir).ino));
  }
  const cgroups = new CgroupPaths(tree);
  const names = withBoth ? new NameLookups({ hosts: '', perSecond: 1_000_000, inFlight: 64,
    reverse: (addr) => new Promise((r) => setTimeout(() => r([`host-${addr.replace(/\./g, '-')}.example`]), 1)) }) : null;
  const w = CaptureWriter.create(file, HEADER, { force: true, cgroupPaths: withBoth ? (x) => cgroups.paths(x) : undefined });
  const flows: KeyedFlow[] = Array.from({ length: FLOWS }, (_, n) => {
    const key: FlowKey = { pid: 1000 + (n % 50), comm: 'svc', family: 4, laddr: '10.0.0.5', lport: 20_000 + n,
      raddr: `10.1.${(n % ADDRESSES) >> 8}.${(n % ADDRESSES) & 255}`, rport: 443, cgroup: ids[n % CGROUPS] };
    return { ...key, id: flowKeyString(key) };
  });
  const columns: FrameFlows = { count: FLOWS, flows, rx: new Float64Array(FLOWS).fill(1_500), tx: new Float64Array(FLOWS).fill(400) };
  gc();
  const cpu0 = process.cpuUsage();
  for (let f = 1; f <= FRAMES; f++) {
    const frame: FrameInput = { wallUs: HEADER.startWallUs + f * 1e6, monoUs: f * 1e6, intervalUs: 1e6,
      loadavg: { load1: 1, load5: 1, load15: 1, running: 1, tasks: 200, lastPid: 1, raw: '1.00 1.00 1.00 1/200 1' },
      lost: { events: 0, rxBytes: 0, txBytes: 0 } };
    w.append(frame, columns);
    if (names) {
      // as the recorder does after each frame
      w.addNames(names.take());
      for (let i = 0; i < columns.count; i++) names.note(columns.flows[i].raddr);
    }
    await new Promise((r) => setTimeout(r, FRAME_MS));
  }
  const cpu = process.cpuUsage(cpu0);
  gc();
  const mem = process.memoryUsage();
  const result = { cpuSeconds: (cpu.user + cpu.system) / 1e6, heapMb: mem.heapUsed / 1e6, rssMb: mem.rss / 1e6,
    cgroupRows: 0, names: 0, walks: cgroups.walks };
  names?.close();
  w.close(true);
  fs.rmSync(tree, { recursive: true, force: true });
  const Database = (await import('better-sqlite3')).default;
  const db = new Database(file, { readonly: true });
  result.cgroupRows = Number(db.prepare('SELECT count(*) FROM cgroup').pluck().get());
  result.names = Number(db.prepare('SELECT count(*) FROM name').pluck().get());
  db.close();
  return result;
}

export function benchCgroupsNames(dir: string): Row {
  const what = `recorder writing ${grouped(FLOWS)} flows in ${CGROUPS} cgroups to ${grouped(ADDRESSES)} addresses, ${FRAMES} frames (synthetic)`;
  const one = (mode: string): RunResult | string => {
    const file = path.join(dir, `names-${mode}.db`);
    const out = spawnSync(process.execPath, ['--expose-gc', __filename, file, mode], { encoding: 'utf8' });
    fs.rmSync(file, { force: true });
    return out.status === 0 ? (JSON.parse(out.stdout) as RunResult) : out.stderr.trim().split('\n').pop() ?? 'failed';
  };
  const plain = one('plain');
  const both = one('both');
  if (typeof plain === 'string' || typeof both === 'string') {
    return { target: 'names', what, figure: `not run: ${typeof plain === 'string' ? plain : both}`, goal: '', result: 'FAIL' };
  }
  return {
    target: 'names', what,
    figure: `CPU ${plain.cpuSeconds.toFixed(2)} s without cgroups and names, ${both.cpuSeconds.toFixed(2)} s with `
      + `(+${(both.cpuSeconds - plain.cpuSeconds).toFixed(2)} s); heap ${plain.heapMb.toFixed(1)} / ${both.heapMb.toFixed(1)} MB, `
      + `RSS ${plain.rssMb.toFixed(0)} / ${both.rssMb.toFixed(0)} MB; ${both.cgroupRows} cgroups stored (${both.walks} walk), ${both.names} names`,
    goal: 'none', result: 'info',
  };
}

if (require.main === module) {
  run(process.argv[2], process.argv[3] === 'both').then((r) => process.stdout.write(`${JSON.stringify(r)}\n`), (err) => {
    process.stderr.write(`${(err as Error).stack}\n`);
    process.exit(1);
  });
}
