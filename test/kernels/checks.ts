// The exact-bytes checks of one probe, run in the VM for each probe the host kernel cannot run
// (guest.ts) and on the host for the tracepoints (host.test.ts): a recording through `tcptop record`
// read back from its capture file, and the probe opened directly.
import * as assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { CaptureReader } from '../../src/capture/reader';
import type { CaptureMeta } from '../../src/capture/meta';
import { frameRows, type FlowBytes, type FlowKey } from '../../src/capture/types';
import { openProbe, type ProbeKind } from '../../src/record/probe';
import { pathTotal } from '../../src/record/stats';
import { findTracefs, tracefsMounts } from '../../src/record/tracefs';
import { nodeClient, startServer, transfer, type End } from '../helpers/traffic';

export type ProbeChoice = ProbeKind | 'auto';

/** A flow the test made, with the bytes its syscalls returned. */
export interface Expected extends FlowKey {
  rxBytes: number;
  txBytes: number;
  what: string;
}

export interface Check {
  name: string;
  run(): Promise<void>;
}

export interface CheckEnv {
  /** The traffic helper built from traffic.c. */
  traffic: string;
  /** A directory for capture files. */
  tmp: string;
  /** The command that runs tcptop: node and bin/tcptop, or a single executable. */
  tcptop: string[];
}

/** Runs `tcptop args` as the environment says (spawn's arguments). */
const tcptop = (env: CheckEnv, args: string[]): [string, string[]] => [env.tcptop[0], [...env.tcptop.slice(1), ...args]];

const self = () => ({ pid: process.pid, comm: fs.readFileSync('/proc/self/comm', 'utf8').trim() });

function familyOf(addr: string): 4 | 6 {
  return net.isIPv6(addr) ? 6 : 4;
}

/** Both ends of a connection made by `transfer` in this process. */
function bothEnds(what: string, t: { client: End; server: End; up: number; down: number }): Expected[] {
  const me = self();
  return [
    { ...me, family: familyOf(t.client.laddr), ...t.client, rxBytes: t.down, txBytes: t.up, what: `${what} client` },
    { ...me, family: familyOf(t.server.laddr), ...t.server, rxBytes: t.up, txBytes: t.down, what: `${what} server` },
  ];
}

/** What traffic.c prints. */
interface TrafficReport {
  pid: number;
  comm: string;
  flows: { pid?: number; family: 4 | 6; laddr: string; lport: number; raddr: string; rport: number; tx: number; rx: number; what: string }[];
  facts: Record<string, number>;
}

