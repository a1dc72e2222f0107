// The live endpoint's counters: each frame's per-flow bytes added into the running totals of their label set,
// so a counter never goes back when flows close or their slots are reused. Idle label sets expire whole; past
// the cap, new label sets fold into one `other` series. Plain data in, exposition text out.
import type { FlowKey } from '../capture/types';
import { familyHeader, labelText, sampleName, valueText, type FamilyHeader } from './exposition';
import { BYTE_FAMILIES } from './families';
import { labelNames, labelValues, normalizeKeys, type LabelKey } from './labels';

export interface RegistryOptions {
  keys: readonly LabelKey[];
  /** A label set with no sample for this long is dropped; 0 keeps every one. */
  expireUs: number;
  /** At most this many label sets; the rest add into the `other` series (not counted in the cap). */
  maxSeries: number;
}

export interface FlowDelta extends FlowKey {
  rxBytes: number;
  txBytes: number;
}

interface Series {
  labels: string;
  rx: number;
  tx: number;
  lastUs: number;
}

/** The recorder's own state, as the endpoint reports it. */
export interface Health {
  frames: number;
  lostEvents: number;
  lostRxBytes: number;
  lostTxBytes: number;
  flows: number;
  lastDrainSeconds: number;
  lastCommitSeconds: number;
  probe: string;
  version: string;
}

export const DEFAULT_EXPIRE_US = 10 * 60e6;
export const DEFAULT_MAX_SERIES = 10_000;

export class ByteRegistry {
  private readonly keys: LabelKey[];
  private readonly names: string[];
  private readonly series = new Map<string, Series>();
  private other: Series | null = null;
  private expiredCount = 0;
  /** Label sets added into `other`, the most recently seen last: key → when last seen. At most `maxSeries` remembered. */
  private readonly foldedKeys = new Map<string, number>();
  private foldedCount = 0;

  constructor(private readonly opts: RegistryOptions) {
    this.keys = normalizeKeys(opts.keys);
    this.names = labelNames(this.keys);
  }

  /** Adds one frame's bytes (each flow's bytes in that interval) at `nowUs` (a monotonic time), then expires. */
  addFrame(nowUs: number, flows: Iterable<FlowDelta>): void {
    for (const f of flows) {
      const values = labelValues(this.keys, f);
      const key = values.join('\0');
      let s = this.series.get(key);
      if (!s) {
        if (this.series.size >= this.opts.maxSeries) {
          s = this.other ??= { labels: labelText(this.names, this.names.map(() => 'other')), rx: 0, tx: 0, lastUs: nowUs };
          this.fold(key, nowUs);
        } else {
          s = { labels: labelText(this.names, values), rx: 0, tx: 0, lastUs: nowUs };
          this.series.set(key, s);
        }
      }
      s.rx += f.rxBytes;
      s.tx += f.txBytes;
      s.lastUs = nowUs;
    }
    this.expire(nowUs);
  }

  /** Drops label sets idle for longer than the expiry: a later sample starts them again from 0. */
  expire(nowUs: number): void {
    if (this.opts.expireUs <= 0) return;
    const before = nowUs - this.opts.expireUs;
    for (const [k, s] of this.series) {
      if (s.lastUs < before) {
        this.series.delete(k);
        this.expiredCount++;
      }
    }
    if (this.other && this.other.lastUs < before) {
      this.other = null;
      this.expiredCount++;
    }
    for (const [k, lastUs] of this.foldedKeys) {
      if (lastUs >= before) break;
      this.foldedKeys.delete(k);
    }
  }

  /**
   * Counts a label set folded into `other` once while it is remembered: until idle for the expiry, or until
   * `maxSeries` label sets folded since push it out (so folding costs no more memory than the series it spares).
   */
  private fold(key: string, nowUs: number): void {
    if (!this.foldedKeys.delete(key)) {
      this.foldedCount++;
      if (this.foldedKeys.size >= Math.max(1, this.opts.maxSeries)) this.foldedKeys.delete(this.foldedKeys.keys().next().value as string);
    }
    this.foldedKeys.set(key, nowUs);
  }

  get size(): number {
    return this.series.size + (this.other ? 1 : 0);
  }

  get expired(): number {
    return this.expiredCount;
  }

  get folded(): number {
    return this.foldedCount;
  }

  /** Each series' totals, for tests: label text → [rx, tx]. */
  totals(): Map<string, [number, number]> {
    const m = new Map<string, [number, number]>();
    for (const s of this.all()) m.set(s.labels, [s.rx, s.tx]);
    return m;
  }

  /** The whole exposition: byte counters, then the recorder's health. No timestamps. */
  render(health: Health, openMetrics: boolean): string {
    const out: string[] = [];
    const all = [...this.all()];
    for (const fam of BYTE_FAMILIES) {
      out.push(familyHeader(fam.header, openMetrics));
      const name = sampleName(fam.header);
      for (const s of all) out.push(`${name}${s.labels} ${fam.column === 'rx' ? s.rx : s.tx}\n`);
    }
    const one = (header: FamilyHeader, value: number, labels = ''): void => {
      out.push(familyHeader(header, openMetrics), `${sampleName(header)}${labels} ${valueText(value)}\n`);
    };
    one({ name: 'tcptop_frames_written', type: 'counter', help: 'frames (intervals) the recorder has written' }, health.frames);
    one({ name: 'tcptop_unattributed_events', type: 'counter', help: 'probe events that could not be attributed to a flow (its flow table was full)' }, health.lostEvents);
    one({ name: 'tcptop_unattributed_received_bytes', type: 'counter', unit: 'bytes', help: 'bytes received that could not be attributed to a flow' }, health.lostRxBytes);
    one({ name: 'tcptop_unattributed_sent_bytes', type: 'counter', unit: 'bytes', help: 'bytes sent that could not be attributed to a flow' }, health.lostTxBytes);
    one({ name: 'tcptop_flows_tracked', type: 'gauge', help: 'flows with bytes in the last interval' }, health.flows);
    one({ name: 'tcptop_series_tracked', type: 'gauge', help: 'label sets of the byte counters now exposed' }, this.size);
    one({ name: 'tcptop_series_expired', type: 'counter', help: 'label sets dropped after --metrics-expire without bytes' }, this.expiredCount);
    one({ name: 'tcptop_series_folded', type: 'counter', help: 'label sets added into the other series because --metrics-max-series was reached' }, this.foldedCount);
    one({ name: 'tcptop_last_drain_seconds', type: 'gauge', unit: 'seconds', help: 'time the last interval took to drain the probe' }, health.lastDrainSeconds);
    one({ name: 'tcptop_last_commit_seconds', type: 'gauge', unit: 'seconds', help: 'time the last interval took to write and commit its frame' }, health.lastCommitSeconds);
    one({ name: 'tcptop_probe', type: 'info', help: 'the probe counting the bytes' }, 1, labelText(['probe'], [health.probe]));
    one({ name: 'tcptop_build', type: 'info', help: 'the tcptop version recording' }, 1, labelText(['version'], [health.version]));
    if (openMetrics) out.push('# EOF\n');
    return out.join('');
  }

  private *all(): Generator<Series> {
    yield* this.series.values();
    if (this.other) yield this.other;
  }
}
