// From the kernel's cumulative per-slot counters to per-flow bytes since the previous drain, in three steps
// kept apart: decode a record (./snapshot), take its slot's delta (SlotCounts), add slots of one key up to
// one flow (FlowKeys, FrameMerger). Pure: takes the addon's snapshot bytes, keeps the previous counts.
import { grown, capacityFor } from '../capture/grow';
import { flowKeyString, type FlowKey, type FrameFlows, type KeyedFlow, type Lost } from '../capture/types';
import { KeyReader, readHeader, recordAt, recordClosed, recordGen, recordRx, recordSlot, recordTx, type SnapshotHeader } from './snapshot';

/** Bytes since the previous drain (or since attach). */
export interface Drain {
  /**
   * Per flow, flows with no bytes left out; a flow is the same object, with the same key string, from drain to
   * drain, so the writer's lookups stay cheap. frameRows (capture/types) makes rows of them.
   */
  flows: FrameFlows;
  /**
   * What could not be attributed to a flow. Events include the kprobe probe's missed returns,
   * whose bytes are unknown and so in neither byte count.
   */
  lost: Lost;
}

/**
 * The counts each slot had at the previous drain and the flow it held, in typed arrays indexed by slot (a drain
 * of 100,000 slots must stay cheap): what a slot's bytes since then are taken against.
 */
export class SlotCounts<F> {
  private gen = new Uint32Array(0);
  private rx = new Float64Array(0);
  private tx = new Float64Array(0);
  /** The flow each slot holds, undefined for slots not in use. */
  private readonly flows: (F | undefined)[] = [];

  /**
   * The flow the slot went on holding since the previous drain, whose bytes since are the counts' growth
   * (rxSince/txSince); undefined when the slot is new or was taken again since (another generation, or counts
   * lower than before): its counts are then all new bytes, of a new flow.
   */
  continuing(slot: number, gen: number, rx: number, tx: number): F | undefined {
    if (slot >= this.gen.length) this.grow(slot);
    const held = this.flows[slot];
    return held !== undefined && this.gen[slot] === gen && this.rx[slot] <= rx && this.tx[slot] <= tx ? held : undefined;
  }

  /** Bytes since the previous drain of a slot `continuing` said goes on. */
  rxSince(slot: number, rx: number): number {
    return rx - this.rx[slot];
  }

  txSince(slot: number, tx: number): number {
    return tx - this.tx[slot];
  }

  /** The flow the slot held at the previous drain, if any. */
  held(slot: number): F | undefined {
    return this.flows[slot];
  }

  /** Keeps the slot's counts and flow for the next drain. */
  settle(slot: number, gen: number, rx: number, tx: number, flow: F): void {
    this.flows[slot] = flow;
    this.gen[slot] = gen;
    this.rx[slot] = rx;
    this.tx[slot] = tx;
  }

  /** Forgets a closed slot: the addon freed it, and its next counts are a new socket's. */
  forget(slot: number): void {
    this.flows[slot] = undefined;
  }

  /** Apart from `continuing`, which runs for every slot of every drain: a closure here would allocate per call. */
  private grow(slot: number): void {
    const size = capacityFor(slot, this.gen.length, 1024);
    this.gen = grown(this.gen, size);
    this.rx = grown(this.rx, size);
    this.tx = grown(this.tx, size);
  }
}

/** A distinct flow key (with its flowKeyString), shared by every slot that holds it. */
export interface KnownFlow extends KeyedFlow {
  /** Slots holding it now. */
  slots: number;
  /** The drain that last reported it, and where in that drain's flows (FrameMerger's marks). */
  read: number;
  index: number;
}

/**
 * The flow keys slots hold, each interned once by its key string and counted by the slots holding it. A key no
 * slot holds any more is forgotten only by `sweep`, at the end of a drain, so that a key released and taken
 * again within one drain (a socket closed and another opened to the same peer and port) stays one flow.
 */
export class FlowKeys {
  private readonly known = new Map<string, KnownFlow>();
  private readonly released: KnownFlow[] = [];

  /** The flow of this key, counted as held by one more slot. */
  take(key: FlowKey): KnownFlow {
    const id = flowKeyString(key);
    let k = this.known.get(id);
    if (!k) {
      k = { pid: key.pid, comm: key.comm, family: key.family, laddr: key.laddr, lport: key.lport, raddr: key.raddr, rport: key.rport,
        cgroup: key.cgroup ?? 0, id, slots: 0, read: 0, index: 0 };
      this.known.set(id, k);
    }
    k.slots++;
    return k;
  }

  /** One slot fewer holds the flow. */
  release(k: KnownFlow): void {
    if (--k.slots === 0) this.released.push(k);
  }

