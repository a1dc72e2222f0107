// `tcptop replay FILE`: the classic view, interval by interval, as it was when the capture was recorded.
import { CaptureReader } from '../capture/reader';
import { RANGE_OPTIONS, VIEW_OPTIONS, viewOptionsOf, type CommandSpec, type ViewCliOptions } from '../cli/spec';
import { sleep, write } from '../cli/output';
import { parseCount, parseInterval, parseNumberIn, parsePid } from '../cli/parse';
import { CaptureError } from '../errors';
import { resolveRange } from '../time/range';
import type { TimeSpec } from '../time/spec';
import { clockOf, displayZone, type DisplayZone } from '../time/zone';
import { banner, renderFrame, type SortKey } from '../view/classic';
import { Session, wantsInteractive } from '../view/interactive/session';
import { initialState } from '../view/interactive/state';
import { CaptureCursor } from './cursor';
import { matches, rebin, rebinFactor, Rebinner, type Bin, type FlowFilter, type FrameFlows } from './frames';

export interface ReplayOptions extends ViewCliOptions {
  pid?: number;
  ipv4?: boolean;
  ipv6?: boolean;
  from?: TimeSpec;
  to?: TimeSpec;
  utc?: boolean;
  speed?: number;
  follow?: boolean;
  /** False with --no-interactive: the classic printed view even on a terminal. */
  interactive?: boolean;
  names?: boolean;
  wide?: boolean;
}

export const replayCommand: CommandSpec<ReplayOptions> = {
  name: 'replay',
  summary: 'print the classic tcptop view from a capture, interval by interval, as it was',
  args: [
    { name: 'file', description: 'capture file written by tcptop record' },
    { name: '[interval]', description: 'seconds per view: a multiple of the recorded interval (default: as recorded)', parse: parseInterval('interval') },
    { name: '[count]', description: 'number of views to print (default: all)', parse: parseCount('count') },
  ],
  options: [
    VIEW_OPTIONS.noclear,
    VIEW_OPTIONS.nosummary,
    { flags: '-p, --pid <pid>', description: 'show this process only', parse: parsePid('-p/--pid') },
    { flags: '-4, --ipv4', description: 'show IPv4 flows only', conflicts: ['ipv6'] },
    { flags: '-6, --ipv6', description: 'show IPv6 flows only', conflicts: ['ipv4'] },
    VIEW_OPTIONS.rows,
    VIEW_OPTIONS.sort,
    RANGE_OPTIONS.from,
    RANGE_OPTIONS.to,
    RANGE_OPTIONS.utc,
    { flags: '-f, --follow', description: 'keep going: show new frames as a recorder adds them, until it stops (starts at the newest frame unless --from)', conflicts: ['to'] },
    { flags: '--no-interactive', description: 'on a terminal too, print the classic view instead of the full-screen one' },
    { flags: '--names', description: 'show remote hosts by the names looked up while recording, where the capture has them' },
    { flags: '--wide', description: 'add a UNIT column: the systemd unit of each flow\'s cgroup' },
    { flags: '--speed <factor>', description: 'pace the views: 1 is real time, 10 ten times faster (default: 1 on a terminal, unpaced otherwise)', parse: (t) => parseNumberIn('--speed', t, 0, 1e6, { minExclusive: true }) },
  ],
  examples: [
    'tcptop replay incident.db              # on a terminal: a full-screen view to step through (? lists the keys)',
    'tcptop replay -C incident.db 5         # rolling output, 5 second summaries',
    'tcptop replay -Cp 181 incident.db      # process 181 only',
    'tcptop replay --from 14:02 --to 14:05 incident.db',
    'tcptop replay --from -10m -s sent -r 10 incident.db   # last ten minutes, top 10 senders',
    'tcptop replay -f incident.db           # watch a capture that is being recorded',
  ],
  async run(args, opts) {
    const [file, interval, count] = args as [string, number | undefined, number | undefined];
    const reader = CaptureReader.open(file);
    try {
      const span = reader.span();
      if (!span && !opts.follow) throw new CaptureError(file, 'the capture has no frames yet (nothing to replay; --follow waits for them)');
      const zone = displayZone(reader.meta, opts.utc ?? false);
      const range = span ? resolveRange(reader, span, zone, opts.from, opts.to) : { fromSeq: 1, toSeq: 0 };
      // Following starts at the newest frame, as tail -f starts near the end.
      const fromSeq = opts.follow && !opts.from && span ? span.lastSeq : range.fromSeq;
      const factor = interval === undefined ? 1 : rebinFactor(interval, reader.meta.intervalUs);
      const filter: FlowFilter = { pid: opts.pid, family: opts.ipv4 ? 4 : opts.ipv6 ? 6 : undefined };
      const view = { ...viewOptionsOf(opts), names: opts.names ?? false, wide: opts.wide ?? false };
      const speed = opts.speed ?? (process.stdout.isTTY && !opts.follow ? 1 : 0);
      if (wantsInteractive(opts)) {
        const toSeq = opts.follow ? null : count === undefined ? range.toSeq : Math.min(range.toSeq, range.fromSeq + count * factor - 1);
        await interactive(reader, { fromSeq: range.fromSeq, toSeq, startSeq: fromSeq, factor, zone, speed: opts.speed ?? 1, filter, sort: opts.sort,
          names: view.names, wide: view.wide });
        return;
      }

      await write(banner((reader.meta.intervalUs * factor) / 1e6));
      let shown = 0;
      const show = async (bin: Bin): Promise<boolean> => {
        if (speed > 0) await sleep(bin.intervalUs / 1000 / speed);
        await write(renderFrame({ clock: clockOf(zone, bin.last.wallUs), loadavg: bin.last.loadavg.raw, flows: bin.flows }, view));
        return ++shown === count;
      };
      if (!opts.follow) {
        for (const bin of rebin(framesWithFlows(reader, fromSeq, range.toSeq, filter), factor)) if (await show(bin)) return;
        return;
      }
      await follow(reader, fromSeq, reader.meta.intervalUs, factor, filter, show);
    } finally {
      reader.close();
    }
  },
};

