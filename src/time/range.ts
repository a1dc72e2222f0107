// Places --from/--to on a capture's timeline. Wall-clock times select by the frames' wall time; offsets
// from the start or end use the monotonic clock, which never steps.
import { UsageError } from '../errors';
import type { TimeSpec } from './spec';
import { civil, dateTimeOf, instantOf, type DisplayZone } from './zone';
import type { CaptureReader, Span } from '../capture/reader';

export interface Bound {
  clock: 'wall' | 'mono';
  us: number;
}

export interface SeqRange {
  fromSeq: number;
  toSeq: number;
}

/** Where a time given on the command line falls, for a capture starting (interval start) at `span.first`. */
export function resolveBound(spec: TimeSpec, span: Span, zone: DisplayZone): Bound {
  const startWallMs = (span.first.wallUs - span.first.intervalUs) / 1000;
  switch (spec.kind) {
    case 'offset':
      return spec.from === 'start'
        ? { clock: 'mono', us: span.first.monoUs - span.first.intervalUs + spec.us }
        : { clock: 'mono', us: span.last.monoUs - spec.us };
    case 'clock': {
      // The first time the clock shows this time at or after the capture's start.
      const day = civil(zone, startWallMs);
      let at = instantOf(zone, { ...day, hour: spec.hour, minute: spec.minute, second: spec.second });
      if (at < Math.floor(startWallMs / 1000) * 1000) {
        at = instantOf(zone, { ...day, day: day.day + 1, hour: spec.hour, minute: spec.minute, second: spec.second });
      }
      return { clock: 'wall', us: at * 1000 };
    }
    case 'date': {
      const c = { year: spec.year, month: spec.month, day: spec.day, hour: spec.hour, minute: spec.minute, second: spec.second };
      const ms = spec.offsetMinutes === null
        ? instantOf(zone, c)
        : Date.UTC(c.year, c.month - 1, c.day, c.hour, c.minute, c.second) - spec.offsetMinutes * 60000;
      return { clock: 'wall', us: (ms + spec.ms) * 1000 };
    }
  }
}

/**
 * The frames between --from and --to: a frame is in when the end of its interval is. Throws a UsageError
 * saying what the capture does span when nothing is in the range.
 */
export function resolveRange(reader: CaptureReader, span: Span, zone: DisplayZone, from?: TimeSpec, to?: TimeSpec): SeqRange {
  const lo = from ? resolveBound(from, span, zone) : null;
  const hi = to ? resolveBound(to, span, zone) : null;
  // "--to 14:05:07" means up to the end of that second, the frames a clock shows as 14:05:07.
  if (hi && to && (to.kind === 'clock' || (to.kind === 'date' && to.ms === 0))) hi.us += 999_999;
  if (lo && hi && lo.clock === hi.clock && lo.us > hi.us) {
    throw new UsageError(`--from ${describe(lo, zone)} is after --to ${describe(hi, zone)}`);
  }
  const fromSeq = lo ? reader.seqAtOrAfter(lo.clock, lo.us) : span.firstSeq;
  const toSeq = hi ? reader.seqAtOrBefore(hi.clock, hi.us) : span.lastSeq;
  if (fromSeq === null || toSeq === null || fromSeq > toSeq) {
    const spans = `${dateTimeOf(zone, span.first.wallUs - span.first.intervalUs)} to ${dateTimeOf(zone, span.last.wallUs)}`;
    throw new UsageError(`no frames in the range asked for (the capture spans ${spans})`);
  }
  return { fromSeq, toSeq };
}

function describe(b: Bound, zone: DisplayZone): string {
  return b.clock === 'wall' ? dateTimeOf(zone, b.us) : `(${(b.us / 1e6).toFixed(3)} s monotonic)`;
}
