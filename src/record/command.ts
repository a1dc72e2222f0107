// `tcptop record`: attach the probe and write one frame per interval into a capture file until the
// duration or count is reached, or until SIGINT/SIGTERM (which keep the interval in progress).
import Database from 'better-sqlite3';
import * as fs from 'node:fs';
import type { CaptureHeader } from '../capture/meta';
import { frameRows, type FrameFlows } from '../capture/types';
import { MIN_MAX_BYTES } from '../capture/retention';
import { CaptureWriter } from '../capture/writer';
import { parseCount, parseDuration, parseInterval, parseSize } from '../cli/parse';
import { toolVersion } from '../cli/program';
import { write } from '../cli/output';
import { VIEW_OPTIONS, viewOptionsOf, type CommandSpec, type ViewCliOptions } from '../cli/spec';
import { CaptureError, TcptopError, UsageError } from '../errors';
import { clockOf } from '../time/zone';
import { banner, renderFrame } from '../view/classic';
import { printable } from '../view/printable';
import { grouped, humanBytes, humanDuration } from '../view/units';
import { hostInfo, monoUs, readLoadavg, wallUs } from './host';
import { runIntervals } from './loop';
import { attach, filtersOf, PROBE_OPTIONS, type ProbeCliOptions } from './options';
import { Sampler } from './sampler';
import { liveMetricsOf, METRICS_OPTIONS, TimedDrain, type MetricsCliOptions } from '../metrics/live';
import { CgroupPaths, cgroup2Root } from './cgroups';
import { NameLookups, parseResolver } from './names';
import { decoratedRows } from './decorate';
import { formatEventPaths } from './stats';

export interface RecordOptions extends ProbeCliOptions, ViewCliOptions, MetricsCliOptions {
  output?: string;
  interval: number;
  duration?: number;
  count?: number;
  force?: boolean;
  maxSize?: number;
  maxDuration?: number;
  live?: boolean;
  status?: boolean;
  resolve?: boolean;
  resolver?: string;
  names?: boolean;
  wide?: boolean;
  stats?: boolean;
}

/** tcptop-web-1-20261126-083127.db, in the recorder's local time. */
export function defaultCaptureName(hostname: string, at: Date): string {
  const two = (n: number) => String(n).padStart(2, '0');
  const stamp = `${at.getFullYear()}${two(at.getMonth() + 1)}${two(at.getDate())}-${two(at.getHours())}${two(at.getMinutes())}${two(at.getSeconds())}`;
  return `tcptop-${hostname.replace(/[^A-Za-z0-9._-]/g, '_')}-${stamp}.db`;
}

