// Points in time as given on the command line (--from, --to), before they are placed on a capture.
import { UsageError } from '../errors';
import { durationUs } from '../cli/parse';

/** A point in time as given on the command line, before it is placed on a capture's timeline. */
export type TimeSpec =
  | { kind: 'clock'; hour: number; minute: number; second: number }
  | { kind: 'date'; year: number; month: number; day: number; hour: number; minute: number; second: number; ms: number; offsetMinutes: number | null }
  | { kind: 'offset'; from: 'start' | 'end'; us: number };

/** `HH:MM[:SS]`, an ISO time (`2026-11-26T08:30:00Z`, zone optional), `+5m` from the start or `-10m` from the end. */
export function parseTimeSpec(name: string) {
  return (text: string): TimeSpec => {
    const t = text.trim();
    const bad = (): never => {
      throw new UsageError(`${name}: invalid time '${text}' (expected HH:MM[:SS], an ISO time such as 2026-11-26T08:30:00Z, or +5m from the start, -10m from the end)`);
    };
    if (t.startsWith('+') || t.startsWith('-')) {
      const us = durationUs(t.slice(1));
      if (us === null) return bad();
      return { kind: 'offset', from: t[0] === '+' ? 'start' : 'end', us };
    }
    let m = /^(\d{1,2}):(\d{2})(?::(\d{2}))?$/.exec(t);
    if (m) {
      const [hour, minute, second] = [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)];
      if (hour > 23 || minute > 59 || second > 59) return bad();
      return { kind: 'clock', hour, minute, second };
    }
    m = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?(Z|[+-]\d{2}:?\d{2})?$/i.exec(t);
    if (!m) return bad();
    const [year, month, day, hour, minute, second] = [1, 2, 3, 4, 5, 6].map((i) => Number(m![i] ?? 0));
    if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 59) return bad();
    const ms = m[7] ? Math.floor(Number(`0.${m[7]}`) * 1000) : 0;
    let offsetMinutes: number | null = null;
    if (m[8]) {
      if (m[8].toUpperCase() === 'Z') offsetMinutes = 0;
      else {
        const d = m[8].replace(':', '');
        offsetMinutes = (d[0] === '-' ? -1 : 1) * (Number(d.slice(1, 3)) * 60 + Number(d.slice(3, 5)));
      }
    }
    return { kind: 'date', year, month, day, hour, minute, second, ms, offsetMinutes };
  };
}
