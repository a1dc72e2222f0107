// From the kernel's cumulative per-slot counters to per-flow bytes since the previous read.
// Pure: takes the addon's snapshot bytes, keeps the previous counts, returns plain data.
import { formatAddress } from '../capture/address';
import type { Family, FlowKey } from '../capture/types';

/** Bytes one flow moved since the previous drain. */
export interface FlowDelta extends FlowKey {
  rxBytes: number;
  txBytes: number;
}

/** Bytes since the previous drain (or since attach), per flow; flows with no bytes omitted. */
export interface Drain {
  flows: FlowDelta[];
  /**
   * What could not be attributed to a flow. Events include the kprobe probe's missed returns,
   * whose bytes are unknown and so in neither byte count.
   */
  lost: { events: number; rxBytes: number; txBytes: number };
}

// Layout of the snapshot (bpf/tcptop.h: tcptop_snapshot_header, then tcptop_snapshot_record each).
export const HEADER_SIZE = 32;
export const RECORD_SIZE = 96;
const SLOT_CLOSED = 2;

/** A u64 as a number: exact below 2^53, which byte counters do not reach. */
function u64(view: DataView, offset: number): number {
  return view.getUint32(offset, true) + view.getUint32(offset + 4, true) * 2 ** 32;
}

function readKey(view: DataView, bytes: Buffer, at: number): FlowKey {
  const family: Family = view.getUint16(at + 36, true) === 6 ? 6 : 4;
  const nul = bytes.indexOf(0, at + 80);
  return {
    pid: view.getUint32(at + 32, true),
    comm: bytes.toString('utf8', at + 80, nul < 0 || nul > at + 96 ? at + 96 : nul),
    family,
    laddr: formatAddress(bytes.subarray(at + 48, family === 4 ? at + 52 : at + 64)),
    lport: view.getUint16(at + 38, true),
    raddr: formatAddress(bytes.subarray(at + 64, family === 4 ? at + 68 : at + 80)),
    rport: view.getUint16(at + 40, true),
  };
}

interface KnownFlow {
  key: FlowKey;
  id: string;
}

/**
 * Turns successive snapshots of cumulative counters into deltas. A slot seen CLOSED holds its
 * final counts and is forgotten (the addon has freed it); a slot whose generation changed was
 * reused, so its counts start from zero. Slots of one flow key (e.g. two sockets a process opened
 * in turn to the same peer and port) add up to one flow. State is kept per slot index in typed
 * arrays: a read of 100,000 slots must stay cheap.
 */
export class FlowCounters {
  private gen = new Uint32Array(0);
  private rx = new Float64Array(0);
  private tx = new Float64Array(0);
  /** The decoded key of each slot seen, undefined for slots not in use. */
  private keys: (KnownFlow | undefined)[] = [];
  private lostEvents = 0;
  private lostRx = 0;
  private lostTx = 0;
  private missedCalls = 0;

  private reserve(slot: number): void {
    if (slot < this.gen.length) return;
    let size = Math.max(1024, this.gen.length);
    while (size <= slot) size *= 2;
    const grow = <T extends Uint32Array | Float64Array>(old: T, make: (n: number) => T): T => {
      const next = make(size);
      next.set(old);
      return next;
    };
    this.gen = grow(this.gen, (n) => new Uint32Array(n));
    this.rx = grow(this.rx, (n) => new Float64Array(n));
    this.tx = grow(this.tx, (n) => new Float64Array(n));
  }

  /**
   * @param missedCalls calls the kernel ran without their return probe, cumulative since attach
   *   (the kprobe probe's kretprobe misses; 0 for the other probes): lost events of unknown bytes.
   */
  apply(snapshot: Uint8Array, missedCalls = 0): Drain {
    const bytes = Buffer.from(snapshot.buffer, snapshot.byteOffset, snapshot.byteLength);
    const view = new DataView(snapshot.buffer, snapshot.byteOffset, snapshot.byteLength);
    const count = view.getUint32(24, true);
    const recordSize = view.getUint32(28, true);
    if (recordSize !== RECORD_SIZE || snapshot.byteLength < HEADER_SIZE + count * RECORD_SIZE) {
      throw new Error(`flow snapshot: unexpected layout (record size ${recordSize}, ${count} records)`);
    }

    const byKey = new Map<string, FlowDelta>();
    for (let i = 0, at = HEADER_SIZE; i < count; i++, at += RECORD_SIZE) {
      const slot = view.getUint32(at, true);
      const rx = u64(view, at + 8);
      const tx = u64(view, at + 16);
      const closed = view.getUint32(at + 24, true) === SLOT_CLOSED;
      const gen = view.getUint32(at + 28, true);
      this.reserve(slot);

      let known = this.keys[slot];
      const same = known !== undefined && this.gen[slot] === gen && this.rx[slot] <= rx && this.tx[slot] <= tx;
      const rxDelta = same ? rx - this.rx[slot] : rx;
      const txDelta = same ? tx - this.tx[slot] : tx;
      if (!same) {
        const key = readKey(view, bytes, at);
        known = { key, id: `${key.pid}\0${key.comm}\0${key.family}\0${key.laddr}\0${key.lport}\0${key.raddr}\0${key.rport}` };
      }
      if (closed) {
        this.keys[slot] = undefined;
      } else {
        this.keys[slot] = known;
        this.gen[slot] = gen;
        this.rx[slot] = rx;
        this.tx[slot] = tx;
      }
      if ((rxDelta === 0 && txDelta === 0) || known === undefined) continue;

      const flow = byKey.get(known.id);
      if (flow) {
        flow.rxBytes += rxDelta;
        flow.txBytes += txDelta;
      } else {
        const k = known.key;
        byKey.set(known.id, { pid: k.pid, comm: k.comm, family: k.family, laddr: k.laddr, lport: k.lport, raddr: k.raddr, rport: k.rport, rxBytes: rxDelta, txBytes: txDelta });
      }
    }

    const lostEvents = u64(view, 0);
    const lostRx = u64(view, 8);
    const lostTx = u64(view, 16);
    const lost = {
      events: lostEvents - this.lostEvents + Math.max(0, missedCalls - this.missedCalls),
      rxBytes: lostRx - this.lostRx,
      txBytes: lostTx - this.lostTx,
    };
    this.lostEvents = lostEvents;
    this.lostRx = lostRx;
    this.lostTx = lostTx;
    this.missedCalls = Math.max(this.missedCalls, missedCalls);
    return { flows: [...byKey.values()], lost };
  }
}
