// The snapshot the addon's drain() returns (bpf/tcptop.h: a tcptop_snapshot_header, then a
// tcptop_snapshot_record per slot in use) and its decoding. The addon exports the offsets the C compiler
// gave each field (`layout`); the recorder refuses an addon whose layout is not this one, so a field
// moved on one side only fails at load, not as wrong numbers.
import { formatAddress } from '../capture/address';
import type { Family, FlowKey } from '../capture/types';

/** Byte offsets of the fields the decoder reads, and the sizes of the two structs. */
export interface SnapshotLayout {
  header: { size: number; lostEvents: number; lostRxBytes: number; lostTxBytes: number; nrecords: number; recordSize: number };
  record: {
    size: number;
    slot: number;
    rxBytes: number;
    txBytes: number;
    state: number;
    gen: number;
    pid: number;
    family: number;
    lport: number;
    rport: number;
    laddr: number;
    raddr: number;
    comm: number;
    cgroup: number;
  };
  /** Bytes of the kernel's comm, NUL-terminated when shorter. */
  commLen: number;
  /** enum tcptop_slot_state's CLOSED: the slot's counts are final. */
  slotClosed: number;
}

/** The layout this decoder reads: bpf/tcptop.h on x86-64 and arm64 (fixed-width fields, explicit padding). */
export const LAYOUT: SnapshotLayout = {
  header: { size: 32, lostEvents: 0, lostRxBytes: 8, lostTxBytes: 16, nrecords: 24, recordSize: 28 },
  record: { size: 104, slot: 0, rxBytes: 8, txBytes: 16, state: 24, gen: 28, pid: 32, family: 36, lport: 38, rport: 40, laddr: 48, raddr: 64, comm: 80, cgroup: 96 },
  commLen: 16,
  slotClosed: 2,
};

/** Where `actual` (the addon's `layout`) differs from LAYOUT, one `path: actual (here expected)` each; empty when the same. */
export function layoutDifferences(actual: unknown): string[] {
  const out: string[] = [];
  const walk = (want: object, got: unknown, at: string) => {
    for (const [name, value] of Object.entries(want)) {
      const path = at ? `${at}.${name}` : name;
      const have = got !== null && typeof got === 'object' ? (got as Record<string, unknown>)[name] : undefined;
      if (typeof value === 'object') walk(value as object, have, path);
      else if (have !== value) out.push(`${path}: ${String(have)} (here ${value})`);
    }
  };
  walk(LAYOUT, actual, '');
  return out;
}

// The offsets as plain constants, for the loops that read a record per flow.
const H = LAYOUT.header;
const R = LAYOUT.record;
export const HEADER_SIZE = H.size;
export const RECORD_SIZE = R.size;
const SLOT = R.slot;
const RX = R.rxBytes;
const TX = R.txBytes;
const STATE = R.state;
const GEN = R.gen;
const PID = R.pid;
const FAMILY = R.family;
const LPORT = R.lport;
const RPORT = R.rport;
const LADDR = R.laddr;
const RADDR = R.raddr;
const COMM = R.comm;
const CGROUP = R.cgroup;
const COMM_LEN = LAYOUT.commLen;
const SLOT_CLOSED = LAYOUT.slotClosed;

/** A u64 as a number: exact below 2^53, which byte counters do not reach. */
function u64(view: DataView, offset: number): number {
  return view.getUint32(offset, true) + view.getUint32(offset + 4, true) * 2 ** 32;
}

/** A snapshot's header: its record count and the kernel's cumulative lost counters. */
export interface SnapshotHeader {
  count: number;
  lostEvents: number;
  lostRxBytes: number;
  lostTxBytes: number;
}

