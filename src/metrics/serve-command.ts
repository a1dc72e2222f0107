// `tcptop serve --metrics-listen ADDR:PORT`: the probe's counters for Prometheus, without writing a capture,
// for hosts where only the fleet's metrics are wanted. The same endpoint as `record --metrics-listen`.
import { frameRows } from '../capture/types';
import { parseCount, parseDuration, parseInterval } from '../cli/parse';
import { toolVersion } from '../cli/program';
import type { CommandSpec } from '../cli/spec';
import { UsageError } from '../errors';
import { monoUs, readLoadavg, wallUs } from '../record/host';
import { runIntervals } from '../record/loop';
import { attach, PROBE_OPTIONS, type ProbeCliOptions } from '../record/options';
import { Sampler } from '../record/sampler';
import { liveMetricsOf, METRICS_OPTIONS, TimedDrain, type MetricsCliOptions } from './live';

export interface ServeOptions extends ProbeCliOptions, MetricsCliOptions {
  interval: number;
  duration?: number;
  count?: number;
}

export const serveCommand: CommandSpec<ServeOptions> = {
  name: 'serve',
  summary: 'attach the eBPF probe and serve per-flow TCP byte counters to Prometheus, without writing a capture',
  args: [],
  options: [
    { flags: '-i, --interval <seconds>', description: 'seconds between reads of the counters', parse: parseInterval('-i/--interval'), defaultValue: 1 },
    { flags: '-d, --duration <time>', description: 'stop after this long (90, 30s, 5m, 1h)', parse: parseDuration('-d/--duration'), conflicts: ['count'] },
    { flags: '-c, --count <reads>', description: 'stop after this many reads', parse: parseCount('-c/--count'), conflicts: ['duration'] },
    ...PROBE_OPTIONS,
    ...METRICS_OPTIONS,
  ],
  examples: [
    'tcptop serve --metrics-listen 127.0.0.1:9877                  # scrape http://127.0.0.1:9877/metrics',
    'tcptop serve --metrics-listen 10.0.0.5:9877 --metrics-listen-any --metrics-by comm --metrics-by port',
  ],
  async run(_args, opts) {
    if (!opts.metricsListen) throw new UsageError('--metrics-listen: required (the address and port to serve /metrics on, such as 127.0.0.1:9877)');
    const metrics = liveMetricsOf(opts)!;
    const probe = attach(opts);
    try {
      const at = await metrics.start(probe.kind, toolVersion());
      const timed = new TimedDrain(() => probe.drain());
      const start = monoUs();
      const sampler = new Sampler({ monoUs, wallUs, loadavg: readLoadavg, drain: timed.drain }, start);
      await runIntervals(sampler, start, Math.round(opts.interval * 1e6), { count: opts.count, durationUs: opts.duration }, (s) => {
        metrics.frame(s.frame, frameRows(s.flows), s.flows.count, timed.lastSeconds, 0);
      }, () => {
        process.stderr.write(`tcptop: serving metrics at ${at} with the ${probe.kind} probe; Ctrl-C to stop\n`);
      });
    } finally {
      probe.close();
      await metrics.close();
    }
  },
};
