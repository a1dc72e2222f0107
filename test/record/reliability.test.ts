// What a recorder must survive during an incident: SIGKILL at any moment (mid-commit included), a full
// disk, and the wall clock stepping. Kernel tests: they skip where BPF cannot run, never with CI=true.
import Database from 'better-sqlite3';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { CaptureReader } from '../../src/capture/reader';
import { oneLine, tcptop } from '../helpers/cli';
import { kernel } from '../helpers/kernel';
import { CLI } from '../helpers/paths';
import { committedFrames, moreFrames } from '../helpers/frames';
import { tempDir } from '../helpers/tmp';
import { streamingPeer } from '../helpers/traffic';
import { parseViews } from '../helpers/views';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The BPF program and map ids a process holds, from its file descriptors. */
function bpfObjectsOf(pid: number): { progs: number[]; maps: number[] } {
  const progs = new Set<number>();
  const maps = new Set<number>();
  for (const fd of fs.readdirSync(`/proc/${pid}/fdinfo`)) {
    let info = '';
    try {
      info = fs.readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8');
    } catch {
      continue; // closed meanwhile
    }
    const prog = /^prog_id:\s+(\d+)$/m.exec(info);
    const map = /^map_id:\s+(\d+)$/m.exec(info);
    if (prog) progs.add(Number(prog[1]));
    if (map) maps.add(Number(map[1]));
  }
  return { progs: [...progs], maps: [...maps] };
}

const exists = (kind: 'prog' | 'map', id: number) => spawnSync('bpftool', [kind, 'show', 'id', String(id)], { stdio: 'ignore' }).status === 0;

/** The syscall a thread is in (x86_64 numbers), or null when running. */
function syscallOf(pid: number): number | null {
  const s = fs.readFileSync(`/proc/${pid}/syscall`, 'utf8').trim();
  return s === 'running' ? null : Number(s.split(' ')[0]);
}

const FSYNC = 74;
const FDATASYNC = 75;

// The time limit is only a safety net: each round starts a recorder, which on a machine busy with other work
// took up to 20 s (under a minute in all on a quiet one).
test('record killed with SIGKILL 20 times, 10 of them inside a commit: every committed frame survives, the file is sound, the kernel side is gone', { ...kernel, timeout: 900_000 }, async (t) => {
  const dir = tempDir(t);
  const peer = streamingPeer('crash-traffic', 200_000, 512);
  peer.go();
  t.after(() => peer.child.kill());
  let midCommit = 0;
  for (let i = 0; i < 20; i++) {
    const file = path.join(dir, `kill-${i}.db`);
    const t0 = Date.now();
    const inCommit = i % 2 === 1;
    // strace holds every fsync/fdatasync for 100 ms at its entry: the frame's pages are written to the WAL,
    // its commit not yet durable. That is where a kill hurts most.
    const cmd = inCommit
      ? ['strace', '-f', '-qq', '--seccomp-bpf', '-o', '/dev/null', '-e', 'trace=fsync,fdatasync', '-e', 'inject=fsync,fdatasync:delay_enter=100000', process.execPath, CLI]
      : [process.execPath, CLI];
    // Only the peer's flows: what else the machine carries must not change how long a commit takes.
    const rec = spawn(cmd[0], [...cmd.slice(1), 'record', '-o', file, '-i', '0.05', '-p', String(peer.pid)], { stdio: ['ignore', 'ignore', 'pipe'] });
    const exited = once(rec, 'exit');
    // If an assertion fails half-way, the recorder must not outlive the test.
    t.after(() => {
      spawnSync('pkill', ['-KILL', '-f', file]);
    });
    let err = '';
    rec.stderr!.on('data', (d) => (err += d));
    while (!err.includes('recording to')) {
      assert.equal(rec.exitCode, null, err);
      await sleep(10);
    }
    const recorderPid = inCommit ? Number(execFileSync('pgrep', ['-P', String(rec.pid), '-f', CLI]).toString().trim().split('\n')[0]) : rec.pid!;
    const held = bpfObjectsOf(recorderPid);
    assert.ok(held.progs.length >= 2, `recorder ${recorderPid} holds programs ${held.progs}`);
    await sleep(100 + ((i * 7919) % 700));
    let before: number;
    if (inCommit) {
      // Wait until the recorder's main thread sits in a delayed fsync, then kill it there.
      for (const until = Date.now() + 20_000; ; ) {
        const sc = syscallOf(recorderPid);
        if (sc === FSYNC || sc === FDATASYNC) break;
        assert.ok(Date.now() < until, `the recorder never reached a commit: ${err}`);
        await sleep(1);
      }
      before = committedFrames(file);
      process.kill(recorderPid, 'SIGKILL');
      midCommit++;
    } else {
      before = committedFrames(file);
      process.kill(recorderPid, 'SIGKILL');
    }
    await exited;
    // The capture: sound, every frame committed before the kill, and it says it did not end cleanly.
    const db = new Database(file);
    assert.equal(db.pragma('integrity_check', { simple: true }), 'ok', `kill ${i}`);
    db.close();
    const r = CaptureReader.open(file);
    const span = r.span();
    const frames = span?.frames ?? 0;
    assert.ok(frames >= before, `kill ${i}: ${frames} frames after, ${before} committed before`);
    assert.equal(r.meta.endedCleanly, false);
    if (span) r.totals(span.firstSeq, span.lastSeq);
    r.close();
    assert.match(tcptop(['info', file]).stdout, /ended\s+not cleanly/);
    t.diagnostic(`kill ${i}: checked after ${Date.now() - t0} ms`);
    // The kernel frees programs and maps when the last descriptor goes; that may take a moment.
    for (let waited = 0; [...held.progs.map((id) => exists('prog', id)), ...held.maps.map((id) => exists('map', id))].some(Boolean); waited += 50) {
      assert.ok(waited < 5000, `kill ${i}: bpf objects still loaded: progs ${held.progs}, maps ${held.maps}`);
      await sleep(50);
    }
  }
  assert.equal(midCommit, 10);
});

