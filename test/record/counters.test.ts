// The delta logic over the kernel's cumulative slot counters, with snapshots made by hand.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { formatAddress } from '../../src/capture/address';
import { frameRows } from '../../src/capture/types';
import { FlowCounters, FlowKeys, FrameMerger, SlotCounts } from '../../src/record/counters';
import { LAYOUT, layoutDifferences } from '../../src/record/snapshot';

interface Slot {
  slot: number;
  rx: number;
  tx: number;
  closed?: boolean;
  gen?: number;
  pid?: number;
  comm?: string;
  family?: 4 | 6;
  laddr?: number[];
  raddr?: number[];
  cgroup?: number;
  lport?: number;
  rport?: number;
}

/** A snapshot as the addon's drain() lays it out, by the layout the decoder checks the addon's against. */
function snapshot(slots: Slot[], lost: [number, number, number] = [0, 0, 0]): Buffer {
  const { header: h, record: r } = LAYOUT;
  const b = Buffer.alloc(h.size + slots.length * r.size);
  b.writeBigUInt64LE(BigInt(lost[0]), h.lostEvents);
  b.writeBigUInt64LE(BigInt(lost[1]), h.lostRxBytes);
  b.writeBigUInt64LE(BigInt(lost[2]), h.lostTxBytes);
  b.writeUInt32LE(slots.length, h.nrecords);
  b.writeUInt32LE(r.size, h.recordSize);
  slots.forEach((s, i) => {
    const at = h.size + i * r.size;
    b.writeUInt32LE(s.slot, at + r.slot);
    b.writeBigUInt64LE(BigInt(s.rx), at + r.rxBytes);
    b.writeBigUInt64LE(BigInt(s.tx), at + r.txBytes);
    b.writeUInt32LE(s.closed ? LAYOUT.slotClosed : 1, at + r.state);
    b.writeUInt32LE(s.gen ?? 1, at + r.gen);
    b.writeUInt32LE(s.pid ?? 100, at + r.pid);
    b.writeUInt16LE(s.family ?? 4, at + r.family);
    b.writeUInt16LE(s.lport ?? 1000 + s.slot, at + r.lport);
    b.writeUInt16LE(s.rport ?? 80, at + r.rport);
    Buffer.from(s.laddr ?? [127, 0, 0, 1]).copy(b, at + r.laddr);
    Buffer.from(s.raddr ?? [127, 0, 0, 2]).copy(b, at + r.raddr);
    b.write(s.comm ?? 'curl', at + r.comm, LAYOUT.commLen - 1, 'utf8');
    b.writeBigUInt64LE(BigInt(s.cgroup ?? 0), at + r.cgroup);
  });
  return b;
}

const bytes = (f: { rxBytes: number; txBytes: number; lport: number }) => [f.lport, f.rxBytes, f.txBytes];

test('first read gives the counts so far; later reads the growth; idle flows are left out', () => {
  const c = new FlowCounters();
  assert.deepEqual(frameRows(c.apply(snapshot([{ slot: 0, rx: 10, tx: 20 }, { slot: 1, rx: 0, tx: 0 }])).flows).map(bytes), [[1000, 10, 20]]);
  assert.deepEqual(frameRows(c.apply(snapshot([{ slot: 0, rx: 15, tx: 20 }, { slot: 1, rx: 0, tx: 7 }])).flows).map(bytes), [[1000, 5, 0], [1001, 0, 7]]);
  assert.deepEqual(frameRows(c.apply(snapshot([{ slot: 0, rx: 15, tx: 20 }, { slot: 1, rx: 0, tx: 7 }])).flows), []);
});

test('each flow carries the cgroup id of the process that took its slot; it is not part of the flow key', () => {
  const c = new FlowCounters();
  const f = c.apply(snapshot([{ slot: 0, rx: 1, tx: 2, cgroup: 2 ** 40 + 7 }, { slot: 1, rx: 3, tx: 4 }])).flows;
  assert.deepEqual([f.flows[0].cgroup, f.flows[1].cgroup], [2 ** 40 + 7, 0]);
  assert.ok(!f.flows[0].id.includes(String(2 ** 40 + 7)));
});