export const recordCommand: CommandSpec<RecordOptions> = {
  name: 'record',
  summary: 'attach the eBPF probe and record per-flow TCP bytes and the load average into a capture file',
  args: [],
  options: [
    { flags: '-o, --output <file>', description: 'capture file to create (default: tcptop-<host>-<YYYYmmdd-HHMMSS>.db here)' },
    { flags: '-i, --interval <seconds>', description: 'seconds per frame', parse: parseInterval('-i/--interval'), defaultValue: 1 },
    { flags: '-d, --duration <time>', description: 'stop after this long (90, 30s, 5m, 1h)', parse: parseDuration('-d/--duration'), conflicts: ['count'] },
    { flags: '-c, --count <frames>', description: 'stop after this many frames', parse: parseCount('-c/--count'), conflicts: ['duration'] },
    ...PROBE_OPTIONS,
    { flags: '--force', description: 'replace the output file if it exists' },
    { flags: '--max-size <size>', description: 'keep the file under this size by dropping the oldest frames (500M, 2G)', parse: parseSize('--max-size', MIN_MAX_BYTES) },
    { flags: '--max-duration <time>', description: 'keep only this much recent history (30m, 24h)', parse: parseDuration('--max-duration') },
    { flags: '--live', description: 'also show the classic tcptop view while recording' },
    VIEW_OPTIONS.noclear,
    VIEW_OPTIONS.nosummary,
    { ...VIEW_OPTIONS.rows, description: `with --live: ${VIEW_OPTIONS.rows.description}` },
    { ...VIEW_OPTIONS.sort, description: `with --live: ${VIEW_OPTIONS.sort.description}` },
    { flags: '--no-resolve', description: 'do not look up the names of remote addresses (by default /etc/hosts, then reverse DNS, in the background)' },
    { flags: '--resolver <addr:port>', description: 'the DNS server for the names of remote addresses (default: the system\'s)', parse: parseResolver, conflicts: ['resolve'] },
    { flags: '--names', description: 'with --live: show remote hosts by name once looked up' },
    { flags: '--wide', description: 'with --live: add a UNIT column, the systemd unit of each flow\'s cgroup' },
    { flags: '--no-status', description: 'no status line on stderr (it is shown only on a terminal anyway)' },
    { flags: '--stats', description: 'print on stderr after each frame which way the kernel counted the events so far (cached shortcut, helper lookup, lost)' },
    ...METRICS_OPTIONS,
  ],
  examples: [
    'tcptop record -o incident.db                 # until Ctrl-C, 1 second frames',
    'tcptop record -o incident.db -d 10m -i 5     # ten minutes of 5 second frames',
    'tcptop record -o api.db -p 181 -4            # IPv4 of process 181 only',
    'tcptop record -o web.db --cgroup /sys/fs/cgroup/system.slice/nginx.service',
    'tcptop record -o incident.db --live -C       # record and watch the classic view',
    'tcptop record -o flight.db --max-size 500M   # a flight recorder: the most recent 500 MiB of history',
  ],
  async run(_args, opts) {
    checkViewOptions(opts);
    const host = hostInfo();
    const file = opts.output ?? defaultCaptureName(host.hostname, new Date());
    // Refuse a taken name before attaching anything.
    if (!opts.force && fs.existsSync(file)) throw new CaptureError(file, 'file exists (choose another name, or use --force to replace it)', 1);
    const intervalUs = Math.round(opts.interval * 1e6);
    const metrics = liveMetricsOf(opts);
    const probe = attach(opts);
    const startMono = monoUs();
    let writer: CaptureWriter | null = null;
    try {
      const header: CaptureHeader = {
        toolVersion: toolVersion(),
        hostname: host.hostname,
        kernelRelease: host.kernelRelease,
        bootId: host.bootId,
        startWallUs: wallUs(),
        tzOffsetMinutes: host.tzOffsetMinutes,
        timeZone: host.timeZone,
        intervalUs,
        probe: probe.kind,
        commandLine: ['tcptop', ...process.argv.slice(2)],
        filters: filtersOf(opts),
      };
      const cgroupRoot = cgroup2Root();
      const cgroups = cgroupRoot === null ? null : new CgroupPaths(cgroupRoot);
      const names = opts.resolve === false ? null : new NameLookups({ server: opts.resolver });
      const w = (writer = CaptureWriter.create(file, header, { force: opts.force, maxBytes: opts.maxSize, maxAgeUs: opts.maxDuration,
        cgroupPaths: cgroups ? (ids) => cgroups.paths(ids) : undefined }));
      const metricsAt = metrics ? await metrics.start(probe.kind, toolVersion()) : null;
      const announce = async () => {
        if (metricsAt) process.stderr.write(`tcptop: serving metrics at ${metricsAt}\n`);
        process.stderr.write(`tcptop: recording to ${printable(file)} every ${opts.interval} s with the ${probe.kind} probe; Ctrl-C to stop\n`);
        if (opts.live) await write(banner(opts.interval));
      };
      const status = opts.status !== false && !opts.live && process.stderr.isTTY ? new StatusLine(file) : null;
      const view = { ...viewOptionsOf(opts), names: opts.names ?? false, wide: opts.wide ?? false };

      const timed = new TimedDrain(() => probe.drain());
      const sampler = new Sampler({ monoUs, wallUs, loadavg: readLoadavg, drain: metrics ? timed.drain : () => probe.drain() }, startMono);
      await runIntervals(sampler, startMono, intervalUs, { count: opts.count, durationUs: opts.duration }, async (s) => {
        const committing = performance.now();
        try {
          w.append(s.frame, s.flows);
          if (names) {
            // names found since the last frame; this frame's new addresses are looked up in the background
            w.addNames(names.take());
            names.noteFrame(s.flows);
          }
        } catch (err) {
          throw writeError(file, w.frames, err);
        }
        if (opts.stats) process.stderr.write(`tcptop: ${formatEventPaths(probe.paths())}\n`);
        if (metrics) metrics.frame(s.frame, frameRows(s.flows), s.flows.count, timed.lastSeconds, (performance.now() - committing) / 1000);
        status?.update(s.frame.monoUs - startMono, w, s.flows);
        if (opts.live) {
          // the writer has looked up this frame's new cgroups: the cache has them
          const rows = decoratedRows(s.flows, view.names ? names : null, view.wide ? cgroups : null, false);
          await write(renderFrame({ clock: clockOf({ timeZone: host.timeZone, offsetMinutes: host.tzOffsetMinutes }, s.frame.wallUs), loadavg: s.frame.loadavg.raw, flows: rows }, view));
        }
      }, announce);
      status?.end();
      if (names) {
        w.addNames(names.take());
        names.close();
      }
      w.close(true, wallUs());
      writer = null;
      process.stderr.write(`tcptop: recorded ${grouped(w.frames)} frames, ${grouped(w.flows)} flows to ${printable(file)}\n`);
    } finally {
      await metrics?.close();
      probe.close();
      if (writer) {
        try {
          writer.close(false);
        } catch {
          // the file keeps every committed frame; a failed close (disk full) changes nothing in it
        }
      }
    }
  },
};

