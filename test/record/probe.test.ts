// Kernel tests of the probe: real loopback traffic of known sizes, exact byte counts per flow.
// They skip (saying why) where BPF cannot run, except with CI=true, where they must run.
// The suites split by layer: here the probe and its drain on this kernel; record/command.test.ts the
// command and its file; kernels/checks.ts the set every kernel must pass, in the VMs and on this host.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { addonLoadError, checkOpenOptions, openProbe, ProbeError, type AddonOpenOptions } from '../../src/record/probe';
import { LAYOUT } from '../../src/record/snapshot';
import { cgroup2Root } from '../../src/record/cgroups';
import { FlowCounters } from '../../src/record/counters';
import { frameRows, type FlowBytes } from '../../src/capture/types';
import type { Drain, Probe } from '../../src/record/probe';
import { pathsSince, pathTotal } from '../../src/record/stats';
import { churnEnds, churningPeer, forkingClient, mixedSocketsPeer, nodeClient, payload, peekingClient, sendfileClient, python3, startPeer, startServer, stopPeers, streamingPeer, transfer } from '../helpers/traffic';
import type { End } from '../helpers/traffic';
import { kernel, kernelUnavailable as unavailable } from '../helpers/kernel';

const self = { pid: process.pid, comm: fs.readFileSync('/proc/self/comm', 'utf8').trim() };

test('bpf is available where CI runs the kernel tests', { skip: process.env.CI === 'true' ? false : 'not CI' }, () => {
  assert.equal(unavailable, undefined, `kernel tests cannot run: ${unavailable}`);
});

/** Flows of all drains added up per flow key. */
function total(drains: Drain[]): FlowBytes[] {
  const sum = new Map<string, FlowBytes>();
  for (const d of drains) {
    for (const f of frameRows(d.flows)) {
      const id = JSON.stringify([f.pid, f.comm, f.family, f.laddr, f.lport, f.raddr, f.rport]);
      const s = sum.get(id);
      if (s) {
        s.rxBytes += f.rxBytes;
        s.txBytes += f.txBytes;
      } else sum.set(id, { ...f });
    }
  }
  return [...sum.values()];
}

/** The one flow of this end (by its ports and addresses). */
function flowOf(flows: FlowBytes[], end: End): FlowBytes {
  const found = flows.filter((f) => f.lport === end.lport && f.rport === end.rport && f.laddr === end.laddr && f.raddr === end.raddr);
  assert.equal(found.length, 1, `expected one flow for ${end.laddr}:${end.lport} -> ${end.raddr}:${end.rport}, got ${JSON.stringify(found)}`);
  return found[0];
}

function hasEnd(flows: FlowBytes[], end: End): boolean {
  return flows.some((f) => f.lport === end.lport && f.rport === end.rport);
}

async function withProbe(opts: Parameters<typeof openProbe>[0], body: (p: Probe) => Promise<void>): Promise<void> {
  try {
    const probe = openProbe(opts);
    try {
      await body(probe);
    } finally {
      probe.close();
    }
  } finally {
    await stopPeers();
  }
}

test('auto attaches the tracepoints on Linux >= 6.3', kernel, async () => {
  const [major, minor] = os.release().split('.').map(Number);
  await withProbe({ probe: 'auto' }, async (probe) => {
    if (major > 6 || (major === 6 && minor >= 3)) assert.equal(probe.kind, 'tracepoint');
    else assert.notEqual(probe.kind, 'tracepoint');
  });
});

/** Both ends of a connection made in this process, with exact bytes both ways. */
async function checkTransfer(
  opts: Parameters<typeof transfer>[0],
  family: { client: 4 | 6; server: 4 | 6 },
  addrs?: { client: [string, string]; server: [string, string] },
): Promise<void> {
  await withProbe({ probe: 'auto' }, async (probe) => {
    probe.drain();
    const t = await transfer(opts);
    const flows = frameRows(probe.drain().flows);
    const client = { ...self, family: family.client, ...t.client, rxBytes: opts.down, txBytes: opts.up };
    const server = { ...self, family: family.server, ...t.server, rxBytes: opts.up, txBytes: opts.down };
    if (addrs) {
      assert.deepEqual([t.client.laddr, t.client.raddr], addrs.client);
      assert.deepEqual([t.server.laddr, t.server.raddr], addrs.server);
    }
    assert.deepEqual(flowOf(flows, t.client), client);
    assert.deepEqual(flowOf(flows, t.server), server);
  });
}

test('IPv4: exact bytes both ways at both ends, with pid and comm', kernel, () =>
  checkTransfer({ listen: '127.0.0.1', connect: '127.0.0.1', up: 100_000, down: 12_345 }, { client: 4, server: 4 }, {
    client: ['127.0.0.1', '127.0.0.1'],
    server: ['127.0.0.1', '127.0.0.1'],
  }),
);

test('IPv6 on ::1', kernel, () =>
  checkTransfer({ listen: '::1', connect: '::1', up: 54_321, down: 1_000_000 }, { client: 6, server: 6 }, {
    client: ['::1', '::1'],
    server: ['::1', '::1'],
  }),
);

test('dual-stack server: its end of an IPv4 connection is IPv6 with mapped addresses', kernel, () =>
  checkTransfer({ listen: '::', connect: '127.0.0.1', up: 7_777, down: 88_888 }, { client: 4, server: 6 }, {
    client: ['127.0.0.1', '127.0.0.1'],
    server: ['::ffff:127.0.0.1', '::ffff:127.0.0.1'],
  }),
);

