// What the HTML report embeds: the page's data as plain JSON, compact (arrays, not objects, per row and point),
// aggregated to what the page shows. Types only, plus the limits that bound its size.
import type { KeyValue } from '../group';

/** Rows (groups × windows) a page may hold: more would make a file too big to open; --top and --window bound them. */
export const MAX_ROWS = 20_000;
/** Chart points without --window: frames are summed into this many steps at most. */
export const MAX_POINTS = 800;
/** Chart points with --window (one per window). */
export const MAX_WINDOWS = 20_000;
/** Series the chart draws by default, and at most (the rest as one `other` series). */
export const DEFAULT_SERIES = 10;
export const MAX_SERIES = 20;
/** Flows listed for one group, and for all groups together; the rest are summed in one line. */
export const MAX_FLOWS_PER_GROUP = 100;
export const MAX_FLOWS = 20_000;

/**
 * One flow of a group over the range: pid, comm, laddr, lport, raddr, rport, rx bytes, tx bytes; comm and the
 * addresses as indexes into PageData.strings, as the same few recur in thousands of flows.
 */
export type FlowEntry = [number, number, number, number, number, number, number, number];

export interface PageGroup {
  /** The key values, one per column. */
  key: KeyValue[];
  /** Its flows, most bytes first, at most MAX_FLOWS_PER_GROUP. */
  flows: FlowEntry[];
  /** Flows left out of `flows`, and their bytes. */
  more: [number, number, number];
}

/**
 * A row of the table as `report` computes it: start ms, end ms, group (index into groups, -1 for `other`), groups in
 * `other`, rx bytes, tx bytes, average rate, peak rate (bytes/s, 3 decimals), end of the peak frame (ms).
 */
export type PageRow = [number, number, number, number, number, number, number, number, number];

/** One interval of the busiest: start ms, end ms, rx bytes, tx bytes, rate (bytes/s). */
export type PageInterval = [number, number, number, number, number];

export interface PageSeries {
  /** Index into groups, -1 for `other`. */
  group: number;
  /** How many groups an `other` series sums (0 for a group's own). */
  members: number;
  /** Bytes per chart step. */
  rx: number[];
  tx: number[];
}

export interface PageChart {
  /** End of each step (ms since the epoch). */
  end: number[];
  /** Length of each step: its frames' summed intervals (µs); rates divide by it. */
  durationUs: number[];
  /** Frames per step. */
  framesPerStep: number;
  /** Mean 1-minute load average of each step's frames. */
  load: number[];
  series: PageSeries[];
}

export interface PageHeader {
  file: string;
  hostname: string;
  kernel: string;
  probe: string;
  toolVersion: string;
  /** The range as `report` prints it, in the display zone, and the zone's name. */
  span: string;
  zone: string;
  startMs: number;
  endMs: number;
  durationUs: number;
  intervalUs: number;
  frames: number;
  flows: number;
  hosts: number;
  groups: number;
  rx: number;
  tx: number;
  lost: { events: number; rx: number; tx: number };
  /** Lost counts as `report` words them, or null when there were none. */
  lostText: string | null;
  endedCleanly: boolean;
  /** When older frames were dropped by retention: the capture is complete from here (ms), else null. */
  completeFromMs: number | null;
  by: string[];
  windowSeconds: number | null;
  top: number | null;
  sort: string;
  busiestFrame: PageInterval | null;
  busiestWindow: PageInterval | null;
}

export interface PageData {
  version: 1;
  header: PageHeader;
  /** Where times are shown: an IANA zone, or a fixed offset east of UTC (minutes) when there is none. */
  zone: { timeZone: string | null; offsetMinutes: number };
  /** Whether the range lies within one day of the zone: the table then shows times of day alone. */
  sameDay: boolean;
  columns: { name: string; numeric: boolean }[];
  /** The flows' process names and addresses, each once. */
  strings: string[];
  groups: PageGroup[];
  rows: PageRow[];
  chart: PageChart;
  busiest: PageInterval[];
}
