// `tcptop` with no command: the classic live tool. Same probe as record, same view code as replay.
import { parseCount, parseInterval } from '../cli/parse';
import { write } from '../cli/output';
import { VIEW_OPTIONS, viewOptionsOf, type CommandSpec, type ViewCliOptions } from '../cli/spec';
import { frameRows } from '../capture/types';
import { clockOf } from '../time/zone';
import { banner, renderFrame } from '../view/classic';
import { hostInfo, monoUs, readLoadavg, wallUs } from '../record/host';
import { runIntervals } from '../record/loop';
import { attach, PROBE_OPTIONS, type ProbeCliOptions } from '../record/options';
import { Sampler } from '../record/sampler';

export interface LiveOptions extends ProbeCliOptions, ViewCliOptions {}

export const liveCommand: CommandSpec<LiveOptions> = {
  name: 'tcptop',
  summary: 'Summarize TCP send/recv throughput by host. Top for TCP. With a memory: see the record, replay and report commands.',
  args: [
    { name: '[interval]', description: 'interval between updates, seconds (default 1)', parse: parseInterval('interval') },
    { name: '[count]', description: 'number of interval summaries (default: until Ctrl-C)', parse: parseCount('count') },
  ],
  options: [
    VIEW_OPTIONS.noclear,
    VIEW_OPTIONS.nosummary,
    ...PROBE_OPTIONS,
    VIEW_OPTIONS.rows,
    VIEW_OPTIONS.sort,
  ],
  examples: [
    'tcptop             # summarize TCP throughput by active sessions, 1 second refresh',
    'tcptop -C 5        # don\'t clear the screen (rolling output), and 5 second summaries',
    'tcptop -Cp 181     # trace PID 181 only, and don\'t clear the screen',
    'tcptop record -o incident.db   # keep it: record to a capture, replay it later anywhere',
  ],
  async run(args, opts) {
    const [interval = 1, count] = args as [number | undefined, number | undefined];
    const host = hostInfo();
    const zone = { timeZone: host.timeZone, offsetMinutes: host.tzOffsetMinutes };
    const probe = attach(opts);
    try {
      const start = monoUs();
      const sampler = new Sampler({ monoUs, wallUs, loadavg: readLoadavg, drain: () => probe.drain() }, start);
      const view = viewOptionsOf(opts);
      await write(banner(interval));
      await runIntervals(sampler, start, Math.round(interval * 1e6), { count }, async (s) => {
        await write(renderFrame({ clock: clockOf(zone, s.frame.wallUs), loadavg: s.frame.loadavg.raw, flows: frameRows(s.flows) }, view));
      });
    } finally {
      probe.close();
    }
  },
};