function runTraffic(env: CheckEnv, args: string[]): Promise<TrafficReport> {
  return new Promise((resolve, reject) => {
    const child = spawn(env.traffic, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.once('error', reject);
    // 'close', not 'exit': the output is complete only when the pipes are
    child.once('close', (code) => {
      const line = out.trim().split('\n').pop() ?? '';
      if (code !== 0) return reject(new Error(`traffic ${args.join(' ')} exited ${code}: ${line} ${err.trim()}`));
      try {
        resolve(JSON.parse(line) as TrafficReport);
      } catch {
        reject(new Error(`traffic ${args.join(' ')} printed no report: ${JSON.stringify(out)} ${err.trim()}`));
      }
    });
  });
}

function expectedOf(r: TrafficReport): Expected[] {
  return r.flows.map((f) => ({
    pid: f.pid ?? r.pid, comm: r.comm, family: f.family, laddr: f.laddr, lport: f.lport, raddr: f.raddr, rport: f.rport,
    rxBytes: f.rx, txBytes: f.tx, what: f.what,
  }));
}

const keyOf = (f: FlowKey) => `${f.pid} ${f.comm} ${f.family} ${f.laddr}:${f.lport} ${f.raddr}:${f.rport}`;

/** Flows added up per flow key. */
function sum(flows: Iterable<FlowKey & { rxBytes: number; txBytes: number }>): Map<string, { rxBytes: number; txBytes: number }> {
  const out = new Map<string, { rxBytes: number; txBytes: number }>();
  for (const f of flows) {
    const k = keyOf(f);
    const s = out.get(k) ?? { rxBytes: 0, txBytes: 0 };
    s.rxBytes += f.rxBytes;
    s.txBytes += f.txBytes;
    out.set(k, s);
  }
  return out;
}

type Direction = 'rxBytes' | 'txBytes';

/** Every expected flow with exactly its bytes (in the directions given), one message listing each difference. */
export function assertExact(
  got: Map<string, { rxBytes: number; txBytes: number }>,
  expected: Expected[],
  directions: Direction[] = ['rxBytes', 'txBytes'],
): void {
  const wrong: string[] = [];
  const show = (b: { rxBytes: number; txBytes: number }) => directions.map((d) => `${d === 'rxBytes' ? 'rx' : 'tx'} ${b[d]}`).join(' ');
  for (const e of expected) {
    const g = got.get(keyOf(e));
    if (!g) wrong.push(`${e.what} [${keyOf(e)}]: missing (want ${show(e)})`);
    else if (directions.some((d) => g[d] !== e[d])) wrong.push(`${e.what} [${keyOf(e)}]: ${show(g)}, want ${show(e)}`);
  }
  assert.equal(wrong.length, 0, `${wrong.length} of ${expected.length} flows wrong:\n  ${wrong.join('\n  ')}`);
}

/**
 * Flows of the test's connections (same port pair) that are not expected ones: double counts, wrong
 * pids, swapped ends. Matching both ports keeps other programs' traffic out, even on reused ports.
 */
function strays(got: Map<string, { rxBytes: number; txBytes: number }>, keys: Map<string, FlowKey>, expected: Expected[]): string[] {
  const pairs = new Set(expected.flatMap((e) => [`${e.lport}-${e.rport}`, `${e.rport}-${e.lport}`]));
  const want = new Set(expected.map(keyOf));
  const out: string[] = [];
  for (const [k, v] of got) {
    const f = keys.get(k)!;
    if (pairs.has(`${f.lport}-${f.rport}`) && !want.has(k) && (v.rxBytes > 0 || v.txBytes > 0)) out.push(`${k}: rx ${v.rxBytes} tx ${v.txBytes}`);
  }
  return out;
}

/** The traffic of a recording, by scenario. */
interface Traffic {
  ipv4: Expected[];
  ipv6: Expected[];
  mapped: Expected[];
  shortLived: Expected[];
  shortLivedMs: number;
  children: Expected[];
  exact: TrafficReport[];
  turns: TrafficReport;
  threads: TrafficReport[];
  waitingReceivers: TrafficReport;
  waitingSenders: TrafficReport;
}

const SHORT_LIVED = 10;
const THREAD_PROCESSES = 3;
const THREAD_PAIRS = 8;
const TURNS = 20;
// more threads waiting inside one call at once than a kretprobe has instances by default
// (max(10, 2 * CPUs)), and more than the slots of any per-CPU scheme
const WAITING_PAIRS = 16;

/** Every scenario at once: node connections in this process and another, traffic.c in several. */
async function makeTraffic(env: CheckEnv): Promise<Traffic> {
  // another node process (own pid and comm) to a server of ours
  const childServer = await startServer('127.0.0.1', 23_456);
  const child = nodeClient('tcptop-vm-peer', '127.0.0.1', childServer.port, 345_678);
  child.go();

  const threads = Promise.all(
    Array.from({ length: THREAD_PROCESSES }, (_, i) => runTraffic(env, ['threads', i % 2 ? '6' : '4', String(THREAD_PAIRS), String(i + 1)])),
  );

  const ipv4 = bothEnds('node IPv4', await transfer({ listen: '127.0.0.1', connect: '127.0.0.1', up: 1_000_003, down: 70_001 }));
  const ipv6 = bothEnds('node IPv6', await transfer({ listen: '::1', connect: '::1', up: 500_009, down: 30_011 }));
  const mapped = bothEnds('node IPv4 to dual-stack', await transfer({ listen: '::', connect: '127.0.0.1', up: 12_345, down: 67_890 }));
  const shortLived: Expected[] = [];
  const t0 = Date.now();
  for (let i = 0; i < SHORT_LIVED; i++) {
    const host = i % 2 ? '::1' : '127.0.0.1';
    shortLived.push(...bothEnds(`short-lived #${i}`, await transfer({ listen: host, connect: host, up: 4_321 + i, down: 1_234 + i })));
  }
  const shortLivedMs = (Date.now() - t0) / SHORT_LIVED;
  const exact = [await runTraffic(env, ['exact', '4']), await runTraffic(env, ['exact', '6'])];
  const turns = await runTraffic(env, ['turns', '4', String(TURNS)]);

  const report = await child.result;
  const [accepted] = await Promise.all(childServer.accepted);
  await childServer.close();
  const { sent, received, ...end } = report;
  const children: Expected[] = [
    { pid: child.pid, comm: child.comm, family: 4, ...end, rxBytes: received, txBytes: sent, what: 'node child process client' },
    { ...self(), family: 4, ...accepted.end, rxBytes: accepted.read, txBytes: 23_456, what: 'server of the node child' },
  ];
  assert.deepEqual([sent, received, accepted.read], [345_678, 23_456, 345_678], 'the child process moved other sizes than planned');
  const threadReports = await threads;

  // after the rest, so that what the waiting threads break shows in their own checks
  const waitingReceivers = await runTraffic(env, ['threads', '4', String(WAITING_PAIRS), '7', 'receivers']);
  const waitingSenders = await runTraffic(env, ['threads', '6', String(WAITING_PAIRS), '8', 'senders']);
  return { ipv4, ipv6, mapped, shortLived, shortLivedMs, children, exact, turns, threads: threadReports, waitingReceivers, waitingSenders };
}

function allExpected(t: Traffic): Expected[] {
  return [
    ...t.ipv4, ...t.ipv6, ...t.mapped, ...t.shortLived, ...t.children, ...t.exact.flatMap(expectedOf), ...expectedOf(t.turns),
    ...t.threads.flatMap(expectedOf),
    ...expectedOf(t.waitingReceivers), ...expectedOf(t.waitingSenders),
  ];
}

/** What one `tcptop record` run gave. */
interface Recording {
  attachedKind: string;
  exitCode: number | null;
  stderr: string;
  meta: CaptureMeta;
  frames: number;
  flows: Map<string, { rxBytes: number; txBytes: number }>;
  keys: Map<string, FlowKey>;
  lost: { events: number; rxBytes: number; txBytes: number };
  traffic: Traffic;
}

function waitFor(child: ChildProcess, stderr: () => string, re: RegExp, ms: number): Promise<RegExpMatchArray> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => done(new Error(`no ${re} from tcptop record within ${ms} ms: ${stderr()}`)), ms);
    const poll = setInterval(() => {
      const m = stderr().match(re);
      if (m) done(null, m);
    }, 20);
    const onExit = (code: number | null) => done(new Error(`tcptop record exited (${code}) before attaching: ${stderr().trim()}`));
    child.once('exit', onExit);
    function done(err: Error | null, m?: RegExpMatchArray) {
      clearTimeout(timer);
      clearInterval(poll);
      child.off('exit', onExit);
      if (err) reject(err);
      else resolve(m!);
    }
  });
}