test('several local addresses: 127.0.0.2 to 127.0.0.3', kernel, () =>
  checkTransfer({ listen: '127.0.0.3', connect: '127.0.0.3', localAddress: '127.0.0.2', up: 3_000, down: 40_000 }, { client: 4, server: 4 }, {
    client: ['127.0.0.2', '127.0.0.3'],
    server: ['127.0.0.3', '127.0.0.2'],
  }),
);

test('several processes: each child flow carries its own pid and comm', kernel, async () => {
  await withProbe({ probe: 'auto' }, async (probe) => {
    const server = await startServer('127.0.0.1', 2_000);
    try {
      probe.drain();
      const peers = [nodeClient('tcptop-peer-a', '127.0.0.1', server.port, 11_111), nodeClient('tcptop-peer-b', '127.0.0.1', server.port, 22_222)];
      for (const p of peers) p.go();
      const reports = await Promise.all(peers.map((p) => p.result));
      const accepted = await Promise.all(server.accepted);
      const flows = frameRows(probe.drain().flows);
      peers.forEach((peer, i) => {
        const r = reports[i];
        const { sent, received, ...end } = r;
        assert.deepEqual(flowOf(flows, end), { pid: peer.pid, comm: peer.comm, family: 4, ...end, rxBytes: received, txBytes: sent });
        assert.deepEqual([sent, received], [[11_111, 22_222][i], 2_000]);
        const mine = accepted.find((a) => a.end.rport === r.lport)!;
        assert.deepEqual(flowOf(flows, mine.end), { ...self, family: 4, ...mine.end, rxBytes: sent, txBytes: 2_000 });
      });
      assert.notEqual(peers[0].pid, peers[1].pid);
    } finally {
      await server.close();
    }
  });
});

test('a socket shared by two processes (fork) gives one flow per process', kernel, async () => {
  await withProbe({ probe: 'auto' }, async (probe) => {
    const server = await startServer('127.0.0.1', 4_321);
    try {
      probe.drain();
      const peer = forkingClient('tcptop-forker', '127.0.0.1', server.port, 12_000, 34_000);
      peer.go();
      const { childPid, childSent, sent, received, ...end } = await peer.result;
      const [mine] = await Promise.all(server.accepted);
      const flows = frameRows(probe.drain().flows).filter((f) => f.lport === end.lport && f.rport === end.rport);
      const byPid = (pid: number) => flows.find((f) => f.pid === pid);
      assert.notEqual(childPid, peer.pid);
      assert.equal(flows.length, 2, JSON.stringify(flows));
      assert.deepEqual(byPid(peer.pid), { pid: peer.pid, comm: 'tcptop-forker', family: 4, ...end, rxBytes: 4_321, txBytes: 34_000 });
      assert.deepEqual(byPid(childPid), { pid: childPid, comm: 'tcptop-forker', family: 4, ...end, rxBytes: 0, txBytes: 12_000 });
      assert.deepEqual([sent, childSent, received, mine.read], [34_000, 12_000, 4_321, 46_000]);
    } finally {
      await server.close();
    }
  });
});

// Threads of two processes taking turns on one socket, on reused stacks: test/kernels/checks.ts, with the
// C traffic generator, on this host (host.test.ts) and in the VM kernels alike.

// The send and receive tracepoints fire for every kind of socket; the program only gives TCP ones a
// flow (and looks at the protocol only until a socket has its storage).
test('UDP and unix socket traffic is not counted, TCP of the same process is', kernel, async () => {
  await withProbe({ probe: 'auto' }, async (probe) => {
    probe.drain();
    const peer = mixedSocketsPeer('tcptop-mixed', 54_321);
    peer.go();
    const r = await peer.result;
    const mine = frameRows(probe.drain().flows).filter((f) => f.pid === peer.pid);
    assert.deepEqual([r.tcpBytes, r.udpBytes, r.unixBytes], [54_321, 20 * 1700, 20 * 2000]);
    assert.deepEqual(
      mine.map(({ laddr, lport, raddr, rport, rxBytes, txBytes }) => ({ laddr, lport, raddr, rport, rxBytes, txBytes })).sort((a, b) => a.lport - b.lport),
      [{ ...r.client, rxBytes: 0, txBytes: 54_321 }, { ...r.server, rxBytes: 54_321, txBytes: 0 }].sort((a, b) => a.lport - b.lport),
    );
  });
});

test('a connection that opens, transfers and closes between two drains shows in the next one only', kernel, async () => {
  await withProbe({ probe: 'auto' }, async (probe) => {
    probe.drain();
    // transfer() returns once every send and receive has: the programs counted them in those calls
    const t = await transfer({ listen: '127.0.0.1', connect: '127.0.0.1', up: 4_096, down: 5 });
    const next = frameRows(probe.drain().flows);
    assert.equal(flowOf(next, t.client).txBytes, 4_096);
    assert.equal(flowOf(next, t.server).rxBytes, 4_096);
    const after = frameRows(probe.drain().flows);
    assert.equal(hasEnd(after, t.client) || hasEnd(after, t.server), false);
  });
});