/**
 * Shows frames from `fromSeq` on and then each new one as the recorder commits it, until the recorder
 * ends cleanly (after which no frame can come), a signal, or `show` says enough.
 */
async function follow(reader: CaptureReader, fromSeq: number, intervalUs: number, factor: number, filter: FlowFilter,
  show: (bin: Bin) => Promise<boolean>): Promise<void> {
  let stop = false;
  const onSignal = () => {
    stop = true;
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const bins = new Rebinner(factor);
    let next = fromSeq;
    const poll = Math.min(250, intervalUs / 4000);
    while (!stop) {
      // Read the end marker before the frames: a frame committed before the marker is then never missed.
      const ended = reader.endedCleanly();
      const last = reader.lastSeq() ?? next - 1;
      for (const ff of framesWithFlows(reader, next, last, filter)) {
        const bin = bins.push(ff);
        if (bin && (await show(bin))) return;
      }
      next = Math.max(next, last + 1);
      if (ended) break;
      await sleep(poll);
    }
    const rest = bins.flush();
    if (rest) await show(rest);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** The full-screen view over the range; following, over a capture that grows until its recorder ends. */
async function interactive(reader: CaptureReader, o: { fromSeq: number; toSeq: number | null; startSeq: number; factor: number;
  zone: DisplayZone; speed: number; filter: FlowFilter; sort: SortKey; names: boolean; wide: boolean }): Promise<void> {
  const cursor = new CaptureCursor(reader, o.fromSeq, o.toSeq);
  const follow = o.toSeq === null;
  const startFrame = Math.max(0, cursor.timeline.seqs.findIndex((s) => s >= o.startSeq));
  const session = new Session({
    cursor, host: reader.meta.hostname, zone: o.zone, recordedUs: reader.meta.intervalUs, speed: o.speed,
    color: !process.env.NO_COLOR, names: o.names, wide: o.wide,
    state: initialState({ live: follow, frames: cursor.frames, factor: o.factor, startFrame, sort: o.sort, family: o.filter.family,
      filter: o.filter.pid === undefined ? '' : `pid:${o.filter.pid}` }),
  });
  const poll = follow ? setInterval(() => session.grew(), Math.min(250, reader.meta.intervalUs / 4000)) : null;
  try {
    await session.run();
  } finally {
    if (poll) clearInterval(poll);
  }
}

function* framesWithFlows(reader: CaptureReader, fromSeq: number, toSeq: number, filter: FlowFilter): Generator<FrameFlows> {
  for (const frame of reader.frames(fromSeq, toSeq)) {
    yield { frame, flows: reader.flowBytes(frame.seq).filter((f) => matches(f, filter)) };
  }
}