test('disk full while recording: one clear line, a non-zero exit, and every frame written before is kept', { ...kernel, timeout: 60_000 }, async (t) => {
  const dir = tempDir(t);
  const mnt = path.join(dir, 'small');
  fs.mkdirSync(mnt);
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=160k', 'tcptop-test', mnt]);
  const peer = streamingPeer('full-traffic', 60_000, 256);
  peer.go();
  const file = path.join(mnt, 'full.db');
  try {
    await checkDiskFull(file, peer.pid);
  } finally {
    peer.child.kill();
    spawnSync('umount', ['-l', mnt]);
  }
});

async function checkDiskFull(file: string, pid: number): Promise<void> {
  // Only the peer's flows, so the first frames fit whatever else the machine carries.
  const r = tcptop(['record', '-o', file, '-i', '0.02', '-p', String(pid)]);
  assert.equal(r.status, 1, r.stderr);
  const line = r.stderr.split('\n').filter((l) => l.startsWith('tcptop: ') && !l.includes('recording to'));
  assert.equal(line.length, 1, r.stderr);
  const m = /^tcptop: .*full\.db: disk full: recording stopped \(the (\d+) frames written before are kept(, the newest in (\S+): copy both files together, or write one self-contained file with 'tcptop export (\S+) -o NEW\.db' where there is room)?\)$/.exec(line[0]);
  assert.ok(m, line[0]);
  // The WAL is named exactly when the recorder left one behind.
  const wal = fs.existsSync(`${file}-wal`) && fs.statSync(`${file}-wal`).size > 0;
  assert.equal(m[2] !== undefined, wal, line[0]);
  if (wal) assert.deepEqual([m[3], m[4]], [`${file}-wal`, file]);
  const reader = CaptureReader.open(file);
  assert.equal(reader.span()?.frames ?? 0, Number(m[1]));
  assert.equal(reader.meta.endedCleanly, false);
  reader.close();
  const db = new Database(file, { readonly: true });
  assert.equal(db.pragma('integrity_check', { simple: true }), 'ok');
  db.close();
  assert.ok(Number(m[1]) > 0, 'some frames were written before the disk filled');
}

