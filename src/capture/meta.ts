// The capture's metadata: typed on our side, key/value text in the file so the sqlite3 shell shows it plainly.
import type { Family } from './types';

export interface Filters {
  pid?: number;
  family?: Family;
  cgroup?: string;
}

/** What a recorder knows when it starts. */
export interface CaptureHeader {
  toolVersion: string;
  hostname: string;
  kernelRelease: string;
  bootId: string;
  /** Start of the recording, UTC microseconds since the epoch. */
  startWallUs: number;
  /** The recorder's offset east of UTC at the start, in minutes (UTC+1 is 60). */
  tzOffsetMinutes: number;
  /** The recorder's IANA time zone, when it knew one: replay shows times as the operator saw them. */
  timeZone: string | null;
  /** The nominal interval, microseconds. */
  intervalUs: number;
  /** Which probe counted the bytes: tracepoint, fentry, kprobe, or synthetic for generated captures. */
  probe: string;
  commandLine: string[];
  filters: Filters;
}

export interface CaptureMeta extends CaptureHeader {
  schemaVersion: number;
  endedCleanly: boolean;
  endWallUs: number | null;
  /** Set when older frames were dropped to stay within --max-size/--max-duration: the capture is complete from here. */
  completeFromWallUs: number | null;
  /** Keys this version does not interpret, kept so export can carry them. */
  other: Record<string, string>;
}

export type MetaRows = Record<string, string>;

export function headerToRows(h: CaptureHeader, schemaVersion: number): MetaRows {
  return {
    schema_version: String(schemaVersion),
    tool_version: h.toolVersion,
    hostname: h.hostname,
    kernel_release: h.kernelRelease,
    boot_id: h.bootId,
    start_time: isoFromUs(h.startWallUs),
    start_wall_us: String(h.startWallUs),
    tz_offset_min: String(h.tzOffsetMinutes),
    time_zone: h.timeZone ?? '',
    interval_us: String(h.intervalUs),
    probe: h.probe,
    command_line: JSON.stringify(h.commandLine),
    filters: JSON.stringify(h.filters),
    ended_cleanly: '0',
  };
}

const KNOWN = new Set([
  'schema_version', 'tool_version', 'hostname', 'kernel_release', 'boot_id', 'start_time', 'start_wall_us',
  'tz_offset_min', 'time_zone', 'interval_us', 'probe', 'command_line', 'filters', 'ended_cleanly', 'end_time',
  'end_wall_us', 'complete_from_wall_us',
]);

/** Reads the rows back; throws an Error naming the first key that is missing or malformed. */
export function rowsToMeta(rows: MetaRows): CaptureMeta {
  const text = (key: string): string => {
    const v = rows[key];
    if (v === undefined) throw new Error(`metadata key ${key} is missing`);
    return v;
  };
  const int = (key: string, min = -Infinity, max = Infinity): number => {
    const v = Number(text(key));
    if (!Number.isSafeInteger(v) || v < min || v > max) throw new Error(`metadata key ${key} is not a valid number`);
    return v;
  };
  const json = <T>(key: string, check: (v: unknown) => boolean): T => {
    let v: unknown;
    try {
      v = JSON.parse(text(key));
    } catch {
      throw new Error(`metadata key ${key} is not valid JSON`);
    }
    if (!check(v)) throw new Error(`metadata key ${key} has the wrong shape`);
    return v as T;
  };
  const other: Record<string, string> = {};
  for (const [k, v] of Object.entries(rows)) if (!KNOWN.has(k)) other[k] = v;
  const endWall = rows.end_wall_us;
  const completeFrom = rows.complete_from_wall_us;
  return {
    schemaVersion: int('schema_version', 1),
    toolVersion: text('tool_version'),
    hostname: text('hostname'),
    kernelRelease: text('kernel_release'),
    bootId: text('boot_id'),
    startWallUs: int('start_wall_us', 0, MAX_WALL_US),
    tzOffsetMinutes: int('tz_offset_min', -24 * 60, 24 * 60),
    timeZone: rows.time_zone ? rows.time_zone : null,
    intervalUs: int('interval_us', 1, 24 * 3600 * 1e6),
    probe: text('probe'),
    commandLine: json<string[]>('command_line', (v) => Array.isArray(v) && v.every((s) => typeof s === 'string')),
    filters: json<Filters>('filters', (v) => typeof v === 'object' && v !== null && !Array.isArray(v)),
    endedCleanly: rows.ended_cleanly === '1',
    endWallUs: endWall !== undefined && endWall !== '' ? int('end_wall_us', 0, MAX_WALL_US) : null,
    completeFromWallUs: completeFrom !== undefined && completeFrom !== '' ? int('complete_from_wall_us', 0, MAX_WALL_US) : null,
    other,
  };
}

/** Times past this are absurd for a recording (year 2200) and rejected as damage. */
export const MAX_WALL_US = Date.UTC(2200, 0, 1) * 1000;

export function isoFromUs(us: number): string {
  return new Date(Math.floor(us / 1000)).toISOString();
}