test('slots of closed connections are reused without mixing their counts', kernel, async () => {
  await withProbe({ probe: 'auto' }, async (probe) => {
    probe.drain();
    for (let round = 1; round <= 4; round++) {
      const sizes = [round * 1_000, round * 10_000];
      const transfers = [];
      for (const up of sizes) transfers.push(await transfer({ listen: '127.0.0.1', connect: '127.0.0.1', up, down: round }));
      const d = probe.drain();
      transfers.forEach((t, i) => {
        assert.deepEqual([flowOf(frameRows(d.flows), t.client).txBytes, flowOf(frameRows(d.flows), t.client).rxBytes], [sizes[i], round]);
        assert.deepEqual([flowOf(frameRows(d.flows), t.server).rxBytes, flowOf(frameRows(d.flows), t.server).txBytes], [sizes[i], round]);
      });
      assert.deepEqual(d.lost, { events: 0, rxBytes: 0, txBytes: 0 });
    }
  });
});

/** The addon's open options the tests start from: the tracepoint probe, no tracefs (so no kretprobes). */
/** Whether a flow key string (flowKeyString) is this end's. */
function keyIsEnd(id: string, end: End): boolean {
  const [, , , laddr, lport, raddr, rport] = id.split('\0');
  return laddr === end.laddr && Number(lport) === end.lport && raddr === end.raddr && Number(rport) === end.rport;
}

/**
 * Drains until the flows of `ends` have ended (their sockets destroyed, their slots read for the last time and
 * freed): the drains say so by the flows' keys in `ended`, the probe's own signal rather than a guess at how
 * long the kernel takes. Returns the flows' bytes and the lost counts summed over those drains.
 */
async function drainUntilEnded(drain: () => Drain, ends: readonly End[]): Promise<{ flows: FlowBytes[]; lost: Drain['lost'] }> {
  const drains: Drain[] = [];
  const waiting = new Set(ends);
  for (const t0 = Date.now(); waiting.size > 0; await new Promise((r) => setTimeout(r, 5))) {
    assert.ok(Date.now() - t0 < 10_000, `no end of ${JSON.stringify([...waiting])} within 10 s`);
    const d = drain();
    drains.push(d);
    for (const end of waiting) if (d.flows.ended?.some((id) => keyIsEnd(id, end))) waiting.delete(end);
  }
  return { flows: total(drains), lost: lostIn(drains) };
}

/** The lost counts of several drains, summed. */
function lostIn(drains: readonly Drain[]): Drain['lost'] {
  const lost = { events: 0, rxBytes: 0, txBytes: 0 };
  for (const d of drains) {
    lost.events += d.lost.events;
    lost.rxBytes += d.lost.rxBytes;
    lost.txBytes += d.lost.txBytes;
  }
  return lost;
}

const OPEN_DEFAULTS: AddonOpenOptions = { kind: 'tracepoint', pid: 0, family: 0, cgroupPath: null, maxSlots: 16, tracefs: null, retprobeInstances: 0, recordCgroup: true };

