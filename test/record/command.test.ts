// `tcptop record` end to end: the real probe, real loopback transfers of known sizes, and the capture file
// read back. Kernel tests: they skip where BPF cannot run, but never with CI=true.
import Database from 'better-sqlite3';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { CaptureReader } from '../../src/capture/reader';
import type { FlowBytes } from '../../src/capture/types';
import { humanBytes } from '../../src/view/units';
import { oneLine, tcptop, tcptopAsync, whilePeerRuns } from '../helpers/cli';
import { kernel } from '../helpers/kernel';
import { CLI } from '../helpers/paths';
import { moreFrames } from '../helpers/frames';
import { tempDir } from '../helpers/tmp';
import { churnEnds, churningPeer, nodeClient, peekingClient, sendfileClient, startServer, streamingPeer, transfer, type End } from '../helpers/traffic';
import { sampleRows } from '../helpers/samples';

const self = { pid: process.pid, comm: fs.readFileSync('/proc/self/comm', 'utf8').trim() };

interface Recorder {
  child: ChildProcess;
  stderr(): string;
  /** SIGINT, then the exit status. */
  stop(): Promise<number | null>;
}

/** Starts `tcptop record` and waits until the probe is attached and the file created. */
async function record(args: string[], cwd?: string): Promise<Recorder> {
  const child = tcptopAsync(['record', ...args], { cwd });
  const exited = once(child, 'exit');
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  for (let waited = 0; !err.includes('recording to'); waited += 20) {
    if (child.exitCode !== null || waited > 20_000) throw new Error(`recorder did not start: ${err}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return {
    child,
    stderr: () => err,
    stop: async () => {
      child.kill('SIGINT');
      const [code] = await exited;
      return code as number | null;
    },
  };
}

/** One connection end's flow summed over the frames it appears in, and those frames. */
function flowIn(file: string, end: End): { flow: FlowBytes; frames: number[] } {
  const r = CaptureReader.open(file);
  try {
    const span = r.span()!;
    let found: FlowBytes | null = null;
    const frames: number[] = [];
    for (const f of r.frames(span.firstSeq, span.lastSeq)) {
      for (const fb of r.flowBytes(f.seq)) {
        if (fb.laddr === end.laddr && fb.lport === end.lport && fb.raddr === end.raddr && fb.rport === end.rport) {
          frames.push(f.seq);
          if (!found) found = { ...fb };
          else {
            assert.deepEqual([found.pid, found.comm], [fb.pid, fb.comm], 'one flow, one process');
            found.rxBytes += fb.rxBytes;
            found.txBytes += fb.txBytes;
          }
        }
      }
    }
    assert.ok(found, `no flow ${end.laddr}:${end.lport} -> ${end.raddr}:${end.rport} in ${file}`);
    return { flow: found, frames };
  } finally {
    r.close();
  }
}

const bytesOf = (f: FlowBytes) => ({ pid: f.pid, comm: f.comm, family: f.family, laddr: f.laddr, lport: f.lport, raddr: f.raddr, rport: f.rport, rxBytes: f.rxBytes, txBytes: f.txBytes });

type Expected = { end: End; flow: Pick<FlowBytes, 'pid' | 'comm' | 'family' | 'rxBytes' | 'txBytes'> };

test('record: exact bytes of every known transfer, both ends, with pid and process name', kernel, async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'known.db');
  const rec = await record(['-o', file, '-i', '0.5']);
  const expected: Expected[] = [];
  const both = (tr: Awaited<ReturnType<typeof transfer>>, client: 4 | 6, server: 4 | 6) => {
    expected.push({ end: tr.client, flow: { ...self, family: client, rxBytes: tr.down, txBytes: tr.up } });
    expected.push({ end: tr.server, flow: { ...self, family: server, rxBytes: tr.up, txBytes: tr.down } });
  };
  try {
    both(await transfer({ listen: '127.0.0.1', connect: '127.0.0.1', up: 1_000_003, down: 7 }), 4, 4);
    both(await transfer({ listen: '::1', connect: '::1', up: 65_536, down: 300_001 }), 6, 6);
    // A dual-stack server: its end of an IPv4 connection is an IPv6 socket with mapped addresses.
    const dual = await transfer({ listen: '::', connect: '127.0.0.1', up: 12_345, down: 54_321 });
    assert.equal(dual.server.laddr, '::ffff:127.0.0.1');
    both(dual, 4, 6);
    both(await transfer({ listen: '127.0.0.3', connect: '127.0.0.3', localAddress: '127.0.0.2', up: 4_242, down: 2_424 }), 4, 4);
    // Other processes, with names of their own: a node client, a sendfile(2) client and one that peeks.
    const server = await startServer('127.0.0.1', 999);
    const payloadFile = path.join(dir, 'payload.bin');
    fs.writeFileSync(payloadFile, Buffer.alloc(777_777, 3));
    const peers = [
      nodeClient('rec-node', '127.0.0.1', server.port, 31_337),
      sendfileClient('rec-sendfile', '127.0.0.1', server.port, payloadFile),
      peekingClient('rec-peek', '127.0.0.1', server.port, 5),
    ];
    for (const p of peers) p.go();
    const reports = await Promise.all(peers.map((p) => p.result));
    const accepted = await Promise.all(server.accepted);
    await server.close();
    peers.forEach((p, i) => {
      const { sent, received, laddr, lport, raddr, rport } = reports[i];
      const end = { laddr, lport, raddr, rport };
      expected.push({ end, flow: { pid: p.pid, comm: p.comm, family: 4, rxBytes: received, txBytes: sent } });
      const mine = accepted.find((a) => a.end.rport === end.lport)!;
      expected.push({ end: mine.end, flow: { ...self, family: 4, rxBytes: sent, txBytes: 999 } });
    });
    assert.equal(reports[1].sent, 777_777);
    assert.equal(reports[2].received, 999, 'the peeking client read everything once, after peeking');
    assert.ok((reports[2] as { peeked?: number }).peeked! > 999, 'and peeked at more than that');
  } finally {
    assert.equal(await rec.stop(), 0, rec.stderr());
  }
  assert.match(rec.stderr(), /recording to .* with the tracepoint probe/);
  for (const e of expected) {
    const { flow } = flowIn(file, e.end);
    assert.deepEqual(bytesOf(flow), { ...e.flow, ...e.end }, `${e.end.laddr}:${e.end.lport} -> ${e.end.raddr}:${e.end.rport}`);
  }
  const r = CaptureReader.open(file);
  assert.equal(r.meta.probe, 'tracepoint');
  assert.equal(r.meta.endedCleanly, true);
  assert.equal(r.meta.intervalUs, 500_000);
  r.close();
  assert.equal(fs.statSync(file).mode & 0o777, 0o600);
});

test('record: continuous traffic over many intervals adds up exactly; nothing is lost at frame boundaries', kernel, async (t) => {
  const file = path.join(tempDir(t), 'stream.db');
  const peer = streamingPeer('rec-stream', 3_000, 1_000);
  const rec = await record(['-o', file, '-i', '0.4', '-p', String(peer.pid)]);
  peer.go();
  const report = await peer.result;
  assert.equal(await rec.stop(), 0, rec.stderr());
  const client = flowIn(file, report.client);
  const server = flowIn(file, report.server);
  assert.equal(client.flow.txBytes, report.bytes);
  assert.equal(server.flow.rxBytes, report.bytes);
  assert.ok(client.frames.length >= 5, `the stream spans ${client.frames.length} frames`);
  assert.ok(report.bytes > 1_000_000, `${report.bytes} bytes`);
  // With -p, nothing but the peer's own flows.
  const db = new Database(file, { readonly: true });
  assert.deepEqual(db.prepare('SELECT DISTINCT pid FROM flow').pluck().all(), [peer.pid]);
  db.close();
});

test('record: a connection that lives inside one interval is in exactly one frame', kernel, async (t) => {
  const file = path.join(tempDir(t), 'short.db');
  const rec = await record(['-o', file, '-i', '1']);
  // Right after a frame is committed the next interval has most of its second to go: the transfer fits in it.
  await moreFrames(file);
  const tr = await transfer({ listen: '127.0.0.1', connect: '127.0.0.1', up: 5_000, down: 6_000 });
  // Stopping writes the interval in progress as the last frame.
  assert.equal(await rec.stop(), 0);
  const c = flowIn(file, tr.client);
  assert.equal(c.frames.length, 1);
  assert.deepEqual([c.flow.txBytes, c.flow.rxBytes], [5_000, 6_000]);
});

test('record: connections coming and going, on two CPUs at once: exact bytes for every end of every one', kernel, async (t) => {
  const file = path.join(tempDir(t), 'churn.db');
  const rounds = 8;
  const peer = churningPeer('rec-churn', 2, rounds, 60);
  const rec = await record(['-o', file, '-i', '0.2', '-p', String(peer.pid)]);
  for (let r = 0; r < rounds; r++) await peer.round();
  // the peer has exited, every byte it moved counted in its call; stopping reads them as the last frame
  const conns = await peer.result;
  assert.equal(await rec.stop(), 0, rec.stderr());

  const expected = churnEnds(conns);
  const seen = new Map<string, [number, number]>();
  const r = CaptureReader.open(file);
  try {
    const span = r.span()!;
    for (const [, flow, rx, tx] of sampleRows(r, span.firstSeq, span.lastSeq)) {
      const f = r.flow(flow);
      const key = `${f.lport}>${f.rport}`;
      const s = seen.get(key) ?? [0, 0];
      seen.set(key, [s[0] + rx, s[1] + tx]);
    }
  } finally {
    r.close();
  }
  assert.equal(conns.length, 2 * rounds * 60);
  assert.deepEqual(new Map([...seen].sort()), expected);
  // a row for every end of every connection (one for both, should a 4-tuple come back within an interval)
  const db = new Database(file, { readonly: true });
  const rows = db.prepare('SELECT count(*) FROM flow').pluck().get() as number;
  db.close();
  assert.ok(rows >= expected.size && rows <= 2 * conns.length, `${rows} flow rows for ${conns.length} connections`);
});

test('record: SIGINT writes the interval in progress and closes the file cleanly, as one file', kernel, async (t) => {
  const file = path.join(tempDir(t), 'sigint.db');
  const rec = await record(['-o', file, '-i', '30']);
  const tr = await transfer({ listen: '127.0.0.1', connect: '127.0.0.1', up: 100_000, down: 1 });
  assert.equal(await rec.stop(), 0);
  const r = CaptureReader.open(file);
  const span = r.span()!;
  assert.equal(span.frames, 1);
  assert.ok(span.first.intervalUs < 30e6, 'the last frame is the partial interval');
  assert.equal(r.meta.endedCleanly, true);
  r.close();
  assert.equal(flowIn(file, tr.client).flow.txBytes, 100_000);
  assert.equal(fs.existsSync(`${file}-wal`), false);
});

test('record -d and -c end the recording by themselves', kernel, (t) => {
  const dir = tempDir(t);
  const byCount = tcptop(['record', '-o', path.join(dir, 'c.db'), '-i', '0.2', '-c', '3']);
  assert.equal(byCount.status, 0, byCount.stderr);
  assert.equal(JSON.parse(tcptop(['info', '--json', path.join(dir, 'c.db')]).stdout).frames, 3);
  const byTime = tcptop(['record', '-o', path.join(dir, 'd.db'), '-i', '0.4', '-d', '1s']);
  assert.equal(byTime.status, 0, byTime.stderr);
  // 0.4 + 0.4 + 0.2: three frames, the last cut to end at the duration (its deadline is checked exactly in
  // sampler.test). Here the frames cover at least the second asked for; how much past it the last sample
  // lands depends on how busy the machine is, so no upper bound.
  const r = CaptureReader.open(path.join(dir, 'd.db'));
  const frames = [...r.frames(1, 10)];
  r.close();
  assert.equal(frames.length, 3);
  const covered = frames.reduce((sum, f) => sum + f.intervalUs, 0);
  assert.ok(covered >= 990_000, `the frames cover ${covered} µs`);
});

test('record --stats: after each frame, one line of which way the kernel counted the events so far, none lost', kernel, async (t) => {
  const file = path.join(tempDir(t), 'stats.db');
  const peer = streamingPeer('rec-stats', 1_500, 4_096);
  const child = tcptopAsync(['record', '-o', file, '-i', '0.5', '-c', '3', '--stats', '-p', String(peer.pid)]);
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  const { code } = await whilePeerRuns(child, peer);
  assert.equal(code, 0, err);
  const lines = err.split('\n').filter((l) => l.startsWith('tcptop: paths: '));
  assert.equal(lines.length, 3, err);
  const sends = lines.map((l) => {
    const m = /^tcptop: paths: send ([\d,]+) events: \S+ home \(([\d,]+)\), \S+ cached \(([\d,]+)\), \S+ lookup \(([\d,]+)\), ([\d,]+) lost; receive ([\d,]+) events: .* ([\d,]+) lost$/.exec(l);
    assert.ok(m, l);
    const n = m.slice(1).map((x) => Number(x.replace(/,/g, '')));
    assert.equal(n[0], n[1] + n[2] + n[3] + n[4], `the paths add up: ${l}`);
    assert.equal(n[4] + n[6], 0, `nothing lost: ${l}`);
    return n[0];
  });
  // counts since attach: they never go back, and the peer's sends are in them
  assert.ok(sends.every((n, i) => i === 0 || n >= sends[i - 1]), sends.join(' '));
  assert.ok(sends[2] > 0, sends.join(' '));
});

test('record --live shows byte for byte what replay shows from the capture it wrote', kernel, async (t) => {
  const file = path.join(tempDir(t), 'live.db');
  const peer = streamingPeer('rec-live', 1_500, 4_096);
  const child = tcptopAsync(['record', '-o', file, '-i', '0.5', '-c', '4', '--live', '-C', '-p', String(peer.pid)]);
  const { out: live, code } = await whilePeerRuns(child, peer);
  assert.equal(code, 0);
  const replay = tcptop(['replay', '-C', file]);
  assert.equal(replay.stdout, live);
  assert.match(live, /rec-live/);
});

test('record into the current directory by default, named after the host and the time', kernel, (t) => {
  const dir = tempDir(t);
  const r = tcptop(['record', '-c', '1', '-i', '0.1'], { cwd: dir });
  assert.equal(r.status, 0, r.stderr);
  const files = fs.readdirSync(dir);
  assert.equal(files.length, 1);
  assert.match(files[0], /^tcptop-[A-Za-z0-9._-]+-\d{8}-\d{6}\.db$/);
});

test('record refuses to overwrite a file, or to follow a symlink, unless --force', kernel, (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'taken.db');
  fs.writeFileSync(file, 'keep me');
  const r = tcptop(['record', '-o', file, '-c', '1', '-i', '0.1']);
  assert.equal(r.status, 1);
  assert.match(oneLine(r), /taken\.db: file exists \(choose another name, or use --force to replace it\)$/);
  assert.equal(fs.readFileSync(file, 'utf8'), 'keep me');
  const target = path.join(dir, 'target');
  fs.writeFileSync(target, 'not yours');
  fs.symlinkSync(target, path.join(dir, 'link.db'));
  assert.equal(tcptop(['record', '-o', path.join(dir, 'link.db'), '-c', '1', '-i', '0.1']).status, 1);
  const forced = tcptop(['record', '-o', path.join(dir, 'link.db'), '-c', '1', '-i', '0.1', '--force']);
  assert.equal(forced.status, 0, forced.stderr);
  assert.equal(fs.readFileSync(target, 'utf8'), 'not yours');
});

test('record without privileges: one line saying to run as root, status 1, no file', kernel, (t) => {
  const dir = tempDir(t);
  fs.chmodSync(dir, 0o777);
  const file = path.join(dir, 'nobody.db');
  const r = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', '--inh-caps=-all', process.execPath, CLI, 'record', '-o', file, '-c', '1'], { encoding: 'utf8' });
  assert.equal(r.status, 1, r.stderr);
  assert.match(oneLine({ status: r.status, stdout: r.stdout, stderr: r.stderr }), /^tcptop: .*: operation not permitted \(run as root, or grant CAP_BPF and CAP_PERFMON\)$/);
  assert.equal(fs.existsSync(file), false);
});

test('record: bad option values and unusable probes are refused in one line', kernel, (t) => {
  const dir = tempDir(t);
  const cases: [string[], number, RegExp][] = [
    [['-i', '0'], 2, /^tcptop: -i\/--interval: invalid value '0' \(expected a number greater than 0 and at most 86400\)$/],
    [['-d', 'soon'], 2, /^tcptop: -d\/--duration: invalid duration 'soon'/],
    [['-c', '3', '-d', '5s'], 2, /cannot be used with/],
    [['--probe', 'magic'], 2, /^tcptop: --probe: invalid value 'magic' \(expected one of auto, tracepoint, fentry, kprobe\)$/],
    [['--max-size', '10K'], 2, /^tcptop: --max-size: invalid size '10K' \(expected from 1048576 bytes/],
    [['-p', '0'], 2, /^tcptop: -p\/--pid: invalid value '0' \(expected a whole number from 1 to 4194304\)$/],
    [['--cgroup', dir], 1, /not a cgroup v2 directory/],
    [['--probe', 'kprobe'], 1, /^tcptop: attach/],
    [['--probe', 'fentry'], 1, /^tcptop: load/],
  ];
  for (const [args, status, message] of cases) {
    const file = path.join(dir, `x${args.join('')}.db`.replace(/\//g, '_'));
    const r = tcptop(['record', '-o', file, '-c', '1', '-i', '0.1', ...args]);
    assert.equal(r.status, status, `${args.join(' ')}: ${r.stderr}`);
    assert.match(oneLine(r), message, args.join(' '));
    assert.equal(fs.existsSync(file), false, `${args.join(' ')} left a file`);
  }
});

test('record on a terminal: a status line on stderr with elapsed time, frames, flows, bytes and file size', kernel, async (t) => {
  const file = path.join(tempDir(t), 'status.db');
  const peer = streamingPeer('rec-status', 800, 4_096);
  // script(1) gives the recorder a terminal, as a person running it has.
  const child = spawn('script', ['-qfec', `${process.execPath} ${CLI} record -o ${file} -i 0.5 -c 3 -p ${peer.pid}`, '/dev/null'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const { out: tty, code, report } = await whilePeerRuns(child, peer);
  assert.equal(code, 0);
  const updates = tty.split('\r\x1b[K').slice(1).map((s) => s.replace(/\r?\n.*$/s, ''));
  assert.equal(updates.length, 3, JSON.stringify(tty));
  const last = /^(\S+)  (\d+) frames  (\d+) flows  rx (.+)  tx (.+)  file (.+)$/.exec(updates[2]);
  assert.ok(last, updates[2]);
  assert.equal(last[2], '3');
  assert.equal(last[3], '2');
  assert.equal(last[4], humanBytes(report.bytes));
  assert.equal(last[5], humanBytes(report.bytes));
  assert.ok(Number(last[1].replace(/s$/, '')) >= 1.4, last[1]);
});
