// Parsers for command-line values. Each returns the value or throws a UsageError that names the option,
// the value given, and what is accepted.
import { UsageError } from '../errors';

export function parseNumberIn(name: string, text: string, min: number, max: number, opts: { integer?: boolean; minExclusive?: boolean } = {}): number {
  const v = /^[+]?(\d+(\.\d*)?|\.\d+)$/.test(text.trim()) ? Number(text) : NaN;
  const low = opts.minExclusive ? v > min : v >= min;
  if (!Number.isFinite(v) || !low || v > max || (opts.integer && !Number.isInteger(v))) {
    const kind = opts.integer ? 'a whole number' : 'a number';
    const range = opts.minExclusive ? `greater than ${min} and at most ${max}` : `from ${min} to ${max}`;
    throw new UsageError(`${name}: invalid value '${text}' (expected ${kind} ${range})`);
  }
  return v;
}

/** Seconds between updates: more than 0, at most a day; fractions allowed. */
export const parseInterval = (name: string) => (text: string): number => parseNumberIn(name, text, 0, 86400, { minExclusive: true });

export const parseCount = (name: string) => (text: string): number => parseNumberIn(name, text, 1, Number.MAX_SAFE_INTEGER, { integer: true });

/** Linux pids run from 1 to 4194304 (PID_MAX_LIMIT). */
export const parsePid = (name: string) => (text: string): number => parseNumberIn(name, text, 1, 4194304, { integer: true });

export const parseRows = (name: string) => (text: string): number => parseNumberIn(name, text, 1, 1_000_000, { integer: true });

export function parseChoice<T extends string>(name: string, choices: readonly T[]) {
  return (text: string): T => {
    if (!(choices as readonly string[]).includes(text)) {
      throw new UsageError(`${name}: invalid value '${text}' (expected one of ${choices.join(', ')})`);
    }
    return text as T;
  };
}

const UNIT_US: Record<string, number> = { us: 1, ms: 1e3, s: 1e6, m: 60e6, h: 3600e6, d: 86400e6 };

/** "90", "10s", "1.5m", "1h30m", "250ms" → microseconds. A bare number is seconds. */
export function durationUs(text: string): number | null {
  const t = text.trim();
  if (/^\d+(\.\d+)?$/.test(t)) return Math.round(Number(t) * 1e6);
  const re = /(\d+(?:\.\d+)?)(us|ms|s|m|h|d)/g;
  let total = 0;
  let used = 0;
  for (let m = re.exec(t); m; m = re.exec(t)) {
    if (m.index !== used) return null;
    total += Number(m[1]) * UNIT_US[m[2]];
    used = re.lastIndex;
  }
  return used === t.length && used > 0 ? Math.round(total) : null;
}

/** A duration option: must be more than 0 and at most `maxUs`. */
export function parseDuration(name: string, maxUs = 366 * 86400e6) {
  return (text: string): number => {
    const us = durationUs(text);
    if (us === null || us <= 0 || us > maxUs) {
      throw new UsageError(`${name}: invalid duration '${text}' (expected a time above 0 and at most ${Math.round(maxUs / 86400e6)} days, such as 90, 10s, 5m, 1h30m)`);
    }
    return us;
  };
}

const SIZE_UNITS: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

/** "500M", "2G", "1048576" → bytes (binary multiples; an optional trailing B or iB is accepted). */
export function parseSize(name: string, minBytes: number, maxBytes = 2 ** 50) {
  return (text: string): number => {
    const m = /^(\d+(?:\.\d+)?)\s*([kmgt]?)(i?b)?$/i.exec(text.trim());
    const bytes = m ? Math.floor(Number(m[1]) * SIZE_UNITS[m[2].toLowerCase()]) : NaN;
    if (!Number.isFinite(bytes) || bytes < minBytes || bytes > maxBytes) {
      throw new UsageError(`${name}: invalid size '${text}' (expected from ${minBytes} bytes to 1P, such as 500M or 2G)`);
    }
    return bytes;
  };
}