  /** Forgets the keys released to no slot since the last sweep; returns their key strings: the flows that ended. */
  sweep(): string[] {
    const ended: string[] = [];
    for (const k of this.released) {
      if (k.slots === 0 && this.known.get(k.id) === k) {
        this.known.delete(k.id);
        ended.push(k.id);
      }
    }
    this.released.length = 0;
    return ended;
  }

  /** Keys held now. */
  get size(): number {
    return this.known.size;
  }
}

/**
 * Gathers one drain's flows as columns, adding up the bytes of slots that share a key. The flows are gathered in
 * an array kept from drain to drain and copied out at their exact number at the end: an array grown by push from
 * empty, twice a drain, was most of the garbage a recorder made.
 */
export class FrameMerger {
  private readonly gathered: KnownFlow[] = [];
  private rx = new Float64Array(0);
  private tx = new Float64Array(0);
  private n = 0;
  private pass = 0;

  /** Starts a drain of at most `records` flows. */
  begin(records: number): void {
    this.pass++;
    this.n = 0;
    this.rx = new Float64Array(records);
    this.tx = new Float64Array(records);
  }

  /** Adds bytes to the flow: the first slot of a key makes its entry, the others add to it. */
  add(k: KnownFlow, rx: number, tx: number): void {
    if (k.read === this.pass) {
      this.rx[k.index] += rx;
      this.tx[k.index] += tx;
      return;
    }
    k.read = this.pass;
    k.index = this.n;
    this.rx[this.n] = rx;
    this.tx[this.n] = tx;
    this.gathered[this.n++] = k;
  }

  /** The drain's flows, with the keys that ended with it. */
  finish(ended: readonly string[]): FrameFlows {
    const n = this.n;
    const flows = this.gathered.slice(0, n);
    this.gathered.fill(undefined as unknown as KnownFlow, 0, n);
    return { count: n, flows, rx: this.rx, tx: this.tx, ended };
  }
}

/** The kernel's lost counters are cumulative too: what was lost since the previous drain. */
export class LostCounts {
  private events = 0;
  private rxBytes = 0;
  private txBytes = 0;
  private missedCalls = 0;

  since(h: SnapshotHeader, missedCalls: number): Lost {
    const lost = {
      events: h.lostEvents - this.events + Math.max(0, missedCalls - this.missedCalls),
      rxBytes: h.lostRxBytes - this.rxBytes,
      txBytes: h.lostTxBytes - this.txBytes,
    };
    this.events = h.lostEvents;
    this.rxBytes = h.lostRxBytes;
    this.txBytes = h.lostTxBytes;
    this.missedCalls = Math.max(this.missedCalls, missedCalls);
    return lost;
  }
}

/**
 * Turns successive snapshots of cumulative counters into deltas. A slot seen CLOSED holds its final counts and
 * is forgotten (the addon has freed it); a slot whose generation changed was reused, so its counts start from
 * zero. Slots of one flow key (e.g. two sockets a process opened in turn to the same peer and port) add up to
 * one flow, which ends when no slot holds its key any more.
 */
export class FlowCounters {
  private readonly keyReader = new KeyReader();
  private readonly slots = new SlotCounts<KnownFlow>();
  private readonly keys = new FlowKeys();
  private readonly merger = new FrameMerger();
  private readonly lost = new LostCounts();

  /**
   * @param missedCalls calls the kernel ran without their return probe, cumulative since attach
   *   (the kprobe probe's kretprobe misses; 0 for the other probes): lost events of unknown bytes.
   */
  apply(snapshot: Uint8Array, missedCalls = 0): Drain {
    const bytes = Buffer.from(snapshot.buffer, snapshot.byteOffset, snapshot.byteLength);
    const view = new DataView(snapshot.buffer, snapshot.byteOffset, snapshot.byteLength);
    const header = readHeader(view);
    const { slots, keys, merger } = this;
    merger.begin(header.count);
    for (let i = 0; i < header.count; i++) {
      // decode
      const at = recordAt(i);
      const slot = recordSlot(view, at);
      const gen = recordGen(view, at);
      const rx = recordRx(view, at);
      const tx = recordTx(view, at);
      // delta
      let flow = slots.continuing(slot, gen, rx, tx);
      let rxDelta = rx;
      let txDelta = tx;
      if (flow !== undefined) {
        rxDelta = slots.rxSince(slot, rx);
        txDelta = slots.txSince(slot, tx);
      } else {
        const before = slots.held(slot);
        if (before !== undefined) keys.release(before);
        flow = keys.take(this.keyReader.read(view, bytes, at));
      }
      if (recordClosed(view, at)) {
        keys.release(flow);
        slots.forget(slot);
      } else {
        slots.settle(slot, gen, rx, tx, flow);
      }
      // merge
      if (rxDelta !== 0 || txDelta !== 0) merger.add(flow, rxDelta, txDelta);
    }
    return { flows: merger.finish(keys.sweep()), lost: this.lost.since(header, missedCalls) };
  }
}
