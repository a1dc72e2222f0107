// `tcptop` with no command: the classic live tool. Same probe as record, same view code as replay.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { CaptureHeader } from '../capture/meta';
import { CaptureReader } from '../capture/reader';
import { CaptureWriter } from '../capture/writer';
import { parseCount, parseInterval } from '../cli/parse';
import { toolVersion } from '../cli/program';
import { CaptureError } from '../errors';
import { CaptureCursor } from '../replay/cursor';
import { printable } from '../view/printable';
import { Session, wantsInteractive } from '../view/interactive/session';
import { initialState } from '../view/interactive/state';
import { write } from '../cli/output';
import { VIEW_OPTIONS, viewOptionsOf, type CommandSpec, type ViewCliOptions } from '../cli/spec';
import { frameRows } from '../capture/types';
import { clockOf } from '../time/zone';
import { banner, renderFrame } from '../view/classic';
import { hostInfo, monoUs, readLoadavg, wallUs } from '../record/host';
import { runIntervals } from '../record/loop';
import { attach, filtersOf, PROBE_OPTIONS, type ProbeCliOptions } from '../record/options';
import { Sampler } from '../record/sampler';
import { CgroupPaths, cgroup2Root } from '../record/cgroups';
import { decoratedRows } from '../record/decorate';
import { NameLookups, parseResolver } from '../record/names';

export interface LiveOptions extends ProbeCliOptions, ViewCliOptions {
  output?: string;
  names?: boolean;
  wide?: boolean;
  resolver?: string;
  interactive?: boolean;
}

/** The temporary capture behind the full-screen live view keeps at most this much history. */
export const LIVE_MAX_BYTES = 256 * 2 ** 20;
export const LIVE_MAX_AGE_US = 3600 * 1e6;

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
    { flags: '--names', description: 'show remote hosts by name once looked up (/etc/hosts, then reverse DNS, in the background)' },
    { flags: '--resolver <addr:port>', description: 'with --names: the DNS server to ask (default: the system\'s)', parse: parseResolver },
    { flags: '--wide', description: 'add a UNIT column: the systemd unit of each flow\'s cgroup' },
    { flags: '-o, --output <file>', description: 'full-screen view: keep what it counts in this capture file (default: a temporary one of the last hour)' },
    { flags: '--no-interactive', description: 'on a terminal too, print the classic view instead of the full-screen one' },
  ],
  examples: [
    'tcptop             # summarize TCP throughput by active sessions, 1 second refresh',
    'tcptop -C 5        # don\'t clear the screen (rolling output), and 5 second summaries',
    'tcptop -Cp 181     # trace PID 181 only, and don\'t clear the screen',
    'tcptop record -o incident.db   # keep it: record to a capture, replay it later anywhere',
  ],
  async run(args, opts) {
    const [interval = 1, count] = args as [number | undefined, number | undefined];
    if (wantsInteractive(opts)) return liveView(opts, interval, count);
    const host = hostInfo();
    const zone = { timeZone: host.timeZone, offsetMinutes: host.tzOffsetMinutes };
    const probe = attach(opts);
    try {
      const start = monoUs();
      const sampler = new Sampler({ monoUs, wallUs, loadavg: readLoadavg, drain: () => probe.drain() }, start);
      const view = { ...viewOptionsOf(opts), names: opts.names ?? false, wide: opts.wide ?? false };
      const names = view.names ? new NameLookups({ server: opts.resolver }) : null;
      const root = view.wide ? cgroup2Root() : null;
      const cgroups = root === null ? null : new CgroupPaths(root);
      await runIntervals(sampler, start, Math.round(interval * 1e6), { count }, async (s) => {
        // the view asks nameOf; the names found are kept nowhere else
        names?.noteFrame(s.flows);
        names?.take();
        const rows = view.names || view.wide ? decoratedRows(s.flows, names, cgroups, true) : frameRows(s.flows);
        await write(renderFrame({ clock: clockOf(zone, s.frame.wallUs), loadavg: s.frame.loadavg.raw, flows: rows }, view));
      }, () => write(banner(interval)));
      names?.close();
    } finally {
      probe.close();
    }
  },
};

