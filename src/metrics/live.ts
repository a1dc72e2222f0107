// `record --metrics-listen`: the recorder's options for the live endpoint, and the glue the recorder calls once
// per frame. The registry and exposition are pure (registry.ts, exposition.ts); this adds the clock and HTTP.
import type { Lost } from '../capture/types';
import { parseChoice, parseCount, durationUs } from '../cli/parse';
import type { OptionSpec } from '../cli/spec';
import { UsageError } from '../errors';
import { MetricsEndpoint } from './endpoint';
import { checkListen, parseListen } from './listen';
import { DEFAULT_LABEL_KEYS, LABEL_KEYS, type LabelKey } from './labels';
import { ByteRegistry, DEFAULT_EXPIRE_US, DEFAULT_MAX_SERIES, type FlowDelta, type Health } from './registry';

export interface MetricsCliOptions {
  metricsListen?: string;
  metricsListenAny?: boolean;
  metricsBy?: LabelKey[];
  metricsExpire?: number;
  metricsMaxSeries?: number;
}

export const METRICS_OPTIONS: OptionSpec[] = [
  { flags: '--metrics-listen <addr:port>', description: 'serve /metrics for Prometheus at ADDR:PORT (loopback only unless --metrics-listen-any)' },
  { flags: '--metrics-listen-any', description: 'allow --metrics-listen on an address other than loopback' },
  { flags: '--metrics-by <key>', description: `label the byte counters by ${LABEL_KEYS.join('|')}; repeat to combine (default: comm and host)`, parse: parseChoice('--metrics-by', LABEL_KEYS), repeatable: true },
  { flags: '--metrics-expire <duration>', description: 'drop a label set idle this long (default 10m; 0 never)', parse: parseExpire },
  { flags: '--metrics-max-series <n>', description: `at most this many label sets, the rest summed as remote="other" (default ${DEFAULT_MAX_SERIES})`, parse: parseCount('--metrics-max-series') },
];

function parseExpire(text: string): number {
  const us = durationUs(text);
  if (us === null || us < 0) throw new UsageError(`--metrics-expire: invalid duration '${text}' (expected 0 for never, or a time such as 90s, 10m, 1h)`);
  return us;
}

/** The live metrics of one recorder, or null when --metrics-listen is not given. Checks options before anything starts. */
export function liveMetricsOf(opts: MetricsCliOptions): LiveMetrics | null {
  if (!opts.metricsListen) {
    const given = (['metricsListenAny', 'metricsBy', 'metricsExpire', 'metricsMaxSeries'] as const).find((k) => opts[k] !== undefined);
    if (given) throw new UsageError(`--${given.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}: only with --metrics-listen`);
    return null;
  }
  return new LiveMetrics(opts);
}

export class LiveMetrics {
  readonly registry: ByteRegistry;
  private readonly addr;
  private endpoint: MetricsEndpoint | null = null;
  readonly health: Health;

  constructor(opts: MetricsCliOptions) {
    this.addr = checkListen(parseListen(opts.metricsListen!), opts.metricsListenAny ?? false);
    this.registry = new ByteRegistry({
      keys: opts.metricsBy ?? DEFAULT_LABEL_KEYS,
      expireUs: opts.metricsExpire ?? DEFAULT_EXPIRE_US,
      maxSeries: opts.metricsMaxSeries ?? DEFAULT_MAX_SERIES,
    });
    this.health = { frames: 0, lostEvents: 0, lostRxBytes: 0, lostTxBytes: 0, flows: 0, lastDrainSeconds: 0, lastCommitSeconds: 0, probe: '', version: '' };
  }

  /** Listens; returns the URL scrapers use. */
  async start(probe: string, version: string): Promise<string> {
    this.health.probe = probe;
    this.health.version = version;
    try {
      this.endpoint = await MetricsEndpoint.start(this.addr, (om) => this.registry.render(this.health, om));
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      throw new UsageError(`--metrics-listen: cannot listen on ${this.addr.host}:${this.addr.port}: ${e.code === 'EADDRINUSE' ? 'the port is in use' : e.code === 'EADDRNOTAVAIL' ? 'no such address here' : e.message}`);
    }
    return this.endpoint.url;
  }

  /** After each frame is written: its bytes into the counters, and the recorder's health. */
  frame(frame: { monoUs: number; lost: Lost }, flows: Iterable<FlowDelta>, flowCount: number, drainSeconds: number, commitSeconds: number): void {
    this.registry.addFrame(frame.monoUs, flows);
    const h = this.health;
    h.frames++;
    h.lostEvents += frame.lost.events;
    h.lostRxBytes += frame.lost.rxBytes;
    h.lostTxBytes += frame.lost.txBytes;
    h.flows = flowCount;
    h.lastDrainSeconds = drainSeconds;
    h.lastCommitSeconds = commitSeconds;
  }

  async close(): Promise<void> {
    await this.endpoint?.close();
  }
}

/** A drain that keeps how long its last call took: the recorder's health metric for the drain time. */
export class TimedDrain<D> {
  lastSeconds = 0;

  constructor(private readonly inner: () => D) {}

  readonly drain = (): D => {
    const t = performance.now();
    const d = this.inner();
    this.lastSeconds = (performance.now() - t) / 1000;
    return d;
  };
}