/** The addon directly, opened with `opts` over the defaults and attached for `fn`; closed after, whatever happens. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
async function withAddon(opts: Partial<AddonOpenOptions>, fn: (bpf: any, handle: unknown) => Promise<void>): Promise<void> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const bpf = require('#bpf');
  const handle = bpf.open({ ...OPEN_DEFAULTS, ...opts });
  try {
    bpf.attach(handle);
    await fn(bpf, handle);
  } finally {
    bpf.close(handle);
  }
}

test('a full flow table counts what it cannot attribute as lost, and frees slots once read', kernel, async () => {
  // the addon directly, for a table of two slots; only this process's traffic is counted
  await withAddon({ pid: process.pid, maxSlots: 2 }, async (bpf, handle) => {
    const counters = new FlowCounters();
    const first = await transfer({ listen: '127.0.0.1', connect: '127.0.0.1', up: 10_000, down: 1_000 });
    const unseen = await transfer({ listen: '127.0.0.1', connect: '127.0.0.1', up: 20_000, down: 2_000 });
    const d1 = await drainUntilEnded(() => counters.apply(bpf.drain(handle)), [first.client, first.server]);
    assert.deepEqual([flowOf(d1.flows, first.client).txBytes, flowOf(d1.flows, first.server).txBytes], [10_000, 1_000]);
    assert.equal(d1.flows.length, 2);
    assert.ok(d1.lost.events >= 4, `lost events: ${d1.lost.events}`);
    assert.deepEqual([d1.lost.rxBytes, d1.lost.txBytes], [22_000, 22_000]);
    assert.equal(hasEnd(d1.flows, unseen.client), false);
    // the first connection's slots were read for the last time above, so they are free again
    const third = await transfer({ listen: '127.0.0.1', connect: '127.0.0.1', up: 30_000, down: 3_000 });
    const d2 = counters.apply(bpf.drain(handle));
    assert.deepEqual([flowOf(frameRows(d2.flows), third.client).txBytes, flowOf(frameRows(d2.flows), third.server).txBytes], [30_000, 3_000]);
    assert.deepEqual(d2.lost, { events: 0, rxBytes: 0, txBytes: 0 });
  });
});

test("each flow notes its process's cgroup v2 id when its slot is made; with recordCgroup false (the bench's reference) it reads 0", kernel, async () => {
  const root = cgroup2Root();
  assert.ok(root, 'a cgroup2 mount');
  const own = /^0::(.*)$/m.exec(fs.readFileSync('/proc/self/cgroup', 'utf8'))![1];
  const id = Number(fs.statSync(path.join(root, own)).ino);
  for (const recordCgroup of [true, false]) {
    await withAddon({ pid: process.pid, recordCgroup }, async (bpf, handle) => {
      const t = await transfer({ listen: '127.0.0.1', connect: '127.0.0.1', up: 1_000, down: 10 });
      const d = new FlowCounters().apply(bpf.drain(handle));
      const ends = d.flows.flows.slice(0, d.flows.count).filter((f) => [t.client, t.server].some((e) => e.lport === f.lport && e.rport === f.rport));
      assert.equal(ends.length, 2, `recordCgroup ${recordCgroup}: both ends`);
      for (const f of ends) assert.equal(f.cgroup, recordCgroup ? id : 0, `recordCgroup ${recordCgroup}`);
    });
  }
});

test('freed slots are taken again, read after read, with exact counts', kernel, async () => {
  // a table of three slots: each connection takes two and frees them at the next read, so every slot is
  // taken again and again (three, not a power of two: homes wrap by modulo)
  await withAddon({ pid: process.pid, maxSlots: 3 }, async (bpf, handle) => {
    const counters = new FlowCounters();
    for (let round = 1; round <= 8; round++) {
      const t = await transfer({ listen: '127.0.0.1', connect: '127.0.0.1', up: round * 3_000, down: round * 7 });
      const d = await drainUntilEnded(() => counters.apply(bpf.drain(handle)), [t.client, t.server]);
      assert.deepEqual([flowOf(d.flows, t.client).txBytes, flowOf(d.flows, t.client).rxBytes], [round * 3_000, round * 7], `round ${round}`);
      assert.deepEqual([flowOf(d.flows, t.server).rxBytes, flowOf(d.flows, t.server).txBytes], [round * 3_000, round * 7], `round ${round}`);
      assert.equal(d.flows.length, 2, `round ${round}`);
      assert.deepEqual(d.lost, { events: 0, rxBytes: 0, txBytes: 0 }, `round ${round}`);
    }
  });
});

test('connections opening and closing on two CPUs at once share a small table without losing a byte', kernel, async () => {
  // 3,200 flows through 512 slots: two threads open and close 25 connections each per round, on both
  // CPUs at once, so programs race for the same slots; a read after each round frees theirs (at most two
  // rounds' worth, 200 flows, are held at once: each new flow finds a free slot among 64 tries)
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const bpf = require('#bpf');
  const rounds = 32;
  const peer = churningPeer('tcptop-churn', 2, rounds, 25);
  const handle = bpf.open({ kind: 'tracepoint', pid: peer.pid, family: 0, cgroupPath: null, maxSlots: 512, tracefs: null, retprobeInstances: 0, recordCgroup: true });
  try {
    bpf.attach(handle);
    const counters = new FlowCounters();
    const seen = new Map<string, [number, number]>();
    const drains: Drain[] = [];
    const read = () => {
      const d = counters.apply(bpf.drain(handle));
      drains.push(d);
      for (const f of frameRows(d.flows)) {
        const key = `${f.lport}>${f.rport}`;
        const s = seen.get(key) ?? [0, 0];
        seen.set(key, [s[0] + f.rxBytes, s[1] + f.txBytes]);
      }
    };
    for (let r = 0; r < rounds; r++) {
      await peer.round();
      read();
    }
    // the peer has exited: every send and receive it made was counted in its call
    const conns = await peer.result;
    read();

    assert.equal(conns.length, 2 * rounds * 25);
    assert.deepEqual(lostIn(drains), { events: 0, rxBytes: 0, txBytes: 0 });
    assert.deepEqual(new Map([...seen].sort()), churnEnds(conns));
  } finally {
    bpf.close(handle);
    await stopPeers();
  }
});

test('sendfile(2) is counted', kernel, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tcptop-sendfile-'));
  const file = path.join(dir, 'data');
  fs.writeFileSync(file, payload(1_234_567));
  try {
    await withProbe({ probe: 'auto' }, async (probe) => {
      const server = await startServer('127.0.0.1', 10);
      try {
        probe.drain();
        const peer = sendfileClient('tcptop-sendfil', '127.0.0.1', server.port, file);
        peer.go();
        const { sent, received, ...end } = await peer.result;
        const [mine] = await Promise.all(server.accepted);
        const flows = frameRows(probe.drain().flows);
        assert.equal(sent, 1_234_567);
        assert.equal(mine.read, 1_234_567);
        assert.deepEqual(flowOf(flows, end), { pid: peer.pid, comm: 'tcptop-sendfil', family: 4, ...end, rxBytes: received, txBytes: 1_234_567 });
        assert.deepEqual(flowOf(flows, mine.end), { ...self, family: 4, ...mine.end, rxBytes: 1_234_567, txBytes: 10 });
      } finally {
        await server.close();
      }
    });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('peeked bytes are not counted, only those really read', kernel, async () => {
  await withProbe({ probe: 'auto' }, async (probe) => {
    const server = await startServer('127.0.0.1', 50_000);
    try {
      probe.drain();
      const peer = peekingClient('tcptop-peeker', '127.0.0.1', server.port, 5);
      peer.go();
      const { peeked, received, ...end } = await peer.result;
      await Promise.all(server.accepted);
      const flows = frameRows(probe.drain().flows);
      assert.equal(peeked, 5_000);
      assert.equal(received, 50_000);
      const f = flowOf(flows, end);
      assert.deepEqual([f.pid, f.comm, f.rxBytes, f.txBytes], [peer.pid, 'tcptop-peeker', 50_000, 0]);
    } finally {
      await server.close();
    }
  });
});

test('a half-closed socket read after it reached TCP_CLOSE keeps its local port', kernel, async () => {
  await withProbe({ probe: 'auto' }, async (probe) => {
    const server = await startServer('127.0.0.1', 30_000);
    try {
      probe.drain();
      const peer = peekingClient('tcptop-late', '127.0.0.1', server.port, 0, 300);
      peer.go();
      const { peeked, received, sent, ...end } = await peer.result;
      const [mine] = await Promise.all(server.accepted);
      const flows = frameRows(probe.drain().flows);
      assert.deepEqual([peeked, received, sent], [0, 30_000, 0]);
      assert.deepEqual(flowOf(flows, end), { pid: peer.pid, comm: 'tcptop-late', family: 4, ...end, rxBytes: 30_000, txBytes: 0 });
      assert.deepEqual(flowOf(flows, mine.end), { ...self, family: 4, ...mine.end, rxBytes: 0, txBytes: 30_000 });
    } finally {
      await server.close();
    }
  });
});

test('continuous traffic across many drains: the drains add up to the bytes moved', kernel, async () => {
  await withProbe({ probe: 'auto' }, async (probe) => {
    probe.drain();
    const peer = streamingPeer('tcptop-stream', 1_500, 1_000);
    const drains: Drain[] = [];
    let done = false;
    const result = peer.result.finally(() => (done = true));
    peer.go();
    while (!done) {
      await new Promise((r) => setTimeout(r, 100));
      drains.push(probe.drain());
    }
    const r = await result;
    drains.push(probe.drain());
    const flows = total(drains);
    const client = flowOf(flows, r.client);
    const server = flowOf(flows, r.server);
    assert.ok(r.bytes > 1_000_000, `only ${r.bytes} bytes streamed`);
    assert.deepEqual([client.pid, client.comm, client.txBytes, client.rxBytes], [peer.pid, 'tcptop-stream', r.bytes, 0]);
    assert.deepEqual([server.pid, server.txBytes, server.rxBytes], [peer.pid, 0, r.bytes]);
    const withBytes = drains.filter((d) => frameRows(d.flows).some((f) => f.pid === peer.pid && f.lport === r.client.lport && f.txBytes > 0));
    assert.ok(withBytes.length >= 5, `bytes fell into only ${withBytes.length} drains`);
  });
});

test('pid filter: only the chosen process is counted, in the kernel', kernel, async () => {
  const server = await startServer('127.0.0.1', 300);
  try {
    const peer = nodeClient('tcptop-pid', '127.0.0.1', server.port, 9_999);
    await withProbe({ probe: 'auto', pid: peer.pid }, async (probe) => {
      peer.go();
      const { sent, received, ...end } = await peer.result;
      const mine = await transfer({ listen: '127.0.0.1', connect: '127.0.0.1', up: 1_000, down: 1_000 });
      const flows = frameRows(probe.drain().flows);
      assert.deepEqual(flowOf(flows, end), { pid: peer.pid, comm: 'tcptop-pid', family: 4, ...end, rxBytes: 300, txBytes: 9_999 });
      assert.deepEqual([sent, received], [9_999, 300]);
      assert.deepEqual(flows.filter((f) => f.pid !== peer.pid), []);
      assert.equal(hasEnd(flows, mine.client), false);
    });
  } finally {
    await stopPeers();
    await server.close();
  }
});

test('family filter: -6 counts IPv6 sockets only (a dual-stack server end included)', kernel, async () => {
  await withProbe({ probe: 'auto', family: 6 }, async (probe) => {
    const v4 = await transfer({ listen: '127.0.0.1', connect: '127.0.0.1', up: 1_111, down: 2_222 });
    const v6 = await transfer({ listen: '::1', connect: '::1', up: 3_333, down: 4_444 });
    const mapped = await transfer({ listen: '::', connect: '127.0.0.1', up: 5_555, down: 6_666 });
    const flows = frameRows(probe.drain().flows);
    assert.deepEqual(flows.filter((f) => f.family !== 6), []);
    assert.equal(hasEnd(flows, v4.client) || hasEnd(flows, v4.server) || hasEnd(flows, mapped.client), false);
    assert.deepEqual([flowOf(flows, v6.client).txBytes, flowOf(flows, v6.server).rxBytes], [3_333, 3_333]);
    assert.deepEqual([flowOf(flows, mapped.server).rxBytes, flowOf(flows, mapped.server).txBytes], [5_555, 6_666]);
  });
  await withProbe({ probe: 'auto', family: 4 }, async (probe) => {
    const v4 = await transfer({ listen: '127.0.0.1', connect: '127.0.0.1', up: 1_212, down: 3_434 });
    const v6 = await transfer({ listen: '::1', connect: '::1', up: 10, down: 10 });
    const flows = frameRows(probe.drain().flows);
    assert.deepEqual(flows.filter((f) => f.family !== 4), []);
    assert.deepEqual([flowOf(flows, v4.client).txBytes, flowOf(flows, v4.server).txBytes], [1_212, 3_434]);
    assert.equal(hasEnd(flows, v6.client), false);
  });
});

function cgroup2Mount(): string {
  const line = fs
    .readFileSync('/proc/self/mounts', 'utf8')
    .split('\n')
    .find((l) => l.split(' ')[2] === 'cgroup2');
  assert.ok(line, 'no cgroup2 mount');
  return line.split(' ')[1];
}

test('cgroup filter: only processes in the cgroup or below it are counted, in the kernel', kernel, async () => {
  const parent = path.join(cgroup2Mount(), `tcptop-test-${process.pid}`);
  const child = path.join(parent, 'leaf');
  fs.mkdirSync(child, { recursive: true });
  const server = await startServer('127.0.0.1', 77);
  const peer = nodeClient('tcptop-cgroup', '127.0.0.1', server.port, 6_543);
  try {
    fs.writeFileSync(path.join(child, 'cgroup.procs'), String(peer.pid));
    await withProbe({ probe: 'auto', cgroupPath: parent }, async (probe) => {
      peer.go();
      const { sent, received, ...end } = await peer.result;
      const mine = await transfer({ listen: '127.0.0.1', connect: '127.0.0.1', up: 1_000, down: 1_000 });
      const flows = frameRows(probe.drain().flows);
      assert.deepEqual(flowOf(flows, end), { pid: peer.pid, comm: 'tcptop-cgroup', family: 4, ...end, rxBytes: 77, txBytes: 6_543 });
      assert.deepEqual([sent, received], [6_543, 77]);
      assert.deepEqual(flows.filter((f) => f.pid !== peer.pid), []);
      assert.equal(hasEnd(flows, mine.client), false);
    });
  } finally {
    await stopPeers();
    await server.close();
    fs.rmdirSync(child);
    fs.rmdirSync(parent);
  }
});

test('a path that is not a cgroup v2 directory is refused before loading', kernel, () => {
  assert.throws(() => openProbe({ probe: 'auto', cgroupPath: os.tmpdir() }), (e: unknown) => {
    assert.ok(e instanceof ProbeError);
    assert.match(e.message, /^open cgroup \/\S+: not a cgroup v2 directory \(give a directory under the cgroup2 mount \S+\)$/);
    return true;
  });
  assert.throws(() => openProbe({ probe: 'auto', cgroupPath: '/nonexistent/tcptop' }), /^ProbeError: open cgroup \/nonexistent\/tcptop: no such directory \(/);
});

/** What each forced kind must say where this kernel cannot run it: the operation, the cause, the remedy. */
const REFUSAL = {
  fentry: { code: 'EPERM', message: 'load fentry programs: operation not permitted (this kernel refuses fentry programs even to root; use --probe auto)' },
  kprobe: { code: 'ENOENT', message: 'attach kprobe/tcp_sendmsg: no such file or directory (this kernel has no kprobes, or cannot probe that function; use --probe auto)' },
};