/**
 * The full-screen live view: the probe's frames go into a capture (temporary and bounded unless -o), and the
 * view reads them back through the same cursor as replay, so it can be paused and rewound while counting goes on.
 */
async function liveView(opts: LiveOptions, interval: number, count: number | undefined): Promise<void> {
  if (opts.output && fs.existsSync(opts.output)) throw new CaptureError(opts.output, 'file exists (choose another name)', 1);
  const host = hostInfo();
  const zone = { timeZone: host.timeZone, offsetMinutes: host.tzOffsetMinutes };
  const intervalUs = Math.round(interval * 1e6);
  const probe = attach(opts);
  const tmp = opts.output ? null : fs.mkdtempSync(path.join(os.tmpdir(), 'tcptop-live-'));
  const file = opts.output ?? path.join(tmp!, 'live.db');
  let writer: CaptureWriter | null = null;
  let reader: CaptureReader | null = null;
  let names: NameLookups | null = null;
  try {
    const start = monoUs();
    const header: CaptureHeader = {
      toolVersion: toolVersion(), hostname: host.hostname, kernelRelease: host.kernelRelease, bootId: host.bootId,
      startWallUs: wallUs(), tzOffsetMinutes: host.tzOffsetMinutes, timeZone: host.timeZone, intervalUs, probe: probe.kind,
      commandLine: ['tcptop', ...process.argv.slice(2)], filters: filtersOf(opts),
    };
    // the capture keeps each flow's cgroup, as record's does, and with --names the names found so far
    const root = cgroup2Root();
    const cgroups = root === null ? null : new CgroupPaths(root);
    names = opts.names ? new NameLookups({ server: opts.resolver }) : null;
    const w = (writer = CaptureWriter.create(file, header, { ...(opts.output ? {} : { maxBytes: LIVE_MAX_BYTES, maxAgeUs: LIVE_MAX_AGE_US }),
      cgroupPaths: cgroups ? (ids) => cgroups.paths(ids) : undefined }));
    reader = CaptureReader.open(file);
    const session = new Session({
      cursor: new CaptureCursor(reader, 1, null), host: host.hostname, zone, recordedUs: intervalUs, speed: 1,
      color: !process.env.NO_COLOR, state: initialState({ live: true, frames: 0, factor: 1, startFrame: 0, sort: opts.sort }),
      names: opts.names, wide: opts.wide,
    });
    let viewing = true;
    const sampler = new Sampler({ monoUs, wallUs, loadavg: readLoadavg, drain: () => probe.drain() }, start);
    const counting = runIntervals(sampler, start, intervalUs, { count }, (s) => {
      w.append(s.frame, s.flows);
      if (names) {
        w.addNames(names.take());
        names.noteFrame(s.flows);
      }
      if (viewing) session.grew();
    }).catch((err: unknown) => {
      session.abort(err);
      throw err;
    });
    let failure: unknown = null;
    await session.run().catch((err: unknown) => {
      failure = err;
    });
    viewing = false;
    // The view is closed: end the interval loop as a signal would, keeping the interval in progress.
    (process as NodeJS.EventEmitter).emit('SIGINT', 'SIGINT');
    await counting.catch((err: unknown) => {
      failure ??= err;
    });
    if (failure) throw failure;
    if (names) w.addNames(names.take());
    w.close(true, wallUs());
    writer = null;
    if (opts.output) process.stderr.write(`tcptop: the capture is in ${printable(opts.output)} (tcptop replay ${printable(opts.output)})\n`);
  } finally {
    names?.close();
    probe.close();
    reader?.close();
    if (writer) {
      try {
        writer.close(false);
      } catch {
        // the file keeps every committed frame
      }
    }
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  }
}
