// `tcptop` with no command: the classic live tool. Same probe as record, same view code as replay.
import { parseChoice, parseCount, parseInterval, parseRows } from '../cli/parse';
import { write } from '../cli/output';
import { VIEW_OPTIONS, type CommandSpec } from '../cli/spec';
import { frameRows } from '../capture/types';
import { clockOf } from '../time/zone';
import { banner, renderFrame, SORT_KEYS, type SortKey } from '../view/classic';
import { hostInfo, monoUs, readLoadavg, wallUs } from './host';
import { runIntervals } from './loop';
import { attach, PROBE_OPTIONS, type ProbeCliOptions } from './options';
import { Sampler } from './sampler';
import { CgroupPaths, cgroup2Root } from './cgroups';
import { decoratedRows } from './decorate';
import { NameLookups, parseResolver } from './names';

export interface LiveOptions extends ProbeCliOptions {
  noclear?: boolean;
  nosummary?: boolean;
  rows?: number;
  sort: SortKey;
  names?: boolean;
  wide?: boolean;
  resolver?: string;
}

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
    { flags: '-r, --rows <rows>', description: 'at most this many rows per section', parse: parseRows('-r/--rows') },
    { flags: '-s, --sort <key>', description: `sort rows by ${SORT_KEYS.join('|')} bytes`, parse: parseChoice('-s/--sort', SORT_KEYS), defaultValue: 'all' },
    { flags: '--names', description: 'show remote hosts by name once looked up (/etc/hosts, then reverse DNS, in the background)' },
    { flags: '--resolver <addr:port>', description: 'with --names: the DNS server to ask (default: the system\'s)', parse: parseResolver },
    { flags: '--wide', description: 'add a UNIT column: the systemd unit of each flow\'s cgroup' },
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
      const view = { clear: !opts.noclear, summary: !opts.nosummary, rows: opts.rows, sort: opts.sort, names: opts.names ?? false, wide: opts.wide ?? false };
      const names = view.names ? new NameLookups({ server: opts.resolver }) : null;
      const root = view.wide ? cgroup2Root() : null;
      const cgroups = root === null ? null : new CgroupPaths(root);
      await write(banner(interval));
      await runIntervals(sampler, start, Math.round(interval * 1e6), { count }, async (s) => {
        for (let i = 0; names && i < s.flows.count; i++) names.note(s.flows.flows[i].raddr);
        const rows = view.names || view.wide ? decoratedRows(s.flows, names, cgroups, true) : frameRows(s.flows);
        await write(renderFrame({ clock: clockOf(zone, s.frame.wallUs), loadavg: s.frame.loadavg.raw, flows: rows }, view));
      });
      names?.close();
    } finally {
      probe.close();
    }
  },
};