test('a closed slot gives its last bytes once; its reuse starts from zero', () => {
  const c = new FlowCounters();
  c.apply(snapshot([{ slot: 3, rx: 100, tx: 100 }]));
  assert.deepEqual(frameRows(c.apply(snapshot([{ slot: 3, rx: 130, tx: 100, closed: true }])).flows).map(bytes), [[1003, 30, 0]]);
  // freed by the read above, then taken by a new socket: same generation would be a bug in the
  // kernel, so the count after a CLOSED read always starts fresh
  assert.deepEqual(frameRows(c.apply(snapshot([{ slot: 3, rx: 40, tx: 1, gen: 2, lport: 5555 }])).flows).map(bytes), [[5555, 40, 1]]);
});

test('a slot reused without being seen closed is told apart by its generation', () => {
  const c = new FlowCounters();
  c.apply(snapshot([{ slot: 0, rx: 500, tx: 0, gen: 1 }]));
  assert.deepEqual(frameRows(c.apply(snapshot([{ slot: 0, rx: 600, tx: 0, gen: 2, lport: 7 }])).flows).map(bytes), [[7, 600, 0]]);
});

test('a connection that lived between two reads shows whole in the next read', () => {
  const c = new FlowCounters();
  c.apply(snapshot([]));
  assert.deepEqual(frameRows(c.apply(snapshot([{ slot: 9, rx: 1, tx: 999, closed: true }])).flows).map(bytes), [[1009, 1, 999]]);
  assert.deepEqual(frameRows(c.apply(snapshot([])).flows), []);
});

test('slots with the same flow key add up to one flow', () => {
  const c = new FlowCounters();
  const d = c.apply(snapshot([{ slot: 0, rx: 1, tx: 2, lport: 9 }, { slot: 5, rx: 10, tx: 20, lport: 9 }]));
  assert.deepEqual(frameRows(d.flows).map(bytes), [[9, 11, 22]]);
});

test('a flow ends when no slot holds its key any more, and only then', () => {
  const c = new FlowCounters();
  const ended = (d: ReturnType<FlowCounters['apply']>) => (d.flows.ended ?? []).map((id) => Number(id.split('\0')[4]));
  // two sockets with one key (ports 9) and one of their own
  assert.deepEqual(ended(c.apply(snapshot([{ slot: 0, rx: 1, tx: 1, lport: 9 }, { slot: 1, rx: 1, tx: 1, lport: 9 }, { slot: 2, rx: 5, tx: 5 }]))), []);
  // one of the two closes: the key still has a socket
  assert.deepEqual(ended(c.apply(snapshot([{ slot: 0, rx: 2, tx: 1, lport: 9, closed: true }, { slot: 1, rx: 1, tx: 1, lport: 9 }, { slot: 2, rx: 5, tx: 5 }]))), []);
  // the other closes, and so does slot 2 with no new bytes: both keys end
  assert.deepEqual(ended(c.apply(snapshot([{ slot: 1, rx: 1, tx: 3, lport: 9, closed: true }, { slot: 2, rx: 5, tx: 5, closed: true }]))).sort((a, b) => a - b), [9, 1002]);
  // a key that closes and is taken again by a new socket in the same read goes on: not ended
  c.apply(snapshot([{ slot: 4, rx: 1, tx: 0, lport: 7 }]));
  const d = c.apply(snapshot([{ slot: 4, rx: 3, tx: 0, lport: 7, closed: true }, { slot: 5, rx: 4, tx: 0, lport: 7 }]));
  assert.deepEqual(ended(d), []);
  assert.deepEqual(frameRows(d.flows).map(bytes), [[7, 6, 0]]);
});

test('lost counts are deltas too', () => {
  const c = new FlowCounters();
  assert.deepEqual(c.apply(snapshot([], [2, 100, 50])).lost, { events: 2, rxBytes: 100, txBytes: 50 });
  assert.deepEqual(c.apply(snapshot([], [5, 100, 80])).lost, { events: 3, rxBytes: 0, txBytes: 30 });
});