/**
 * --names and --wide change what the live view shows, and only it: without --live they would do nothing, so they
 * are refused before anything is attached or created. The capture keeps names and cgroups either way.
 */
function checkViewOptions(opts: Pick<RecordOptions, 'live' | 'names' | 'wide' | 'resolve'>): void {
  if (opts.names && opts.resolve === false) throw new UsageError('--names: no names to show with --no-resolve (drop one of the two)');
  const given = [opts.names && '--names', opts.wide && '--wide'].filter((o): o is string => typeof o === 'string');
  if (given.length > 0 && !opts.live) {
    throw new UsageError(`${given.join(' and ')}: only with --live (the capture keeps names and cgroups anyway: ` +
      `add --live to see them now, or run tcptop replay ${given.join(' ')} FILE later)`);
  }
}

/** A write failure as the user should hear it: what happened, what is kept. */
function writeError(file: string, frames: number, err: unknown): TcptopError {
  const code = err instanceof Database.SqliteError ? err.code : (err as NodeJS.ErrnoException).code;
  const kept = `the ${grouped(frames)} frames written before are kept`;
  if (code === 'SQLITE_FULL' || code === 'ENOSPC') {
    // The newest frames may be in the WAL until there is room to fold it back: a copy of the file alone lacks them.
    const wal = walSize(file) > 0
      ? `, the newest in ${file}-wal: copy both files together, or write one self-contained file with 'tcptop export ${file} -o NEW.db' where there is room`
      : '';
    return new CaptureError(file, `disk full: recording stopped (${kept}${wal})`, 1);
  }
  if (code?.startsWith('SQLITE_IOERR')) return new CaptureError(file, `write failed (${code}): recording stopped (${kept})`, 1);
  return new CaptureError(file, `write failed: ${(err as Error).message}: recording stopped (${kept})`, 1);
}

function walSize(file: string): number {
  try {
    return fs.statSync(`${file}-wal`).size;
  } catch {
    return 0;
  }
}

/** The one-line status a person watching the terminal sees, redrawn in place each frame. */
class StatusLine {
  private rx = 0;
  private tx = 0;

  constructor(private readonly file: string) {}

  update(elapsedUs: number, w: CaptureWriter, flows: FrameFlows): void {
    for (let i = 0; i < flows.count; i++) {
      this.rx += flows.rx[i];
      this.tx += flows.tx[i];
    }
    let size = 0;
    for (const suffix of ['', '-wal']) {
      try {
        size += fs.statSync(this.file + suffix).size;
      } catch {
        // the WAL comes and goes with checkpoints
      }
    }
    process.stderr.write(`\r\x1b[K${humanDuration(elapsedUs)}  ${grouped(w.frames)} frames  ${grouped(w.flows)} flows  ` +
      `rx ${humanBytes(this.rx)}  tx ${humanBytes(this.tx)}  file ${humanBytes(size)}`);
  }

  end(): void {
    process.stderr.write('\n');
  }
}
