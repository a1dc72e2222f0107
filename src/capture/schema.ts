// The capture file's layout. docs/capture-format.md describes the same tables for people.

/** `PRAGMA application_id`: the bytes "tcpt", so `file(1)` and readers can tell a capture from other SQLite files. */
export const APPLICATION_ID = 0x74637074;

/**
 * `PRAGMA user_version`: bumped on any change a reader of the previous version would misread. Version 2 added
 * each flow's cgroup and the names of remote addresses; version 1 captures are still read.
 */
export const SCHEMA_VERSION = 2;

/** The statements of format version 1: what a version 1 capture holds, exactly. */
export const TABLES_V1 = `
CREATE TABLE meta (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE frame (
  seq          INTEGER PRIMARY KEY,
  wall_us      INTEGER NOT NULL,
  mono_us      INTEGER NOT NULL,
  interval_us  INTEGER NOT NULL,
  load1        REAL    NOT NULL,
  load5        REAL    NOT NULL,
  load15       REAL    NOT NULL,
  running      INTEGER NOT NULL,
  tasks        INTEGER NOT NULL,
  last_pid     INTEGER NOT NULL,
  loadavg      TEXT    NOT NULL,
  lost_events  INTEGER NOT NULL DEFAULT 0,
  lost_rx_bytes INTEGER NOT NULL DEFAULT 0,
  lost_tx_bytes INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX frame_wall ON frame (wall_us);
CREATE INDEX frame_mono ON frame (mono_us);

CREATE TABLE flow (
  id      INTEGER PRIMARY KEY,
  pid     INTEGER NOT NULL,
  comm    TEXT    NOT NULL,
  family  INTEGER NOT NULL,
  laddr   TEXT    NOT NULL,
  lport   INTEGER NOT NULL,
  raddr   TEXT    NOT NULL,
  rport   INTEGER NOT NULL
);

-- A sample's frame and flow share one integer key, frame << 20 | flow, which SQLite keeps as the rowid:
-- the row then holds nothing but the two byte counts. Flows past 2^20 in one capture go to sample_wide.
CREATE TABLE sample_packed (
  key      INTEGER PRIMARY KEY,
  rx_bytes INTEGER NOT NULL,
  tx_bytes INTEGER NOT NULL
);

CREATE TABLE sample_wide (
  frame    INTEGER NOT NULL,
  flow     INTEGER NOT NULL,
  rx_bytes INTEGER NOT NULL,
  tx_bytes INTEGER NOT NULL,
  PRIMARY KEY (frame, flow)
) WITHOUT ROWID;

CREATE VIEW sample AS
  SELECT key >> 20 AS frame, key & 1048575 AS flow, rx_bytes, tx_bytes FROM sample_packed
  UNION ALL
  SELECT frame, flow, rx_bytes, tx_bytes FROM sample_wide;

CREATE VIEW flow_sample AS
  SELECT s.frame, fr.wall_us, fl.id AS flow, fl.pid, fl.comm, fl.family,
         fl.laddr, fl.lport, fl.raddr, fl.rport, s.rx_bytes, s.tx_bytes
  FROM sample s
  JOIN frame fr ON fr.seq = s.frame
  JOIN flow fl ON fl.id = s.flow;
`;

/** Format version 2 (SCHEMA_VERSION): version 1 with each flow's cgroup, the cgroups' paths and remote addresses' names. */
export const TABLES = TABLES_V1.replace(
  '  rport   INTEGER NOT NULL\n);',
  '  rport   INTEGER NOT NULL,\n  cgroup  INTEGER NOT NULL DEFAULT 0\n);',
) + `
-- The cgroups flows were in, each once: its cgroup v2 id and its path under the cgroup2 mount ('/' is the root).
-- A cgroup removed before the recorder looked it up has no path and gone = 1.
CREATE TABLE cgroup (
  id    INTEGER PRIMARY KEY,
  path  TEXT,
  gone  INTEGER NOT NULL DEFAULT 0
);

-- Names of remote addresses, by reverse DNS or /etc/hosts, and when they were looked up. An address whose lookup
-- failed has no row.
CREATE TABLE name (
  addr          TEXT PRIMARY KEY,
  name          TEXT NOT NULL,
  looked_up_us  INTEGER NOT NULL
) WITHOUT ROWID;
`;

/** The statements a capture of this format version holds, or null for a version this tcptop does not read. */
export function tablesOf(version: number): string | null {
  return version === 1 ? TABLES_V1 : version === 2 ? TABLES : null;
}

/** Bits of a packed sample key that hold the flow id; the frame's seq is above them. */
export const FLOW_BITS = 20;
export const PACKED_FLOWS = 2 ** FLOW_BITS;

/** The packed keys of frames fromSeq..toSeq, inclusive: one contiguous rowid range. */
export function keyRange(fromSeq: number, toSeq: number): [number, number] {
  return [fromSeq * PACKED_FLOWS, (toSeq + 1) * PACKED_FLOWS - 1];
}