test('missed kretprobe calls are lost events with no bytes, as deltas of their cumulative count', () => {
  const c = new FlowCounters();
  assert.deepEqual(c.apply(snapshot([], [1, 10, 0]), 4).lost, { events: 5, rxBytes: 10, txBytes: 0 });
  assert.deepEqual(c.apply(snapshot([], [1, 10, 0]), 4).lost, { events: 0, rxBytes: 0, txBytes: 0 });
  assert.deepEqual(c.apply(snapshot([], [2, 10, 7]), 10).lost, { events: 7, rxBytes: 0, txBytes: 7 });
  // the other probes have none to report
  assert.deepEqual(new FlowCounters().apply(snapshot([], [3, 1, 2])).lost, { events: 3, rxBytes: 1, txBytes: 2 });
});

test('counts beyond 32 bits stay exact', () => {
  const c = new FlowCounters();
  c.apply(snapshot([{ slot: 0, rx: 2 ** 40, tx: 0 }]));
  const d = c.apply(snapshot([{ slot: 0, rx: 2 ** 40 + 2 ** 33 + 1, tx: 2 ** 52 }]));
  assert.deepEqual(frameRows(d.flows).map(bytes), [[1000, 2 ** 33 + 1, 2 ** 52]]);
});

test('the flow key: pid, comm, family, addresses and ports as written by the kernel', () => {
  const c = new FlowCounters();
  const v6 = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
  const d = c.apply(snapshot([{ slot: 0, rx: 1, tx: 2, pid: 4242, comm: 'nginx: worker p', family: 6, laddr: v6, raddr: [...Array(15).fill(0), 1], lport: 443, rport: 50000 }]));
  assert.deepEqual(frameRows(d.flows), [{ pid: 4242, comm: 'nginx: worker p', family: 6, laddr: '2001:db8::1', lport: 443, raddr: '::1', rport: 50000, rxBytes: 1, txBytes: 2 }]);
});

test('addresses: dotted quad, RFC 5952, IPv4-mapped as Node writes it', () => {
  const v6 = (...groups: number[]) => Uint8Array.from(groups.flatMap((g) => [g >> 8, g & 0xff]));
  assert.equal(formatAddress(Uint8Array.from([127, 0, 0, 3])), '127.0.0.3');
  assert.equal(formatAddress(v6(0, 0, 0, 0, 0, 0, 0, 0)), '::');
  assert.equal(formatAddress(v6(0, 0, 0, 0, 0, 0, 0, 1)), '::1');
  assert.equal(formatAddress(v6(0, 0, 0, 0, 0, 0xffff, 0x7f00, 1)), '::ffff:127.0.0.1');
  assert.equal(formatAddress(v6(0x2001, 0xdb8, 0, 0, 1, 0, 0, 1)), '2001:db8::1:0:0:1'); // first of equal runs
  assert.equal(formatAddress(v6(0x2001, 0xdb8, 0, 1, 1, 1, 1, 1)), '2001:db8:0:1:1:1:1:1'); // one zero group stays
  assert.equal(formatAddress(v6(0xfe80, 0, 0, 0, 0xabcd, 0, 0, 0)), 'fe80::abcd:0:0:0');
  assert.equal(formatAddress(v6(0x2001, 0xdb8, 0xa, 0, 0, 0, 0, 0)), '2001:db8:a::');
});

test('addresses agree with the WHATWG URL serializer on random IPv6 addresses', () => {
  let seed = 7;
  const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
  for (let i = 0; i < 2000; i++) {
    // mostly zero groups, so runs of every length occur
    const groups = Array.from({ length: 8 }, () => (next() % 3 === 0 ? next() % 0x10000 : 0));
    if (groups.slice(0, 6).join() === '0,0,0,0,0,65535') continue; // mapped: dotted, unlike URL
    const raw = Uint8Array.from(groups.flatMap((g) => [g >> 8, g & 0xff]));
    const viaUrl = new URL(`http://[${groups.map((g) => g.toString(16)).join(':')}]/`).hostname.slice(1, -1);
    assert.equal(formatAddress(raw), viaUrl);
  }
});