/** Whether the running kernel's config says it was built without kprobes (null: no config to read). */
function builtWithoutKprobes(): boolean | null {
  try {
    return /^# CONFIG_KPROBES is not set$/m.test(zlib.gunzipSync(fs.readFileSync('/proc/config.gz')).toString());
  } catch {
    return null;
  }
}

/** A forced probe kind either counts a known transfer exactly, or fails with its exact refusal. */
async function checkForced(kind: 'fentry' | 'kprobe'): Promise<void> {
  let probe: Probe;
  try {
    probe = openProbe({ probe: kind });
  } catch (e) {
    assert.ok(e instanceof ProbeError, String(e));
    assert.deepEqual({ code: e.code, message: e.message }, REFUSAL[kind]);
    assert.equal(typeof e.errno, 'number');
    return;
  }
  try {
    assert.notEqual(kind === 'kprobe' && builtWithoutKprobes(), true, 'a kernel built without CONFIG_KPROBES attached kprobes');
    assert.equal(probe.kind, kind);
    probe.drain();
    const t = await transfer({ listen: '127.0.0.1', connect: '127.0.0.1', up: 23_456, down: 6_543 });
    const flows = frameRows(probe.drain().flows);
    assert.deepEqual([flowOf(flows, t.client).txBytes, flowOf(flows, t.client).rxBytes], [23_456, 6_543]);
    assert.deepEqual([flowOf(flows, t.server).rxBytes, flowOf(flows, t.server).txBytes], [23_456, 6_543]);
  } finally {
    probe.close();
  }
}