/**
 * The samples of frames @from..@to as (flow, rx_bytes, tx_bytes); bind `frameParams(from, to)`. Both tables
 * are read by their primary key.
 */
export const SAMPLES_OF_FRAMES = `SELECT key & ${PACKED_FLOWS - 1} AS flow, rx_bytes, tx_bytes FROM sample_packed WHERE key BETWEEN @lo AND @hi
  UNION ALL SELECT flow, rx_bytes, tx_bytes FROM sample_wide WHERE frame BETWEEN @from AND @to`;

export function frameParams(from: number, to: number): { lo: number; hi: number; from: number; to: number } {
  const [lo, hi] = keyRange(from, to);
  return { lo, hi, from, to };
}

/** A row of `sqlite_schema`: one table, index, view or trigger of a database. */
export interface SchemaObject {
  type: string;
  name: string;
  tbl_name: string;
  rootpage: number;
  sql: string | null;
}

/** What to add to every problem with a file's schema: the file is not as recorded, and cannot be made so here. */
export const ALTERED = 'the file was altered after recording; use an unaltered copy';

/**
 * CREATE statements compared as SQL, not as layout: runs of white space are one space, none around punctuation.
 * Sound for the format's statements, which hold no string literal and no comment: a statement that normalizes to
 * one of them holds none either, so it differs from it in layout alone.
 */
export function normalizeSql(sql: string): string {
  return sql.replace(/\s+/g, ' ').replace(/ ?([(),;]) ?/g, '$1').trim();
}

const article = (type: string) => (/^[aeiou]/.test(type) ? 'an' : 'a');

/** A name from a file, cut short for a message (a name can be as long as a page). */
function shown(name: string): string {
  return name.length > 60 ? `${name.slice(0, 57)}...` : name;
}

/**
 * The first way a database's schema (`have`) differs from the one tcptop writes (`want`, in creation order), or
 * null. A capture holds exactly the tables, indexes and views tcptop creates, each of the same kind and with the
 * same definition: a view or trigger could run anything when a reader reads, so an object that is not the
 * format's is refused rather than ignored. `columnsOf` names a table's columns in the file and `wantColumns` those
 * tcptop writes, for a clearer message when a table's definition differs.
 */
export function schemaProblem(have: readonly SchemaObject[], want: readonly SchemaObject[], columnsOf: (table: string) => string[],
  wantColumns: Record<string, string[]>): string | null {
  const wanted = new Map(want.map((o) => [o.name, o]));
  const byName = new Map<string, SchemaObject>();
  for (const o of have) {
    const w = wanted.get(o.name);
    if (w && o.type !== w.type) return `${o.name} is ${article(o.type)} ${o.type}, not ${article(w.type)} ${w.type} as tcptop writes it`;
  }
  for (const o of have) {
    if (!wanted.has(o.name)) return `it holds ${article(o.type)} ${o.type} tcptop does not write: ${shown(String(o.name))}`;
    if (byName.has(o.name)) return `it holds two objects named ${o.name}`;
    byName.set(o.name, o);
  }
  // Tables first, then indexes and views: a missing table or column is the most telling.
  for (const type of ['table', 'index', 'view']) {
    const ofType = want.filter((w) => w.type === type);
    for (const w of ofType) if (!byName.has(w.name)) return `${w.type} ${w.name} is missing`;
    const p = definitionProblem(ofType, byName, columnsOf, wantColumns);
    if (p) return p;
  }
  const roots = new Map<number, string>();
  for (const o of have) {
    const btree = o.type === 'table' || o.type === 'index';
    if (!btree) {
      if (o.rootpage !== 0) return `view ${o.name} has a root page`;
      continue;
    }
    if (!Number.isSafeInteger(o.rootpage) || o.rootpage < 1) return `${o.type} ${o.name} has no valid root page`;
    const other = roots.get(o.rootpage);
    if (other) return `${o.name} and ${other} share their root page`;
    roots.set(o.rootpage, o.name);
  }
  return null;
}

/** The first of `want` whose definition in the file (`have`) is not tcptop's, or null. */
function definitionProblem(want: readonly SchemaObject[], have: Map<string, SchemaObject>, columnsOf: (table: string) => string[],
  wantColumns: Record<string, string[]>): string | null {
  for (const w of want) {
    const o = have.get(w.name)!;
    if (o.tbl_name === w.tbl_name && o.sql !== null && w.sql !== null && normalizeSql(o.sql) === normalizeSql(w.sql)) continue;
    if (w.type === 'table') {
      const cols = columnsOf(w.name);
      const need = wantColumns[w.name] ?? [];
      const gone = need.find((c) => !cols.includes(c));
      if (gone) return `column ${w.name}.${gone} is missing`;
      const extra = cols.find((c) => !need.includes(c));
      if (extra) return `table ${w.name} has a column tcptop does not write: ${shown(extra)}`;
    }
    return `${w.type} ${w.name} is not defined as tcptop defines it`;
  }
  return null;
}
