// From the kernel's cumulative per-slot counters to per-flow bytes since the previous read.
// Pure: takes the addon's snapshot bytes, keeps the previous counts, returns plain data.
import type { Family, FlowKey } from '../capture/types';

/** Bytes one flow moved since the previous drain. */
export interface FlowDelta extends FlowKey {
  rxBytes: number;
  txBytes: number;
}

/** Bytes since the previous drain (or since attach), per flow; flows with no bytes omitted. */
export interface Drain {
  flows: FlowDelta[];
  lost: { events: number; rxBytes: number; txBytes: number };
}

// Layout of the snapshot (bpf/tcptop.h: tcptop_snapshot_header, then tcptop_snapshot_record each).
export const HEADER_SIZE = 32;
export const RECORD_SIZE = 96;
const SLOT_CLOSED = 2;

interface SlotCounts {
  gen: number;
  rx: number;
  tx: number;
}

/** A u64 as a number: exact below 2^53, which byte counters do not reach. */
function u64(view: DataView, offset: number): number {
  return view.getUint32(offset, true) + view.getUint32(offset + 4, true) * 2 ** 32;
}

/** Text form of an address: dotted quad, or RFC 5952 IPv6 (IPv4-mapped as `::ffff:a.b.c.d`). */
export function formatAddress(family: Family, bytes: Uint8Array): string {
  if (family === 4) return `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}`;
  const mapped = bytes.subarray(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff;
  if (mapped) return `::ffff:${bytes[12]}.${bytes[13]}.${bytes[14]}.${bytes[15]}`;

  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((bytes[i] << 8) | bytes[i + 1]);
  // the longest run of two or more zero groups becomes "::" (the first of equal runs)
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (g: number[]) => g.map((n) => n.toString(16)).join(':');
  if (bestStart < 0) return hex(groups);
  return `${hex(groups.slice(0, bestStart))}::${hex(groups.slice(bestStart + bestLen))}`;
}

function readKey(view: DataView, bytes: Uint8Array, at: number): FlowKey {
  const family: Family = view.getUint16(at + 36, true) === 6 ? 6 : 4;
  const comm = bytes.subarray(at + 80, at + 96);
  const nul = comm.indexOf(0);
  return {
    pid: view.getUint32(at + 32, true),
    comm: Buffer.from(comm.subarray(0, nul < 0 ? comm.length : nul)).toString('utf8'),
    family,
    laddr: formatAddress(family, bytes.subarray(at + 48, at + 64)),
    lport: view.getUint16(at + 38, true),
    raddr: formatAddress(family, bytes.subarray(at + 64, at + 80)),
    rport: view.getUint16(at + 40, true),
  };
}

function keyId(k: FlowKey): string {
  return `${k.pid}\0${k.comm}\0${k.family}\0${k.laddr}\0${k.lport}\0${k.raddr}\0${k.rport}`;
}

/**
 * Turns successive snapshots of cumulative counters into deltas. A slot seen CLOSED holds its
 * final counts and is forgotten (the addon has freed it); a slot whose generation changed was
 * reused, so its counts start from zero. Slots of one flow key (e.g. two sockets a process opened
 * in turn to the same peer and port) add up to one flow.
 */
export class FlowCounters {
  private readonly slots = new Map<number, SlotCounts>();
  private lostEvents = 0;
  private lostRx = 0;
  private lostTx = 0;

  apply(snapshot: Uint8Array): Drain {
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

      const prev = this.slots.get(slot);
      const same = prev !== undefined && prev.gen === gen && prev.rx <= rx && prev.tx <= tx;
      const rxDelta = same ? rx - prev.rx : rx;
      const txDelta = same ? tx - prev.tx : tx;
      if (closed) this.slots.delete(slot);
      else this.slots.set(slot, { gen, rx, tx });
      if (rxDelta === 0 && txDelta === 0) continue;

      const key = readKey(view, snapshot, at);
      const id = keyId(key);
      const flow = byKey.get(id);
      if (flow) {
        flow.rxBytes += rxDelta;
        flow.txBytes += txDelta;
      } else {
        byKey.set(id, { ...key, rxBytes: rxDelta, txBytes: txDelta });
      }
    }

    const lostEvents = u64(view, 0);
    const lostRx = u64(view, 8);
    const lostTx = u64(view, 16);
    const lost = {
      events: lostEvents - this.lostEvents,
      rxBytes: lostRx - this.lostRx,
      txBytes: lostTx - this.lostTx,
    };
    this.lostEvents = lostEvents;
    this.lostRx = lostRx;
    this.lostTx = lostTx;
    return { flows: [...byKey.values()], lost };
  }
}
