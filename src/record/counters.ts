// From the kernel's cumulative per-slot counters to per-flow bytes since the previous read.
// Pure: takes the addon's snapshot bytes, keeps the previous counts, returns plain data.
import { formatAddress } from '../capture/address';
import { flowKeyString, type Family, type FlowKey } from '../capture/types';
import type { FlowColumns, KeyedFlow } from '../capture/writer';

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
  /**
   * The same flows as columns, for the writer: no object per flow and interval, and each flow's key string the
   * same string from drain to drain, so the writer's lookups stay cheap. `flows` is built from them when read.
   */
  columns?: FlowColumns;
}

// Layout of the snapshot (bpf/tcptop.h: tcptop_snapshot_header, then tcptop_snapshot_record each).
export const HEADER_SIZE = 32;
export const RECORD_SIZE = 96;
const SLOT_CLOSED = 2;

/** A u64 as a number: exact below 2^53, which byte counters do not reach. */
function u64(view: DataView, offset: number): number {
  return view.getUint32(offset, true) + view.getUint32(offset + 4, true) * 2 ** 32;
}

/**
 * Decodes flow keys, remembering the text of recent process names and of IPv4 addresses: thousands of new
 * flows in one read mostly share a few of each.
 */
class KeyReader {
  private readonly v4 = new Map<number, string>();
  private readonly comms: { w: number[]; text: string }[] = [];
  private nextComm = 0;

  read(view: DataView, bytes: Buffer, at: number): FlowKey {
    const family: Family = view.getUint16(at + 36, true) === 6 ? 6 : 4;
    return {
      pid: view.getUint32(at + 32, true),
      comm: this.comm(view, bytes, at + 80),
      family,
      laddr: family === 4 ? this.ipv4(view, bytes, at + 48) : formatAddress(bytes.subarray(at + 48, at + 64)),
      lport: view.getUint16(at + 38, true),
      raddr: family === 4 ? this.ipv4(view, bytes, at + 64) : formatAddress(bytes.subarray(at + 64, at + 80)),
      rport: view.getUint16(at + 40, true),
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

  /** The kernel's comm: up to 16 bytes, NUL-terminated when shorter. */
  private comm(view: DataView, bytes: Buffer, at: number): string {
    const w0 = view.getUint32(at, true);
    const w1 = view.getUint32(at + 4, true);
    const w2 = view.getUint32(at + 8, true);
    const w3 = view.getUint32(at + 12, true);
    for (const c of this.comms) if (c.w[0] === w0 && c.w[1] === w1 && c.w[2] === w2 && c.w[3] === w3) return c.text;
    const nul = bytes.indexOf(0, at);
    const text = bytes.toString('utf8', at, nul < 0 || nul > at + 16 ? at + 16 : nul);
    this.comms[this.nextComm] = { w: [w0, w1, w2, w3], text };
    this.nextComm = (this.nextComm + 1) % 16;
    return text;
  }
}

/** A distinct flow key (with its flowKeyString), shared by every slot that holds it. */
interface KnownFlow extends KeyedFlow {
  /** Slots holding it now. */
  slots: number;
  /** The read that last reported it, and where in that read's flows. */
  read: number;
  index: number;
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
  /** Every key some slot holds (or held during the current read), by flowKeyString. */
  private readonly known = new Map<string, KnownFlow>();
  private readonly keyReader = new KeyReader();
  /** Where a read gathers its flows before they are copied out; emptied after each read. */
  private readonly gathered: KnownFlow[] = [];
  private reads = 0;
  private lostEvents = 0;
  private lostRx = 0;
  private lostTx = 0;
  private missedCalls = 0;

  /** Makes room for `slot` in the per-slot arrays. Called for every slot of every read: the check is kept apart
   * from the growth, whose closures would otherwise cost an allocation per call. */
  private reserve(slot: number): void {
    if (slot >= this.gen.length) this.grow(slot);
  }

  private grow(slot: number): void {
    let size = Math.max(1024, this.gen.length);
    while (size <= slot) size *= 2;
    const gen = new Uint32Array(size);
    const rx = new Float64Array(size);
    const tx = new Float64Array(size);
    gen.set(this.gen);
    rx.set(this.rx);
    tx.set(this.tx);
    this.gen = gen;
    this.rx = rx;
    this.tx = tx;
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

    const read = ++this.reads;
    // The flows are gathered in an array kept from read to read and copied out at their exact number at the end:
    // an array grown by push from empty, twice a read, was most of the garbage a recorder made.
    const gathered = this.gathered;
    let n = 0;
    const rxs = new Float64Array(count);
    const txs = new Float64Array(count);
    const released: KnownFlow[] = [];
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
        if (known !== undefined && --known.slots === 0) released.push(known);
        known = this.intern(this.keyReader.read(view, bytes, at));
        known.slots++;
      }
      if (closed) {
        this.keys[slot] = undefined;
        if (--known!.slots === 0) released.push(known!);
      } else {
        this.keys[slot] = known;
        this.gen[slot] = gen;
        this.rx[slot] = rx;
        this.tx[slot] = tx;
      }
      if (rxDelta === 0 && txDelta === 0) continue;

      // Slots of one key add up to one flow: the first makes its entry, the others add to it.
      if (known!.read === read) {
        rxs[known!.index] += rxDelta;
        txs[known!.index] += txDelta;
      } else {
        known!.read = read;
        known!.index = n;
        rxs[n] = rxDelta;
        txs[n] = txDelta;
        gathered[n++] = known!;
      }
    }
    // Forgotten only now, so that a key released and taken again within one read stays one flow.
    const ended: string[] = [];
    for (const k of released) {
      if (k.slots === 0 && this.known.get(k.id) === k) {
        this.known.delete(k.id);
        ended.push(k.id);
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
    const flows = gathered.slice(0, n);
    gathered.fill(undefined as unknown as KnownFlow, 0, n);
    const columns: FlowColumns = { count: n, flows, rx: rxs, tx: txs, ended };
    let deltas: FlowDelta[] | undefined;
    return {
      lost,
      columns,
      get flows(): FlowDelta[] {
        deltas ??= flows.map((k, i) => ({ pid: k.pid, comm: k.comm, family: k.family, laddr: k.laddr, lport: k.lport, raddr: k.raddr,
          rport: k.rport, rxBytes: rxs[i], txBytes: txs[i] }));
        return deltas;
      },
    };
  }

  private intern(key: FlowKey): KnownFlow {
    const id = flowKeyString(key);
    let k = this.known.get(id);
    if (!k) {
      k = { pid: key.pid, comm: key.comm, family: key.family, laddr: key.laddr, lport: key.lport, raddr: key.raddr, rport: key.rport,
        id, slots: 0, read: 0, index: 0 };
      this.known.set(id, k);
    }
    return k;
  }
}