test('a wall-clock step back and forth during recording neither reorders nor breaks frames', { ...kernel, timeout: 60_000 }, async (t) => {
  const file = path.join(tempDir(t), 'step.db');
  const peer = streamingPeer('step-traffic', 4_000, 1_000);
  const rec = spawn(process.execPath, [CLI, 'record', '-o', file, '-i', '0.3', '-p', String(peer.pid)], { stdio: ['ignore', 'ignore', 'pipe'] });
  const exited = once(rec, 'exit');
  let err = '';
  rec.stderr!.on('data', (d) => (err += d));
  while (!err.includes('recording to')) await sleep(10);
  peer.go();
  // frames before the step, during it and after it: the capture's own commits say when each has some
  await moreFrames(file, 2);
  // Step the clock back an hour, then forward again to where it would have been.
  const wall0 = Date.now();
  const mono0 = performance.now();
  const setClock = (ms: number) => execFileSync('python3', ['-c', `import time; time.clock_settime(time.CLOCK_REALTIME, ${ms / 1000})`]);
  try {
    setClock(wall0 - 3_600_000);
    await moreFrames(file, 2);
  } finally {
    setClock(wall0 + (performance.now() - mono0));
  }
  const report = await peer.result;
  await moreFrames(file);
  rec.kill('SIGINT');
  assert.equal((await exited)[0], 0, err);

  const r = CaptureReader.open(file);
  const span = r.span()!;
  const frames = [...r.frames(span.firstSeq, span.lastSeq)];
  r.close();
  const back = frames.findIndex((f, i) => i > 0 && f.wallUs < frames[i - 1].wallUs - 3_000_000_000);
  assert.ok(back > 0, 'the step is visible in the frames\' wall times');
  assert.ok(frames.every((f, i) => i === 0 || f.monoUs > frames[i - 1].monoUs), 'monotonic times keep increasing');
  assert.ok(frames.every((f) => f.intervalUs < 1_000_000), 'intervals come from the monotonic clock');
  // Replay shows every frame, in recording order, and the bytes add up.
  const views = parseViews(tcptop(['replay', '-C', file]).stdout);
  assert.equal(views.length, frames.length);
  const info = JSON.parse(tcptop(['info', '--json', file]).stdout);
  assert.equal(info.tx_bytes, report.bytes);
  assert.equal(info.rx_bytes, report.bytes);
  // Offsets from the start use the monotonic clock, so they still select the right frames: 1 ms past the end of
  // the first frame after the step back takes every frame up to it, though its wall time is an hour earlier.
  const startUs = frames[0].monoUs - frames[0].intervalUs;
  const cutMs = Math.ceil((frames[back].monoUs - startUs) / 1000) + 1;
  assert.equal(parseViews(tcptop(['replay', '-C', '--to', `+${cutMs}ms`, file]).stdout).length, back + 1);
});

test('replay, report, info and export never load the kernel addon', (t) => {
  // A hook that fails any attempt to load the addon, in the child processes of these commands.
  const hook = path.join(tempDir(t), 'no-addon.js');
  fs.writeFileSync(hook, `const M = require('node:module'); const load = M._load;
M._load = function (req, ...rest) { if (/^#bpf$|tcptop[-_]bpf/.test(req)) throw new Error('addon loaded by ' + process.argv.slice(2).join(' ')); return load.call(this, req, ...rest); };`);
  const sample = path.resolve(__dirname, '../../../fixtures/sample.db');
  for (const args of [['replay', '-C', sample], ['info', sample], ['info', '--json', sample]]) {
    const r = tcptop(args, { env: { NODE_OPTIONS: `--require ${hook}` } });
    assert.equal(r.status, 0, `${args[0]}: ${r.stderr}`);
  }
  const live = tcptop(['-C', '1', '1'], { env: { NODE_OPTIONS: `--require ${hook}` } });
  assert.match(oneLine(live), /addon loaded by/, 'the hook does catch a command that loads it');
});