async function record(probe: ProbeChoice, env: CheckEnv): Promise<Recording> {
  const file = path.join(env.tmp, `record-${probe}.db`);
  fs.rmSync(file, { force: true });
  // -d bounds a run whose test went wrong; the test stops it with SIGINT, which keeps the last interval
  const child = spawn(...tcptop(env, ['record', '-o', file, '-i', '1', '-d', '600', '--probe', probe]), { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let traffic: Traffic;
  let attachedKind: string;
  try {
    attachedKind = (await waitFor(child, () => stderr, /recording to \S+ every 1 s with the (\S+) probe/, 120_000))[1];
    traffic = await makeTraffic(env);
  } finally {
    child.kill('SIGINT');
  }
  const exitCode = await exited;
  assert.equal(exitCode, 0, `tcptop record exited ${exitCode}: ${stderr.trim()}`);
  const reader = CaptureReader.open(file);
  try {
    const span = reader.span();
    assert.ok(span, 'the capture has no frames');
    const rows: (FlowKey & { rxBytes: number; txBytes: number })[] = [];
    for (let seq = span.firstSeq; seq <= span.lastSeq; seq++) rows.push(...reader.flowBytes(seq));
    const keys = new Map(rows.map((r) => [keyOf(r), r] as [string, FlowKey]));
    const totals = reader.totals(span.firstSeq, span.lastSeq);
    return { attachedKind, exitCode, stderr, meta: reader.meta, frames: span.frames, flows: sum(rows), keys, lost: totals.lost, traffic };
  } finally {
    reader.close();
  }
}

/** The checks of one probe: `expect` is the kind it must attach (what auto must choose here). */
export function probeChecks(probe: ProbeChoice, expect: ProbeKind, env: CheckEnv): Check[] {
  let session: Promise<Recording> | undefined;
  const recording = () => (session ??= record(probe, env));
  const rec = (name: string, body: (r: Recording) => void): Check => ({
    name: `record --probe ${probe}: ${name}`,
    run: async () => body(await recording()),
  });
  const exactOf = (r: Recording, what: RegExp) => r.traffic.exact.flatMap(expectedOf).filter((e) => what.test(e.what));

  return [
    rec(`attaches ${expect} and says so, exits 0, the capture says probe ${expect}`, (r) => {
      assert.equal(r.attachedKind, expect, r.stderr);
      assert.equal(r.meta.probe, expect);
      assert.equal(r.meta.endedCleanly, true);
      assert.ok(r.frames >= 1);
    }),
    rec('node IPv4 connection: exact bytes, both directions, both ends', (r) => assertExact(r.flows, r.traffic.ipv4)),
    rec('node IPv6 connection on ::1: exact bytes, both ends', (r) => assertExact(r.flows, r.traffic.ipv6)),
    rec('IPv4 client of a dual-stack server: IPv4 end and IPv4-mapped IPv6 end exact', (r) => {
      assert.equal(r.traffic.mapped[1].laddr, '::ffff:127.0.0.1');
      assert.equal(r.traffic.mapped[1].family, 6);
      assertExact(r.flows, r.traffic.mapped);
    }),
    rec(`${SHORT_LIVED} short-lived connections (open, transfer, close within one interval), IPv4 and IPv6`, (r) => {
      assert.ok(r.traffic.shortLivedMs < 1000, `a short-lived connection took ${r.traffic.shortLivedMs} ms, longer than the interval`);
      assertExact(r.flows, r.traffic.shortLived);
    }),
    rec('another node process: its pid and comm, exact bytes, both ends', (r) => assertExact(r.flows, r.traffic.children)),
    rec('sends count what tcp_sendmsg returned, not the size asked for (partial non-blocking send of 64 MiB)', (r) => {
      for (const t of r.traffic.exact) {
        assert.ok(t.facts.send_returned > 0 && t.facts.send_returned < t.facts.send_requested, JSON.stringify(t.facts));
      }
      assertExact(r.flows, exactOf(r, /^partial-send\+peek client$/), ['txBytes']);
    }),
    rec('receives count what tcp_recvmsg returned, not the buffer size (64 MiB buffers)', (r) => {
      assertExact(r.flows, exactOf(r, /^partial-send\+peek server$/));
    }),
    rec('MSG_PEEK receives are not counted (1000 bytes peeked twice, then read once)', (r) => {
      for (const t of r.traffic.exact) assert.equal(t.facts.peeked, 2000);
      assertExact(r.flows, exactOf(r, /^partial-send\+peek client$/), ['rxBytes']);
    }),
    rec('sendfile(2) and read(2): exact bytes, both ends, IPv4 and IPv6', (r) => assertExact(r.flows, exactOf(r, /^sendfile /))),
    rec(`a socket shared by two processes, sending in ${TURNS} turns from threads that exit: one exact flow per process`, (r) => {
      const [parent, child] = expectedOf(r.traffic.turns);
      assert.notEqual(parent.pid, child.pid);
      assert.deepEqual([parent.txBytes, child.txBytes], [TURNS * 1009, TURNS * 3001]);
      assertExact(r.flows, expectedOf(r.traffic.turns));
    }),
    rec(`${THREAD_PROCESSES} processes x ${THREAD_PAIRS} connections x 2 threads at once: each flow exact`, (r) => {
      assertExact(r.flows, r.traffic.threads.flatMap(expectedOf));
    }),
    rec(`${WAITING_PAIRS} threads waiting in recv(2) at once, then receiving: each flow exact`, (r) => {
      assertExact(r.flows, expectedOf(r.traffic.waitingReceivers).filter((e) => !e.what.startsWith('bystander')));
    }),
    rec(`a connection made while ${WAITING_PAIRS} threads wait in recv(2): exact`, (r) => {
      const { waiting_before, waiting_after } = r.traffic.waitingReceivers.facts;
      assert.deepEqual([waiting_before, waiting_after], [WAITING_PAIRS, WAITING_PAIRS], 'threads inside recv(2) before and after the connection');
      assertExact(r.flows, expectedOf(r.traffic.waitingReceivers).filter((e) => e.what.startsWith('bystander')));
    }),
    rec(`${WAITING_PAIRS} threads waiting in send(2) at once (full buffers): each flow exact`, (r) => {
      assertExact(r.flows, expectedOf(r.traffic.waitingSenders).filter((e) => !e.what.startsWith('bystander')));
    }),
    rec(`a connection made while ${WAITING_PAIRS} threads wait in send(2): exact`, (r) => {
      const { waiting_before, waiting_after } = r.traffic.waitingSenders.facts;
      assert.deepEqual([waiting_before, waiting_after], [WAITING_PAIRS, WAITING_PAIRS], 'threads inside send(2) before and after the connection');
      assertExact(r.flows, expectedOf(r.traffic.waitingSenders).filter((e) => e.what.startsWith('bystander')));
    }),
    rec('no other flows on the test connections (no double counts, wrong pids or swapped ends)', (r) => {
      assert.deepEqual(strays(r.flows, r.keys, allExpected(r.traffic)), []);
    }),
    rec('nothing lost: no events or bytes the probe could not attribute', (r) => {
      assert.deepEqual(r.lost, { events: 0, rxBytes: 0, txBytes: 0 });
    }),
    {
      name: `openProbe ${probe}: kind ${expect}; each drain gives the bytes since the previous one`,
      run: () => drainDeltas(probe, expect),
    },
    {
      name: `openProbe ${probe} with a pid filter: only that process is counted, in the path counters too`,
      run: () => pidFilter(probe, env),
    },
    {
      name: `openProbe ${probe} with a family filter: only IPv6 sockets are counted`,
      run: () => familyFilter(probe),
    },
    ...(expect === 'kprobe' ? kretprobeChecks(probe, env) : []),
  ];
}

/** What only the kprobe probe has: kretprobes made in tracefs, with a bounded number of instances. */
function kretprobeChecks(probe: ProbeChoice, env: CheckEnv): Check[] {
  return [
    {
      name: `openProbe ${probe} with 2 kretprobe instances: ${WAITING_PAIRS} threads waiting in recv(2) give lost events, no bytes guessed`,
      run: () => missedReturns(probe, env),
    },
    {
      name: `openProbe ${probe}: its kretprobe events are removed on close, a killed recorder's at the next open`,
      run: () => retprobeEvents(probe, env),
    },
    {
      name: `record --probe ${probe} without tracefs: refused in one line saying to mount it, no file left`,
      run: () => withoutTracefs(probe, env),
    },
  ];
}

/** Runs a command of the guest's busybox, failing with its output. */
function sh(cmd: string, ...args: string[]): void {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')}: ${r.stderr}`);
}

async function withoutTracefs(probe: ProbeChoice, env: CheckEnv): Promise<void> {
  // debugfs goes too: its tracing directory mounts tracefs when looked at
  const mounts = () => fs.readFileSync('/proc/self/mounts', 'utf8');
  const debugfs = mounts().split('\n').filter((l) => l.split(' ')[2] === 'debugfs').map((l) => l.split(' ')[1]);
  for (const dir of [...tracefsMounts(mounts()).reverse(), ...debugfs]) sh('umount', dir);
  try {
    assert.equal(findTracefs(), undefined, mounts());
    const file = path.join(env.tmp, `no-tracefs-${probe}.db`);
    const r = spawnSync(...tcptop(env, ['record', '-o', file, '-c', '1', '-i', '0.2', '--probe', probe]), { encoding: 'utf8' });
    assert.equal(r.status, 1, r.stderr);
    assert.equal(r.stdout, '');
    // auto, where kprobes are all the kernel has (arm64 before 6.4), lists each kind's refusal in one line
    assert.match(r.stderr, probe === 'auto'
      ? /^tcptop: open probe: no probe available \([^\n]*kprobe: find tracefs: not mounted\)\n$/
      : /^tcptop: find tracefs: not mounted \(kretprobes are made there; mount -t tracefs nodev \/sys\/kernel\/tracing\)\n$/);
    assert.equal(fs.existsSync(file), false, 'a refused probe left a capture file');
  } finally {
    // as the VM's init mounted them
    sh('mount', '-t', 'tracefs', 'tracefs', '/sys/kernel/tracing');
    sh('mount', '-t', 'debugfs', 'debugfs', '/sys/kernel/debug');
  }
  assert.ok(findTracefs());
}

/** Fewer instances than waiting threads: the calls that found none must show as lost events. */
async function missedReturns(probe: ProbeChoice, env: CheckEnv): Promise<void> {
  const instances = 2;
  const p = openProbe({ probe, retprobeInstances: instances });
  try {
    p.drain();
    const r = await runTraffic(env, ['threads', '4', String(WAITING_PAIRS), '9', 'receivers']);
    const d = p.drain();
    // each waiting receiver beyond the instances is inside tcp_recvmsg with no instance
    assert.ok(d.lost.events >= WAITING_PAIRS - instances, `lost ${JSON.stringify(d.lost)}, want at least ${WAITING_PAIRS - instances} events`);
    assert.deepEqual([d.lost.rxBytes, d.lost.txBytes], [0, 0], 'the bytes of a call never seen returning are unknown');
    // and the bytes of those calls are really missing from the flows: that is why they are reported
    const waiting = expectedOf(r).filter((e) => !e.what.startsWith('bystander'));
    const got = sum(frameRows(d.flows));
    const counted = waiting.reduce((n, e) => n + (got.get(keyOf(e))?.rxBytes ?? 0), 0);
    const moved = waiting.reduce((n, e) => n + e.rxBytes, 0);
    assert.ok(counted < moved, `all ${moved} bytes received were counted: no return was missed`);
  } finally {
    p.close();
  }
}

/** The kretprobe events of this process, or of the given pid, as kprobe_events lists them. */
function eventsOf(tracefs: string, pid: number): string[] {
  return fs.readFileSync(path.join(tracefs, 'kprobe_events'), 'utf8').split('\n').filter((l) => l.includes(`:tcptop/tcptop_${pid}_`));
}

async function retprobeEvents(probe: ProbeChoice, env: CheckEnv): Promise<void> {
  const tracefs = findTracefs();
  assert.ok(tracefs, 'no tracefs with kprobe_events');
  const p = openProbe({ probe });
  try {
    const mine = eventsOf(tracefs, process.pid);
    // tcp_sendmsg and tcp_recvmsg, and tcp_sendpage where it exists; all with the most instances
    assert.ok(mine.length >= 2, mine.join('\n'));
    for (const l of mine) assert.match(l, /^r4096:tcptop\/tcptop_\d+_\d+_(tcp_sendmsg|tcp_recvmsg|tcp_sendpage) \1$/);
  } finally {
    p.close();
  }
  assert.deepEqual(eventsOf(tracefs, process.pid), [], 'events left after close');

  // a recorder killed before it could remove its events: they stay until the next probe opens
  const file = path.join(env.tmp, `killed-${probe}.db`);
  const child = spawn(...tcptop(env, ['record', '-o', file, '-i', '1', '-d', '600', '--probe', probe]), { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    await waitFor(child, () => stderr, /recording to \S+ every 1 s with the kprobe probe/, 120_000);
  } finally {
    child.kill('SIGKILL');
    await exited;
  }
  assert.ok(eventsOf(tracefs, child.pid!).length >= 2, `the killed recorder left no events: ${stderr}`);
  const next = openProbe({ probe });
  try {
    assert.deepEqual(eventsOf(tracefs, child.pid!), [], 'the next probe did not remove the killed recorder\'s events');
  } finally {
    next.close();
  }
}

// What record must say for a probe this kernel lacks: the step that failed, why, and what to do.
const REFUSAL: Record<ProbeKind, RegExp> = {
  tracepoint: /^tcptop: find tracepoint \S+: not in this kernel \(needs linux 6\.3 or later; try --probe fentry or kprobe\)$/,
  fentry: /^tcptop: (load|attach|find) [^:()]+: [a-z][^()]* \([^()]+\)$/,
  kprobe: /^tcptop: (load|attach|find|create) [^:()]+: [a-z][^()]* \([^()]+\)$/,
};

/** The check that `record --probe kind` fails on this kernel in one line and leaves no file. */
export function refusalCheck(kind: ProbeKind, env: CheckEnv): Check {
  return {
    name: `record --probe ${kind}: refused in one line naming the step that failed, no file left`,
    run: async () => {
      const file = path.join(env.tmp, `refused-${kind}.db`);
      const child = spawn(...tcptop(env, ['record', '-o', file, '-c', '1', '-i', '0.2', '--probe', kind]), { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
      const status = await new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
      assert.equal(status, 1, err);
      assert.equal(out, '');
      const lines = err.split('\n').filter((l) => l !== '');
      assert.equal(lines.length, 1, err);
      assert.match(lines[0], REFUSAL[kind]);
      assert.equal(fs.existsSync(file), false, 'a refused probe left a capture file');
    },
  };
}

function ofEnds(flows: FlowBytes[], ...ends: End[]): Map<string, { rxBytes: number; txBytes: number }> {
  const keep = flows.filter((f) => ends.some((e) => e.lport === f.lport && e.rport === f.rport));
  return sum(keep);
}

/** One connection kept open across drains, in this process. */
async function drainDeltas(probe: ProbeChoice, expect: ProbeKind): Promise<void> {
  const p = openProbe({ probe });
  const me = self();
  let server: net.Server | undefined;
  try {
    assert.equal(p.kind, expect);
    p.drain();
    let serverSock: net.Socket | undefined;
    let got = 0;
    server = net.createServer((s) => {
      serverSock = s;
      s.on('data', (d: Buffer) => (got += d.length));
    });
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', () => r()));
    const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
    await new Promise<void>((r) => client.once('connect', () => r()));
    let back = 0;
    client.on('data', (d: Buffer) => (back += d.length));
    const until = async (cond: () => boolean) => {
      for (let i = 0; !cond(); i++) {
        if (i > 3000) throw new Error('transfer stalled');
        await new Promise((r) => setTimeout(r, 5));
      }
    };

    client.write(Buffer.alloc(100_000, 1));
    await until(() => got === 100_000 && serverSock !== undefined);
    serverSock!.write(Buffer.alloc(5_000, 2));
    await until(() => back === 5_000);
    const c = { laddr: client.localAddress!, lport: client.localPort!, raddr: client.remoteAddress!, rport: client.remotePort! };
    const s = { laddr: serverSock!.localAddress!, lport: serverSock!.localPort!, raddr: serverSock!.remoteAddress!, rport: serverSock!.remotePort! };
    const ends = (cRx: number, cTx: number): Expected[] => [
      { ...me, family: 4, ...c, rxBytes: cRx, txBytes: cTx, what: 'client' },
      { ...me, family: 4, ...s, rxBytes: cTx, txBytes: cRx, what: 'server' },
    ];

    const first = p.drain();
    assertExact(ofEnds(frameRows(first.flows), c, s), ends(5_000, 100_000));
    client.write(Buffer.alloc(2_000, 3));
    await until(() => got === 102_000);
    const second = p.drain();
    assertExact(ofEnds(frameRows(second.flows), c, s), ends(0, 2_000));
    const third = p.drain();
    assert.deepEqual([...ofEnds(frameRows(third.flows), c, s).values()], [], 'a drain with no traffic in between gave bytes');
    for (const d of [first, second, third]) assert.deepEqual(d.lost, { events: 0, rxBytes: 0, txBytes: 0 });
    client.destroy();
    serverSock!.destroy();
  } finally {
    p.close();
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  }
}

async function pidFilter(probe: ProbeChoice, env: CheckEnv): Promise<void> {
  const p = openProbe({ probe, pid: process.pid });
  try {
    const other = await runTraffic(env, ['exact', '4']);
    const mine = bothEnds('this process', await transfer({ listen: '127.0.0.1', connect: '127.0.0.1', up: 31_337, down: 4_242 }));
    const flows = frameRows(p.drain().flows);
    assertExact(sum(flows.filter((f) => mine.some((e) => e.lport === f.lport))), mine);
    assert.deepEqual(flows.filter((f) => f.pid !== process.pid), [], 'flows of other processes were counted');
    assert.equal(expectedOf(other).some((e) => flows.some((f) => f.lport === e.lport)), false);
    // the path counters saw this process's events only, none lost; kprobes have no shortcut
    const paths = p.paths();
    assert.ok(pathTotal(paths.tx) > 0 && pathTotal(paths.rx) > 0, `path counters: ${JSON.stringify(paths)}`);
    assert.deepEqual([paths.tx.lost, paths.rx.lost], [0, 0]);
    if (p.kind === 'kprobe') assert.deepEqual([paths.tx.home, paths.rx.home, paths.tx.cached, paths.rx.cached], [0, 0, 0, 0]);
  } finally {
    p.close();
  }
}

async function familyFilter(probe: ProbeChoice): Promise<void> {
  const p = openProbe({ probe, family: 6 });
  try {
    const v4 = bothEnds('IPv4', await transfer({ listen: '127.0.0.1', connect: '127.0.0.1', up: 1_111, down: 2_222 }));
    const v6 = bothEnds('IPv6', await transfer({ listen: '::1', connect: '::1', up: 3_333, down: 4_444 }));
    const flows = frameRows(p.drain().flows);
    assert.deepEqual(flows.filter((f) => f.family !== 6), [], 'IPv4 sockets were counted');
    assertExact(sum(flows.filter((f) => v6.some((e) => e.lport === f.lport))), v6);
    assert.equal(flows.some((f) => v4.some((e) => e.lport === f.lport)), false);
  } finally {
    p.close();
  }
}

export interface CheckResult {
  name: string;
  ok: boolean;
  ms: number;
  error?: string;
}

/** Runs checks in order; a failure is recorded, never thrown. */
export async function runChecks(checks: Check[], report: (r: CheckResult) => void): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  for (const c of checks) {
    const t0 = Date.now();
    let error: string | undefined;
    try {
      await c.run();
    } catch (err) {
      error = err instanceof Error ? err.message : String(err);
    }
    const r: CheckResult = { name: c.name, ok: error === undefined, ms: Date.now() - t0, ...(error === undefined ? {} : { error }) };
    results.push(r);
    report(r);
  }
  return results;
}