test('a snapshot of another layout is refused', () => {
  const b = snapshot([{ slot: 0, rx: 1, tx: 1 }]);
  b.writeUInt32LE(88, LAYOUT.header.recordSize);
  assert.throws(() => new FlowCounters().apply(b), /unexpected layout/);
});

test('a layout with two same-sized fields swapped is told apart from the decoder\'s', () => {
  assert.deepEqual(layoutDifferences(LAYOUT), []);
  const swapped = { ...LAYOUT, record: { ...LAYOUT.record, lport: LAYOUT.record.rport, rport: LAYOUT.record.lport } };
  assert.deepEqual(layoutDifferences(swapped), ['record.lport: 40 (here 38)', 'record.rport: 38 (here 40)']);
  assert.deepEqual(layoutDifferences(undefined).length, 2 + 6 + 14);
});

test('delta: a slot\'s bytes since the previous drain; all of them when it is new, reused or counts went down', () => {
  const s = new SlotCounts<string>();
  const step = (slot: number, gen: number, rx: number, tx: number, flow: string, closed = false) => {
    const held = s.continuing(slot, gen, rx, tx);
    const out = held === undefined ? [held, rx, tx] : [held, s.rxSince(slot, rx), s.txSince(slot, tx)];
    if (closed) s.forget(slot);
    else s.settle(slot, gen, rx, tx, held ?? flow);
    return out;
  };
  assert.deepEqual(step(5, 1, 10, 20, 'a'), [undefined, 10, 20]);
  assert.deepEqual(step(5, 1, 15, 20, 'a'), ['a', 5, 0]);
  assert.deepEqual(step(5, 2, 3, 4, 'b'), [undefined, 3, 4]); // another generation
  assert.deepEqual(step(5, 2, 2, 4, 'c'), [undefined, 2, 4]); // lower counts: not the same socket's
  assert.deepEqual(step(5, 2, 9, 9, 'c', true), ['c', 7, 5]); // closed: its last bytes, then forgotten
  assert.equal(s.held(5), undefined);
  assert.deepEqual(step(5, 2, 9, 9, 'd'), [undefined, 9, 9]);
  assert.deepEqual(step(5000, 1, 1, 1, 'e'), [undefined, 1, 1]); // past the arrays: they grow
  assert.equal(s.held(5), 'd');
});

test('keys: interned once, counted per slot, forgotten only by the sweep at the end of a drain', () => {
  const keys = new FlowKeys();
  const key = { pid: 1, comm: 'a', family: 4 as const, laddr: '10.0.0.1', lport: 1, raddr: '10.0.0.2', rport: 2 };
  const a = keys.take(key);
  assert.equal(keys.take({ ...key }), a);
  assert.equal(a.slots, 2);
  keys.release(a);
  assert.deepEqual(keys.sweep(), []);
  keys.release(a);
  const again = keys.take(key); // taken again in the same drain: still the same flow
  assert.equal(again, a);
  assert.deepEqual(keys.sweep(), []);
  keys.release(a);
  assert.deepEqual(keys.sweep(), [a.id]);
  assert.equal(keys.size, 0);
  assert.notEqual(keys.take(key), a);
});

test('merge: slots of one key add up to one flow per drain, in the order first seen', () => {
  const keys = new FlowKeys();
  const k = (lport: number) => keys.take({ pid: 1, comm: 'a', family: 4, laddr: '10.0.0.1', lport, raddr: '10.0.0.2', rport: 2 });
  const [a, b] = [k(1), k(2)];
  const m = new FrameMerger();
  m.begin(3);
  m.add(b, 1, 2);
  m.add(a, 10, 0);
  m.add(b, 3, 4);
  const f = m.finish(['gone']);
  assert.deepEqual([f.count, f.flows, Array.from(f.rx).slice(0, f.count), Array.from(f.tx).slice(0, f.count), f.ended], [2, [b, a], [4, 10], [6, 0], ['gone']]);
  m.begin(1);
  m.add(a, 1, 1);
  assert.deepEqual(m.finish([]).flows, [a]);
});