test('forced fentry: counts exact bytes where it attaches, else its exact refusal', kernel, () => checkForced('fentry'));

test('forced kprobe: counts exact bytes where it attaches, else its exact refusal', kernel, () => checkForced('kprobe'));

test('without privileges: one line saying to run as root', kernel, () => {
  const script = `
    const { openProbe } = require(${JSON.stringify(path.join(__dirname, '../../src/record/probe.js'))});
    try { openProbe({ probe: 'auto' }); console.log('opened'); } catch (e) { console.log(e.name + ' ' + e.code + ' ' + e.message); }`;
  const r = spawnSync(process.execPath, ['-e', script], { uid: 65534, gid: 65534, encoding: 'utf8', cwd: '/' });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), 'ProbeError EPERM load tracepoint programs: operation not permitted (run as root, or grant CAP_BPF and CAP_PERFMON)');
});

test('bad options are refused in TypeScript, before the kernel is asked', () => {
  assert.throws(() => openProbe({ probe: 'uprobe' as 'kprobe' }), /^ProbeError: open probe: unknown probe "uprobe" \(use auto, tracepoint, fentry or kprobe\)$/);
  assert.throws(() => openProbe({ probe: 'auto', pid: 0 }), /^ProbeError: open probe: invalid pid 0 \(give a process id above 0\)$/);
  assert.throws(() => openProbe({ probe: 'auto', pid: 1.5 }), /invalid pid 1\.5/);
  assert.throws(() => openProbe({ probe: 'auto', family: 5 as 4 }), /^ProbeError: open probe: invalid family 5 \(use 4 or 6\)$/);
  assert.throws(() => openProbe({ probe: 'kprobe', retprobeInstances: 0 }), /^ProbeError: open probe: invalid kretprobe instances 0 \(give 1 to 4096\)$/);
  assert.throws(() => openProbe({ probe: 'kprobe', retprobeInstances: 4097 }), /invalid kretprobe instances 4097/);
});

