// The capture file's layout. docs/capture-format.md describes the same tables for people.

/** `PRAGMA application_id`: the bytes "tcpt", so `file(1)` and readers can tell a capture from other SQLite files. */
export const APPLICATION_ID = 0x74637074;

/** `PRAGMA user_version`: bumped on any change a reader of the previous version would misread. */
export const SCHEMA_VERSION = 1;

export const TABLES = `
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

/** Tables a reader needs, with the columns it reads: checked on open so a damaged file fails early and clearly. */
export const REQUIRED_COLUMNS: Record<string, string[]> = {
  meta: ['key', 'value'],
  frame: ['seq', 'wall_us', 'mono_us', 'interval_us', 'load1', 'load5', 'load15', 'running', 'tasks',
    'last_pid', 'loadavg', 'lost_events', 'lost_rx_bytes', 'lost_tx_bytes'],
  flow: ['id', 'pid', 'comm', 'family', 'laddr', 'lport', 'raddr', 'rport'],
  sample_packed: ['key', 'rx_bytes', 'tx_bytes'],
  sample_wide: ['frame', 'flow', 'rx_bytes', 'tx_bytes'],
};

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