/** The header of a snapshot, checked against the record size it states and the bytes there are. */
export function readHeader(view: DataView): SnapshotHeader {
  const count = view.getUint32(H.nrecords, true);
  const recordSize = view.getUint32(H.recordSize, true);
  if (recordSize !== RECORD_SIZE || view.byteLength < HEADER_SIZE + count * RECORD_SIZE) {
    throw new Error(`flow snapshot: unexpected layout (record size ${recordSize}, ${count} records)`);
  }
  return { count, lostEvents: u64(view, H.lostEvents), lostRxBytes: u64(view, H.lostRxBytes), lostTxBytes: u64(view, H.lostTxBytes) };
}

// One record's fields, each read where the record starts (recordAt): numbers only, nothing allocated per flow.

/** Where record `i` starts in the snapshot. */
export function recordAt(i: number): number {
  return HEADER_SIZE + i * RECORD_SIZE;
}

/** The slot's index in the kernel's table. */
export function recordSlot(view: DataView, at: number): number {
  return view.getUint32(at + SLOT, true);
}

/** The slot's generation: bumped each time the kernel takes the slot, so a reuse is told apart. */
export function recordGen(view: DataView, at: number): number {
  return view.getUint32(at + GEN, true);
}

/** Bytes received, cumulative since the slot was taken. */
export function recordRx(view: DataView, at: number): number {
  return u64(view, at + RX);
}

/** Bytes sent, cumulative since the slot was taken. */
export function recordTx(view: DataView, at: number): number {
  return u64(view, at + TX);
}

/** The socket was destroyed: the counts are final and the addon has freed the slot. */
export function recordClosed(view: DataView, at: number): boolean {
  return view.getUint32(at + STATE, true) === SLOT_CLOSED;
}

/**
 * Decodes the flow key of a record, remembering the text of recent process names and of IPv4 addresses:
 * thousands of new flows in one drain mostly share a few of each.
 */
export class KeyReader {
  private readonly v4 = new Map<number, string>();
  private readonly comms: { w: number[]; text: string }[] = [];
  private nextComm = 0;

  /** The key of the record starting at `at`. */
  read(view: DataView, bytes: Buffer, at: number): FlowKey {
    const family: Family = view.getUint16(at + FAMILY, true) === 6 ? 6 : 4;
    const laddr = at + LADDR;
    const raddr = at + RADDR;
    return {
      pid: view.getUint32(at + PID, true),
      comm: this.comm(view, bytes, at + COMM),
      family,
      laddr: family === 4 ? this.ipv4(view, bytes, laddr) : formatAddress(bytes.subarray(laddr, laddr + 16)),
      lport: view.getUint16(at + LPORT, true),
      raddr: family === 4 ? this.ipv4(view, bytes, raddr) : formatAddress(bytes.subarray(raddr, raddr + 16)),
      rport: view.getUint16(at + RPORT, true),
      cgroup: u64(view, at + CGROUP),
    };
  }

  private ipv4(view: DataView, bytes: Buffer, at: number): string {
    const n = view.getUint32(at, false);
    let text = this.v4.get(n);
    if (text === undefined) {
      if (this.v4.size >= 65536) this.v4.clear();
      text = formatAddress(bytes.subarray(at, at + 4));
      this.v4.set(n, text);
    }
    return text;
  }

  /** The kernel's comm: up to COMM_LEN (16) bytes, NUL-terminated when shorter. */
  private comm(view: DataView, bytes: Buffer, at: number): string {
    const w0 = view.getUint32(at, true);
    const w1 = view.getUint32(at + 4, true);
    const w2 = view.getUint32(at + 8, true);
    const w3 = view.getUint32(at + 12, true);
    for (const c of this.comms) if (c.w[0] === w0 && c.w[1] === w1 && c.w[2] === w2 && c.w[3] === w3) return c.text;
    const nul = bytes.indexOf(0, at);
    const text = bytes.toString('utf8', at, nul < 0 || nul > at + COMM_LEN ? at + COMM_LEN : nul);
    this.comms[this.nextComm] = { w: [w0, w1, w2, w3], text };
    this.nextComm = (this.nextComm + 1) % 16;
    return text;
  }
}