test('an addon that is not built, or cannot load its libraries, says what to install', () => {
  const notBuilt = addonLoadError(Object.assign(new Error("Cannot find module '#bpf'"), { code: 'MODULE_NOT_FOUND' }));
  assert.match(notBuilt.message, /^load bpf addon: not built \(install clang, libbpf-dev and bpftool, then run npm run install in a checkout of tcptop, or npm rebuild tcptop \(-g if global\)\)$/);
  assert.deepEqual([notBuilt.code, notBuilt.op], ['ENOENT', 'load bpf addon']);
  const noLib = addonLoadError(Object.assign(new Error('libbpf.so.1: cannot open shared object file: No such file or directory'), { code: 'ERR_DLOPEN_FAILED' }));
  assert.match(noLib.message, /^load bpf addon: libbpf\.so\.1: cannot open shared object file: No such file or directory \(install libbpf1 and libelf1, or install clang/);
});

/** Whether the addon loads here (it needs no privilege to be loaded, only to open a probe). */
function addonLoads(): string | false {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    require('#bpf');
    return false;
  } catch {
    return 'the bpf addon is not built';
  }
}
const addonBuilt = { skip: process.env.CI === 'true' ? false : addonLoads() };

test("the addon's snapshot layout, from the C compiler, is the one the decoder reads", addonBuilt, () => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  assert.deepEqual(require('#bpf').layout, LAYOUT);
});

const goodOpen = OPEN_DEFAULTS;
const badOpens: [string, Record<string, unknown>, RegExp][] = [
  ['kind', { kind: 'uprobe' }, /^open: options\.kind must be "tracepoint", "fentry" or "kprobe"/],
  ['pid', { pid: '181' }, /^open: options\.pid must be an integer from 0 to 4294967295/],
  ['pid', { pid: -1 }, /^open: options\.pid must be an integer from 0 to 4294967295/],
  ['family', { family: 5 }, /^open: options\.family must be 0, 4 or 6/],
  ['cgroupPath', { cgroupPath: 3 }, /^open: options\.cgroupPath must be a string or null/],
  ['maxSlots', { maxSlots: 1.5 }, /^open: options\.maxSlots must be an integer from 0 to 4294967295/],
  ['maxSlots', { maxSlots: 0 }, /^open: options\.maxSlots must be at least 1/],
  ['tracefs', { tracefs: undefined }, /^open: options\.tracefs must be a string or null/],
  ['retprobeInstances', { retprobeInstances: undefined }, /^open: options\.retprobeInstances must be an integer from 0 to 4294967295/],
  ['recordCgroup', { recordCgroup: 1 }, /^open: options\.recordCgroup must be true or false/],
  ['recordCgroup', { recordCgroup: undefined }, /^open: options\.recordCgroup must be true or false/],
];

test("the addon's open options are checked in TypeScript: a wrong type is a TypeError naming the field", () => {
  assert.equal(checkOpenOptions(goodOpen), goodOpen);
  for (const [name, change, message] of badOpens) {
    assert.throws(() => checkOpenOptions({ ...goodOpen, ...change } as unknown as AddonOpenOptions), (e: Error) => e instanceof TypeError && message.test(e.message), name);
  }
});

test("the addon's open refuses a missing or wrong-typed option with a TypeError rather than taking a default", addonBuilt, () => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const bpf = require('#bpf');
  assert.throws(() => bpf.open(), (e: Error) => e instanceof TypeError && /^open\(options\): options must be an object$/.test(e.message));
  for (const [name, change, message] of badOpens) {
    assert.throws(() => bpf.open({ ...goodOpen, ...change }), (e: Error) => e instanceof TypeError && message.test(e.message), name);
    const missing: Record<string, unknown> = { ...goodOpen };
    delete missing[name];
    assert.throws(() => bpf.open(missing), (e: Error) => e instanceof TypeError && new RegExp(`^open: options\\.${name} must be`).test(e.message), `${name} missing`);
  }
  assert.throws(() => bpf.open({ ...goodOpen, tracefs: `/${'x'.repeat(300)}` }), /^TypeError: open: options\.tracefs must be shorter than 256 bytes$/);
  // every lane of the counts holds maxSlots entries of one map, whose entries a u32 numbers
  assert.throws(() => bpf.open({ ...goodOpen, maxSlots: 2 ** 30 }), /^TypeError: open: options\.maxSlots must be at most 1073741823$/);
});

// Waits for "go", then N round trips of SIZE bytes between two ends of one loopback connection in this one
// thread, counting the send and receive calls that moved bytes: each is one event of the programs.
const PY_PINGPONG = `
import json, socket, sys
n, size = int(sys.argv[1]), int(sys.argv[2])
sys.stdin.readline()
lsock = socket.socket(); lsock.bind(('127.0.0.1', 0)); lsock.listen(1)
c = socket.create_connection(lsock.getsockname()); s, _ = lsock.accept()
calls = {'sends': 0, 'recvs': 0}
def send(sock):
    data = b'x' * size
    while data:
        data = data[sock.send(data):]
        calls['sends'] += 1
def recv(sock):
    left = size
    while left:
        left -= len(sock.recv(left))
        calls['recvs'] += 1
for _ in range(n):
    send(c); recv(s); send(s); recv(c)
print(json.dumps(calls))
`;

// Waits for "go", then two threads pinned to CPUs 0 and 1 each send N messages of SIZE bytes on the one
// connection's client end, while a third thread reads them all at the server end; prints the calls that moved
// bytes (each is one event).
const PY_TWO_CPUS = `
import json, os, socket, sys, threading
n, size = int(sys.argv[1]), int(sys.argv[2])
sys.stdin.readline()
lsock = socket.socket(); lsock.bind(('127.0.0.1', 0)); lsock.listen(1)
c = socket.create_connection(lsock.getsockname()); s, _ = lsock.accept()
lock = threading.Lock()
calls = {'sends': 0, 'recvs': 0, 'cpus': []}
def sender(cpu):
    os.sched_setaffinity(0, {cpu})
    sends = 0
    for _ in range(n):
        with lock:
            data = b'x' * size
            while data:
                data = data[c.send(data):]
                sends += 1
    with lock:
        calls['sends'] += sends
        calls['cpus'].append(os.sched_getaffinity(0) == {cpu})
def reader():
    left = 2 * n * size
    while left:
        left -= len(s.recv(min(left, 65536)))
        calls['recvs'] += 1
threads = [threading.Thread(target=sender, args=(cpu,)) for cpu in (0, 1)] + [threading.Thread(target=reader)]
for t in threads: t.start()
for t in threads: t.join()
print(json.dumps(calls))
`;

test('threads on two CPUs sending on one socket: each CPU adds in its own lane, and a read sums the lanes exactly', { skip: kernel.skip || (os.availableParallelism() < 2 && process.env.CI !== 'true' ? 'one CPU: the counts have a single lane' : false) }, async () => {
  const messages = 5_000;
  const size = 100;
  const peer = startPeer<{ sends: number; recvs: number; cpus: boolean[] }>(python3(), 'tcptop-lanes', ['-c', PY_TWO_CPUS, String(messages), String(size)]);
  await withProbe({ probe: 'auto', pid: peer.pid }, async (probe) => {
    const before = probe.paths();
    peer.go();
    const calls = await peer.result;
    assert.deepEqual(calls.cpus, [true, true], 'each sender ran on its own CPU');
    const p = pathsSince(probe.paths(), before);
    assert.deepEqual([pathTotal(p.tx), pathTotal(p.rx)], [calls.sends, calls.recvs]);
    const drained = frameRows(probe.drain().flows).filter((f) => f.pid === peer.pid);
    assert.deepEqual([drained.reduce((n, f) => n + f.txBytes, 0), drained.reduce((n, f) => n + f.rxBytes, 0)], [2 * messages * size, 2 * messages * size]);
    if (probe.kind !== 'kprobe') {
      // the flow is made once, in every lane: the second CPU's first send finds it at home too
      assert.deepEqual([p.tx.lookup, p.rx.lookup, p.tx.cached, p.rx.cached], [1, 1, 0, 0]);
    }
  });
});

test('path counters: every counted event is in one of them, and the home slot takes all but the first of each socket', kernel, async () => {
  const rounds = 2_000;
  const peer = startPeer<{ sends: number; recvs: number }>(python3(), 'tcptop-paths', ['-c', PY_PINGPONG, String(rounds), '100']);
  await withProbe({ probe: 'auto', pid: peer.pid }, async (probe) => {
    const before = probe.paths();
    peer.go();
    const calls = await peer.result;
    const p = pathsSince(probe.paths(), before);
    assert.deepEqual([pathTotal(p.tx), pathTotal(p.rx)], [calls.sends, calls.recvs]);
    assert.ok(calls.sends >= 2 * rounds && calls.recvs >= 2 * rounds);
    assert.deepEqual([p.tx.lost, p.rx.lost], [0, 0]);
    const drained = frameRows(probe.drain().flows).filter((f) => f.pid === peer.pid);
    assert.deepEqual([drained.reduce((n, f) => n + f.txBytes, 0), drained.reduce((n, f) => n + f.rxBytes, 0)], [2 * rounds * 100, 2 * rounds * 100]);
    if (probe.kind === 'kprobe') {
      // no socket storage and no cookie: every event looks its socket up in a hash
      assert.deepEqual([p.tx.home, p.rx.home, p.tx.cached, p.rx.cached], [0, 0, 0, 0]);
    } else {
      // two sockets, each used in turn for a send and a receive: a socket's first event creates its storage
      // and makes the flow in its home slot (nothing else of this process's holds it), and the rest find it
      // there by the socket's cookie
      assert.deepEqual([p.tx.lookup, p.rx.lookup, p.tx.cached, p.rx.cached], [1, 1, 0, 0]);
    }
  });
});
