// Opens a capture for reading, refusing anything that is not one this version understands, and reads
// frames in sequence order (never by the wall clock, which can step).
import Database from 'better-sqlite3';
import * as fs from 'node:fs';
import * as nodePath from 'node:path';
import { CaptureError, describeErrno } from '../errors';
import { grown } from './grow';
import { MAX_WALL_US, rowsToMeta, type CaptureMeta } from './meta';
import {
  ALTERED, APPLICATION_ID, FLOW_BITS, frameParams, PACKED_FLOWS, SAMPLES_OF_FRAMES, SCHEMA_VERSION, schemaProblem, tablesOf,
  type SchemaObject,
} from './schema';
import type { Flow, FlowBytes, Frame, Sample } from './types';

export interface Span {
  frames: number;
  firstSeq: number;
  lastSeq: number;
  first: Frame;
  last: Frame;
}

export interface Totals {
  frames: number;
  flows: number;
  rxBytes: number;
  txBytes: number;
  lost: { events: number; rxBytes: number; txBytes: number };
}

/** One frame's samples as columns, reused frame after frame so reading allocates nothing per sample. */
export class SampleColumns {
  count = 0;
  flow = new Float64Array(1024);
  rx = new Float64Array(1024);
  tx = new Float64Array(1024);

  push(flow: number, rx: number, tx: number): void {
    if (this.count === this.flow.length) {
      this.flow = grown(this.flow, this.count * 2);
      this.rx = grown(this.rx, this.count * 2);
      this.tx = grown(this.tx, this.count * 2);
    }
    this.flow[this.count] = flow;
    this.rx[this.count] = rx;
    this.tx[this.count] = tx;
    this.count++;
  }
}

/** What SQLite's own complaints about a file mean, and what to do. */
const CORRUPT = 'the file is truncated or corrupt; use an undamaged copy';

/** A damaged value found while reading: the reader adds the file's name and what to do. */
class Damage extends Error {}

const FRAME_COLUMNS = `seq, wall_us, mono_us, interval_us, load1, load5, load15, running, tasks, last_pid, loadavg,
  lost_events, lost_rx_bytes, lost_tx_bytes`;

type Row = Record<string, unknown>;

export class CaptureReader {
  readonly meta: CaptureMeta;
  private readonly flowCache = new Map<number, Flow>();
  private readonly stmts: Record<string, Database.Statement> = {};
  private collectInto: SampleColumns | null = null;
  private collectSeq = 0;
  private collectLast = -1;
  private scratch: SampleColumns | null = null;
  /** The file's format version (PRAGMA user_version): 1 has no cgroups and no names. */
  readonly version: number;
  private cgroupRows: Map<number, string | null> | null = null;
  private nameMap: Map<string, string> | null = null;
  /** What refreshLookups saw of the cgroup and name tables. */
  private lookupsMark: string | null = null;

  private constructor(readonly path: string, private readonly db: Database.Database) {
    // Defined up front: better-sqlite3 refuses to define a function while a statement (frames()) is being iterated.
    db.function('tcptop_collect', { deterministic: false }, (flow: unknown, rx: unknown, tx: unknown) => {
      const id = checkedInt(flow, 'flow id');
      // Both sample tables are read by their keys, so a frame's flows come in increasing order: one that does
      // not is there twice.
      if (id <= this.collectLast) throw new Damage(`frame ${this.collectSeq} holds flow ${id} twice`);
      this.collectLast = id;
      this.collectInto!.push(id, checkedBytes(rx), checkedBytes(tx));
      return null;
    });
    this.version = Number(db.pragma('user_version', { simple: true }));
    this.meta = this.guard(() => {
      const problem = checkSchema(db, this.version);
      if (problem) throw new CaptureError(path, `damaged capture: ${problem} (${ALTERED})`);
      const rows = rowLimit(path);
      checkFrames(db, rows);
      checkSampleFrames(db, rows);
      return readMeta(db);
    });
  }

  /** Opens and validates; every way a file can fail to be a capture becomes one CaptureError naming it. */
  static open(path: string): CaptureReader {
    checkFile(path);
    let db: Database.Database;
    try {
      db = new Database(path, { readonly: true, fileMustExist: true });
    } catch (err) {
      throw new CaptureError(path, `cannot open: ${(err as Error).message}`);
    }
    try {
      // The file may come from anyone: SQLite's defensive mode (better-sqlite3's default, asserted here) and no
      // trust in its schema, so that nothing in it can call functions with side effects. The schema is then
      // checked to be exactly tcptop's before anything else is read (checkSchema).
      db.unsafeMode(false);
      db.pragma('trusted_schema = OFF');
      // Cells that overrun their page are reported as corruption before they are read.
      db.pragma('cell_size_check = ON');
      // Readers go through a capture front to back, so pages already read are rarely read again: a small page
      // cache (SQLite's own default; better-sqlite3 sets 16 MB) keeps memory the same for a short capture and a long one.
      db.pragma('cache_size = -2000');
    } catch (err) {
      db.close();
      // A pragma that reads the file (it loads the schema) found it damaged.
      throw new CaptureError(path, `damaged capture: ${(err as Error).message.replace(/\.$/, '')} (${CORRUPT})`);
    }
    try {
      return new CaptureReader(path, db);
    } catch (err) {
      db.close();
      throw err;
    }
  }

  close(): void {
    this.db.close();
  }

  /** First and last frame, or null for a capture with no frames yet. */
  span(): Span | null {
    return this.guard(() => {
      const r = this.stmt('span', `SELECT (SELECT count(*) FROM (SELECT seq FROM frame LIMIT @rows)) AS n,
        (SELECT min(seq) FROM frame) AS lo, (SELECT max(seq) FROM frame) AS hi`).get({ rows: rowLimit(this.path) }) as Row;
      if (!r.n) return null;
      const first = this.frame(Number(r.lo));
      const last = this.frame(Number(r.hi));
      if (!first || !last) throw new Damage('the frame table and its index disagree');
      return { frames: Number(r.n), firstSeq: first.seq, lastSeq: last.seq, first, last };
    });
  }

  /** The newest frame's seq now: a capture being recorded grows while it is read (WAL readers see each commit). */
  lastSeq(): number | null {
    return this.guard(() => {
      const v = this.stmt('lastSeq', 'SELECT max(seq) FROM frame').pluck().get();
      return v === null || v === undefined ? null : Number(v);
    });
  }

  /** Whether the recorder has finished cleanly, read afresh (meta is read once at open). */
  endedCleanly(): boolean {
    return this.guard(() => this.stmt('ended', "SELECT value FROM meta WHERE key = 'ended_cleanly'").pluck().get() === '1');
  }

  frame(seq: number): Frame | null {
    return this.guard(() => {
      const r = this.stmt('frame', `SELECT ${FRAME_COLUMNS} FROM frame WHERE seq = ?`).get(seq) as Row | undefined;
      return r ? toFrame(r) : null;
    });
  }

  /** Frames with fromSeq <= seq <= toSeq in sequence order; checks that monotonic time never goes back. */
  *frames(fromSeq: number, toSeq: number): Generator<Frame> {
    const it = this.guard(() =>
      this.stmt('frames', `SELECT ${FRAME_COLUMNS} FROM frame WHERE seq BETWEEN ? AND ? ORDER BY seq`).iterate(fromSeq, toSeq),
    ) as IterableIterator<Row>;
    let prev: Frame | null = null;
    try {
      for (;;) {
        const next = this.guard(() => {
          const n = it.next();
          if (n.done) return null;
          const f = toFrame(n.value);
          if (prev && f.monoUs <= prev.monoUs) throw new Damage(`frames out of order: frame ${f.seq} is not later than frame ${prev.seq}`);
          return f;
        });
        if (!next) return;
        prev = next;
        yield next;
      }
    } finally {
      // A consumer that stops early must release the statement, or the connection stays busy.
      it.return?.();
    }
  }

  /** The first frame whose seq/time is at or after `us` (wall clock or monotonic), or null. */
  seqAtOrAfter(clock: 'wall' | 'mono', us: number): number | null {
    const col = clock === 'wall' ? 'wall_us' : 'mono_us';
    return this.seqQuery(clock, 'after', `SELECT min(seq) AS s FROM (SELECT seq FROM frame WHERE ${col} >= @us AND +${col} >= @us LIMIT @rows)`, us);
  }

  /** The last frame whose time is at or before `us`, or null. */
  seqAtOrBefore(clock: 'wall' | 'mono', us: number): number | null {
    const col = clock === 'wall' ? 'wall_us' : 'mono_us';
    return this.seqQuery(clock, 'before', `SELECT max(seq) AS s FROM (SELECT seq FROM frame WHERE ${col} <= @us AND +${col} <= @us LIMIT @rows)`, us);
  }

  /** The bytes of every flow in one frame, flows resolved. */
  flowBytes(seq: number): FlowBytes[] {
    return this.samples(seq).map((s) => {
      const f = this.flow(s.flow);
      const out: FlowBytes = { pid: f.pid, comm: f.comm, family: f.family, laddr: f.laddr, lport: f.lport, raddr: f.raddr, rport: f.rport,
        rxBytes: s.rxBytes, txBytes: s.txBytes };
      if (f.cgroupPath !== undefined) out.cgroupPath = f.cgroupPath;
      if (f.name !== undefined) out.name = f.name;
      return out;
    });
  }

  /** The samples of frame `seq`, checked as readFrameSamples checks them (it reads them). */
  samples(seq: number): Sample[] {
    const cols = (this.scratch ??= new SampleColumns());
    const n = this.readFrameSamples(seq, cols);
    const out: Sample[] = new Array(n);
    for (let i = 0; i < n; i++) out[i] = { flow: cols.flow[i], rxBytes: cols.rx[i], txBytes: cols.tx[i] };
    return out;
  }

  /**
   * Reads the samples of frame `seq` into `into`, replacing what it held, and returns their count. SQLite hands
   * each sample to a function instead of building a row for it, which makes this several times faster than
   * samples(): the path for aggregating millions of samples a frame at a time, with memory set by one frame.
   */
  readFrameSamples(seq: number, into: SampleColumns): number {
    into.count = 0;
    this.collectInto = into;
    this.collectSeq = seq;
    this.collectLast = -1;
    return this.guard(() => {
      this.stmt('collect', `SELECT count(tcptop_collect(flow, rx_bytes, tx_bytes)) FROM (${SAMPLES_OF_FRAMES})`).pluck().get(frameParams(seq, seq));
      return into.count;
    });
  }

  flow(id: number): Flow {
    let f = this.flowCache.get(id);
    if (!f) {
      f = this.guard(() => {
        const cols = this.version >= 2 ? ', cgroup' : '';
        const r = this.stmt('flow', `SELECT id, pid, comm, family, laddr, lport, raddr, rport${cols} FROM flow WHERE id = ?`).get(id) as Row | undefined;
        if (!r) throw new Damage(`a sample refers to flow ${id}, which is missing`);
        const flow = toFlow(r);
        if (this.version >= 2) {
          const cg = checkedCount(r.cgroup, `flow ${flow.id} cgroup`, Number.MAX_SAFE_INTEGER);
          flow.cgroup = cg;
          if (cg !== 0) flow.cgroupPath = this.cgroupText(cg);
          const name = this.names().get(flow.raddr);
          if (name !== undefined) flow.name = name;
        }
        return flow;
      });
      this.flowCache.set(id, f);
    }
    return f;
  }

  /**
   * What a cgroup id stands for: its path under the cgroup2 mount, `cgroup ID (gone)` when it was removed before
   * the recorder looked it up, `cgroup ID` when the capture does not say.
   */
  cgroupText(id: number): string {
    const path = this.cgroupPath(id);
    return path === undefined ? `cgroup ${id}` : path === null ? `cgroup ${id} (gone)` : path;
  }

  /** A cgroup's path as recorded: null when it was gone, undefined when the capture has no row for it. */
  cgroupPath(id: number): string | null | undefined {
    if (!this.cgroupRows) {
      const rows = new Map<number, string | null>();
      if (this.version >= 2) {
        this.guard(() => {
          const all = this.stmt('cgroups', 'SELECT id, path, gone FROM cgroup LIMIT @rows').all({ rows: rowLimit(this.path) }) as Row[];
          for (const r of all) {
            const cid = checkedCount(r.id, 'cgroup id', Number.MAX_SAFE_INTEGER);
            rows.set(cid, r.gone === 1 || r.path === null ? null : checkedText(r.path, `cgroup ${cid} path`, MAX_PATH));
          }
        });
      }
      this.cgroupRows = rows;
    }
    return this.cgroupRows.get(id);
  }

  /**
   * Reads the cgroup and name tables again when a recorder has added to them since the last call (a capture being
   * recorded): the flows read before get their cgroup path and name too. Returns whether anything changed.
   */
  refreshLookups(): boolean {
    if (this.version < 2) return false;
    const mark = this.guard(() => JSON.stringify(this.stmt('lookups', `SELECT (SELECT count(*) FROM cgroup) AS c,
      (SELECT count(*) FROM name) AS n, (SELECT max(looked_up_us) FROM name) AS t`).raw().get()));
    if (mark === this.lookupsMark) return false;
    this.lookupsMark = mark;
    this.cgroupRows = null;
    this.nameMap = null;
    for (const f of this.flowCache.values()) {
      if (f.cgroup) f.cgroupPath = this.cgroupText(f.cgroup);
      const name = this.names().get(f.raddr);
      if (name === undefined) delete f.name;
      else f.name = name;
    }
    return true;
  }

  /** The names of remote addresses the recorder looked up, by address (none in a version 1 capture). */
  names(): Map<string, string> {
    if (!this.nameMap) this.nameMap = new Map(this.nameRows().map((r) => [r.addr, r.name]));
    return this.nameMap;
  }

  /** The name table's rows: each address's name and when it was looked up (none in a version 1 capture). */
  nameRows(): { addr: string; name: string; lookedUpUs: number }[] {
    if (this.version < 2) return [];
    return this.guard(() => {
      const rows = this.stmt('names', 'SELECT addr, name, looked_up_us FROM name LIMIT @rows').all({ rows: rowLimit(this.path) }) as Row[];
      return rows.map((r) => {
        const addr = checkedText(r.addr, 'a named address', MAX_NAME);
        return { addr, name: checkedText(r.name, `the name of ${addr}`, MAX_PATH), lookedUpUs: checkedCount(r.looked_up_us, `the lookup time of ${addr}`, MAX_WALL_US) };
      });
    });
  }

  /** Sums over frames fromSeq..toSeq, computed by SQLite. */
  totals(fromSeq: number, toSeq: number): Totals {
    return this.guard(() => {
      const rows = rowLimit(this.path);
      const params = { ...frameParams(fromSeq, toSeq), rows };
      // One pass over the samples sums them and checks them: byte counts must be non-negative integers.
      const s = this.stmt('totals', `SELECT count(*) AS n, count(DISTINCT flow) AS flows, coalesce(sum(rx_bytes), 0) AS rx,
        coalesce(sum(tx_bytes), 0) AS tx,
        coalesce(sum(typeof(rx_bytes) != 'integer' OR typeof(tx_bytes) != 'integer' OR rx_bytes < 0 OR tx_bytes < 0), 0) AS bad
        FROM (${SAMPLES_OF_FRAMES} LIMIT @rows)`).get(params) as Row;
      if (Number(s.n) >= rows) throw new Damage(tooManyRows);
      if (Number(s.bad) > 0) throw new Damage(`${Number(s.bad)} samples have a negative or non-integer byte count`);
      // Flows past 2^20 alone go to sample_wide, once a frame each; its rows are rare, so checking them costs little.
      const wide = this.stmt('wide', `SELECT frame, flow FROM (SELECT frame, flow FROM sample_wide WHERE frame BETWEEN @from AND @to LIMIT @rows)
        GROUP BY frame, flow HAVING count(*) > 1 OR typeof(flow) != 'integer' OR flow < ${PACKED_FLOWS} LIMIT 1`).get(params) as Row | undefined;
      if (wide) throw new Damage(`frame ${describe(wide.frame)} holds flow ${describe(wide.flow)} twice, or in the wrong table`);
      const orphan = this.stmt('orphans', `SELECT d.flow FROM (SELECT DISTINCT flow FROM (${SAMPLES_OF_FRAMES} LIMIT @rows)) d
        LEFT JOIN flow f ON f.id = d.flow WHERE f.id IS NULL LIMIT 1`).get(params) as Row | undefined;
      if (orphan) throw new Damage(`a sample refers to flow ${String(orphan.flow)}, which is missing`);
      const f = this.stmt('frameTotals', `SELECT count(*) AS n, coalesce(sum(lost_events), 0) AS e, coalesce(sum(lost_rx_bytes), 0) AS r,
        coalesce(sum(lost_tx_bytes), 0) AS t FROM (SELECT * FROM frame WHERE seq BETWEEN @from AND @to LIMIT @rows)`).get(params) as Row;
      if (Number(f.n) >= rows) throw new Damage(tooManyRows);
      return {
        frames: Number(f.n),
        flows: Number(s.flows),
        rxBytes: checkedBytes(s.rx),
        txBytes: checkedBytes(s.tx),
        lost: { events: checkedBytes(f.e), rxBytes: checkedBytes(f.r), txBytes: checkedBytes(f.t) },
      };
    });
  }

  /**
   * A frame found through the index on its time. SQLite trusts an index to be in order and checks only the far end
   * of a range, so the condition is tested again on each entry (`+col` is not answered by the index), and the frame
   * found is checked against the table.
   */
  private seqQuery(clock: 'wall' | 'mono', side: 'after' | 'before', sql: string, us: number): number | null {
    return this.guard(() => {
      const r = this.stmt(`${side}_${clock}`, sql).get({ us, rows: rowLimit(this.path) }) as Row;
      if (r.s === null) return null;
      const seq = checkedInt(r.s, 'frame seq');
      const f = this.frame(seq);
      const t = f === null ? null : clock === 'wall' ? f.wallUs : f.monoUs;
      if (t === null || (side === 'after' ? t < us : t > us)) throw new Damage('the frame table and its index disagree');
      return seq;
    });
  }


  private stmt(name: string, sql: string): Database.Statement {
    let s = this.stmts[name];
    if (!s) s = this.stmts[name] = this.db.prepare(sql);
    return s;
  }

  private damaged(problem: string, remedy = 'use an undamaged copy'): CaptureError {
    return new CaptureError(this.path, `damaged capture: ${problem} (${remedy})`);
  }

  /** Runs a read; SQLite's own complaints and damaged values become one CaptureError naming the file. */
  private guard<T>(read: () => T): T {
    try {
      return read();
    } catch (err) {
      if (err instanceof Damage) throw this.damaged(err.message);
      if (err instanceof CaptureError) throw err;
      if (err instanceof Database.SqliteError || err instanceof RangeError) {
        throw this.damaged(err.message.replace(/\.$/, ''), CORRUPT);
      }
      throw err;
    }
  }

  /**
   * Bytes received (`rx`) or sent (`tx`) per series and per step of `framesPerStep` frames over frames
   * fromSeq..toSeq, as [series, step, bytes] ordered by series then step; step = (seq - fromSeq) / framesPerStep.
   * `seriesOf` gives each flow's series. SQLite sums and sorts (a temp table maps flow to series), so memory
   * stays that of one row whatever the capture's size.
   */
  *seriesSteps(fromSeq: number, toSeq: number, framesPerStep: number, column: 'rx' | 'tx', seriesOf: (f: Flow) => number): Generator<[number, number, number]> {
    this.guard(() => {
      this.db.function('tcptop_series', { deterministic: false, varargs: true }, (...r: unknown[]) =>
        seriesOf(toFlow({ id: r[0], pid: r[1], comm: r[2], family: r[3], laddr: r[4], lport: r[5], raddr: r[6], rport: r[7] })));
      this.db.exec('CREATE TEMP TABLE IF NOT EXISTS tcptop_flow_series (flow INTEGER PRIMARY KEY, series INTEGER NOT NULL); DELETE FROM temp.tcptop_flow_series');
      this.db.exec('INSERT INTO temp.tcptop_flow_series SELECT id, tcptop_series(id, pid, comm, family, laddr, lport, raddr, rport) FROM flow');
    });
    // The packed key is frame << 20 | flow (schema.ts); both tables are read by their primary key.
    const it = this.guard(() => this.stmt(`seriesSteps_${column}`, `SELECT m.series AS series, CAST(s.frame - @from AS INTEGER) / CAST(@k AS INTEGER) AS step,
        sum(s.b) AS bytes, sum(typeof(s.b) != 'integer' OR s.b < 0) AS bad, min(s.flow) AS flow
      FROM (SELECT key >> 20 AS frame, key & 1048575 AS flow, ${column}_bytes AS b FROM sample_packed WHERE key BETWEEN @lo AND @hi
        UNION ALL SELECT frame, flow, ${column}_bytes FROM sample_wide WHERE frame BETWEEN @from AND @to) s
      LEFT JOIN temp.tcptop_flow_series m ON m.flow = s.flow
      GROUP BY m.series, step ORDER BY m.series, step`).raw(true).iterate({ ...frameParams(fromSeq, toSeq), k: framesPerStep })) as IterableIterator<unknown[]>;
    try {
      for (;;) {
        const row = this.guard(() => {
          const n = it.next();
          if (n.done) return null;
          const [series, step, bytes, bad, flow] = n.value;
          if (series === null) throw new Damage(`a sample refers to flow ${String(flow)}, which is missing`);
          if (Number(bad) > 0) throw new Damage(`${Number(bad)} samples have a negative or non-integer byte count`);
          return [checkedInt(series, 'series'), checkedInt(step, 'step'), checkedBytes(bytes)] as [number, number, number];
        });
        if (!row) return;
        yield row;
      }
    } finally {
      it.return?.();
    }
  }
}

/** Checks what can be checked before SQLite sees the file, for clear messages on the common mistakes. */
function checkFile(path: string): void {
  let st: fs.Stats;
  try {
    st = fs.statSync(path);
  } catch (err) {
    throw new CaptureError(path, `cannot open: ${describeErrno(err)}`);
  }
  if (st.isDirectory()) throw new CaptureError(path, 'is a directory, not a capture file');
  if (!st.isFile()) throw new CaptureError(path, 'is not a regular file');
  if (st.size === 0) throw new CaptureError(path, 'is empty, not a tcptop capture');
  const head = Buffer.alloc(100);
  let n: number;
  try {
    const fd = fs.openSync(path, 'r');
    try {
      n = fs.readSync(fd, head, 0, 100, 0);
    } finally {
      fs.closeSync(fd);
    }
  } catch (err) {
    throw new CaptureError(path, `cannot read: ${describeErrno(err)}`);
  }
  if (n < 100 || head.toString('latin1', 0, 16) !== 'SQLite format 3\0') {
    throw new CaptureError(path, 'not a tcptop capture (not an SQLite database)');
  }
  if (head.readInt32BE(68) !== APPLICATION_ID) {
    throw new CaptureError(path, 'not a tcptop capture (an SQLite database of another application)');
  }
  const version = head.readInt32BE(60);
  if (version > SCHEMA_VERSION) {
    throw new CaptureError(path, `capture format version ${version} is newer than this tcptop reads (${SCHEMA_VERSION}): upgrade tcptop`);
  }
  if (version < 1) throw new CaptureError(path, `damaged capture: unknown format version ${version} (use an undamaged copy)`);
  const rawPageSize = head.readUInt16BE(16);
  const pageSize = rawPageSize === 1 ? 65536 : rawPageSize;
  const pages = head.readUInt32BE(28);
  // The page count in the header is valid only when its version-valid-for number matches the change counter.
  const countValid = head.readUInt32BE(92) === head.readUInt32BE(24);
  if (countValid && pages * pageSize > st.size) {
    const problem = shortFileProblem(path, st.size, pages * pageSize, head[18] === 2, walSize(`${path}-wal`));
    if (problem) throw new CaptureError(path, problem);
  }
}

function walSize(wal: string): number | null {
  try {
    return fs.statSync(wal).size;
  } catch {
    return null;
  }
}

/**
 * What is wrong with a file shorter than its header says, or null when nothing is. In WAL mode the newest pages
 * may still be in FILE-wal (a checkpoint cut short by a full disk leaves the file shorter than its header says):
 * SQLite reads them from there, if it is beside the file. A copy of the file alone is then incomplete, and
 * copying the same file again would not help.
 */
export function shortFileProblem(path: string, size: number, headerSize: number, walMode: boolean, walBytes: number | null): string | null {
  if (!walMode) return `truncated capture: ${size} of ${headerSize} bytes (copy the whole file again)`;
  if (walBytes !== null && walBytes > 0) return null;
  const name = nodePath.basename(path);
  const where = walBytes === null ? 'which is not beside it' : 'which is empty here';
  return `incomplete capture: ${size} of ${headerSize} bytes; the rest is in ${name}-wal, ${where} (copy ${name} and ${name}-wal `
    + `together, or run 'tcptop export ${name} -o OUT.db' where both are, for one self-contained file)`;
}

/** The format's objects as tcptop creates them, read from a database made by TABLES: what a capture must hold. */
const formatSchemas = new Map<number, { objects: SchemaObject[]; columns: Record<string, string[]> }>();

const SCHEMA_QUERY = 'SELECT type, name, tbl_name, rootpage, sql FROM sqlite_schema ORDER BY rowid LIMIT 100';

function columnsOf(db: Database.Database, table: string): string[] {
  return (db.pragma(`table_xinfo(${JSON.stringify(table)})`) as { name: string }[]).map((c) => c.name);
}

/** What differs between the file's schema and the format's, or null: see schemaProblem. Reads no table. */
function checkSchema(db: Database.Database, version: number): string | null {
  let formatSchema = formatSchemas.get(version);
  const tables = tablesOf(version);
  if (tables === null) return `unknown format version ${version}`;
  if (!formatSchema) {
    const mem = new Database(':memory:');
    try {
      mem.exec(tables);
      const objects = mem.prepare(SCHEMA_QUERY).all() as SchemaObject[];
      const columns: Record<string, string[]> = {};
      for (const o of objects) if (o.type === 'table') columns[o.name] = columnsOf(mem, o.name);
      formatSchema = { objects, columns };
      formatSchemas.set(version, formatSchema);
    } finally {
      mem.close();
    }
  }
  const have = db.prepare(SCHEMA_QUERY).all() as SchemaObject[];
  for (const o of have) if (typeof o.name !== 'string' || typeof o.type !== 'string') return 'its schema names an object by a value that is not text';
  return schemaProblem(have, formatSchema.objects, (t) => columnsOf(db, t), formatSchema.columns);
}

/** The metadata rows, each key once, keys and values text. */
function readMeta(db: Database.Database): CaptureMeta {
  // no prototype: a key named __proto__ is a key like any other
  const rows = Object.create(null) as Record<string, string>;
  // Iterated, not read whole: a key met twice ends the read (a b-tree whose pages repeat would never end).
  for (const r of db.prepare('SELECT key, value FROM meta').iterate() as IterableIterator<{ key: unknown; value: unknown }>) {
    if (typeof r.key !== 'string') throw new Damage(`a metadata key is not text (${describe(r.key)})`);
    if (typeof r.value !== 'string') throw new Damage(`metadata key ${r.key} is not text (${describe(r.value)})`);
    if (Object.hasOwn(rows, r.key)) throw new Damage(`metadata key ${r.key} appears twice`);
    rows[r.key] = r.value;
  }
  try {
    return rowsToMeta(rows);
  } catch (err) {
    throw new Damage((err as Error).message);
  }
}

const SAFE = Number.MAX_SAFE_INTEGER;

/**
 * More rows than a file (with its WAL) can hold: a row takes at least 6 bytes of a page (a 2-byte pointer and a
 * cell of at least 4). A b-tree whose pages are linked from several places would otherwise make a scan visit the
 * same rows again and again without end. Queries that scan whole tables in SQL stop at this many rows; the rest
 * read rows in key order and stop at the first key that does not increase.
 */
function rowLimit(path: string): number {
  const size = (p: string) => {
    try {
      return fs.statSync(p).size;
    } catch {
      return 0;
    }
  };
  return Math.floor((size(path) + size(`${path}-wal`)) / 6) + 1000;
}

const tooManyRows = 'a table has more rows than the file can hold (its pages are linked more than once)';
/** The longest texts tcptop writes in a flow (a process name has at most 15 bytes, an address 45 characters) and a frame. */
const MAX_NAME = 64;
/** The longest cgroup path or host name read (a path under the cgroup2 mount is at most PATH_MAX). */
const MAX_PATH = 4096;
const MAX_LOADAVG = 256;

const intIn = (col: string, min: number, max: number) => `(typeof(${col}) = 'integer' AND ${col} BETWEEN ${min} AND ${max})`;
/** A frame as tcptop writes it, as SQL: the same checks as toFrame, for all frames at once. */
const FRAME_VALID = [
  intIn('seq', 0, SAFE), intIn('wall_us', 0, MAX_WALL_US), intIn('mono_us', 0, SAFE), intIn('interval_us', 1, SAFE),
  ...['load1', 'load5', 'load15'].map((c) => `(typeof(${c}) IN ('integer', 'real') AND ${c} BETWEEN 0 AND 1e15)`),
  ...['running', 'tasks', 'last_pid', 'lost_events', 'lost_rx_bytes', 'lost_tx_bytes'].map((c) => intIn(c, 0, SAFE)),
  `(typeof(loadavg) = 'text' AND length(loadavg) <= ${MAX_LOADAVG})`,
].join(' AND ');

/** Frames are few (one per interval), so they are all checked on open: every value, then their order. */
function checkFrames(db: Database.Database, rows: number): void {
  const n = db.prepare('SELECT count(*) FROM (SELECT seq FROM frame LIMIT ?)').pluck().get(rows) as number;
  if (n >= rows) throw new Damage(tooManyRows);
  const frames = `(SELECT * FROM frame ORDER BY seq LIMIT ${rows})`;
  const bad = db.prepare(`SELECT ${FRAME_COLUMNS} FROM ${frames} WHERE NOT (${FRAME_VALID}) LIMIT 1`).get() as Row | undefined;
  if (bad) {
    toFrame(bad); // names the value
    throw new Damage(`frame ${describe(bad.seq)} has an invalid value`);
  }
  const disorder = db.prepare(`SELECT seq, prev_seq FROM (SELECT seq, mono_us, lag(mono_us) OVER (ORDER BY seq) AS prev,
      lag(seq) OVER (ORDER BY seq) AS prev_seq FROM ${frames}) WHERE mono_us <= prev LIMIT 1`).get() as Row | undefined;
  if (disorder) throw new Damage(`frames out of order: frame ${String(disorder.seq)} is not later than frame ${String(disorder.prev_seq)}`);
}

/**
 * Every sample belongs to a frame: a sample of a frame that is not there would count in info's totals and in no
 * view. Checked by the keys alone: the lowest and highest frame sampled, and the gaps between frames.
 */
function checkSampleFrames(db: Database.Database, rows: number): void {
  const r = db.prepare(`SELECT (SELECT min(seq) FROM frame) AS lo, (SELECT max(seq) FROM frame) AS hi,
      (SELECT min(key) >> ${FLOW_BITS} FROM sample_packed) AS plo, (SELECT max(key) >> ${FLOW_BITS} FROM sample_packed) AS phi,
      (SELECT min(frame) FROM sample_wide) AS wlo, (SELECT max(frame) FROM sample_wide) AS whi`).get() as Row;
  const lo = r.lo as number | null;
  const hi = r.hi as number | null;
  for (const v of [r.plo, r.phi, r.wlo, r.whi]) {
    if (v === null) continue;
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || lo === null || hi === null || v < lo || v > hi) {
      throw new Damage(`samples of frame ${describe(v)}, which is missing`);
    }
  }
  const gap = db.prepare(`SELECT g.seq, g.next FROM (SELECT seq, lead(seq) OVER (ORDER BY seq) AS next FROM (SELECT seq FROM frame LIMIT @rows)) g
      WHERE g.next > g.seq + 1 AND (EXISTS (SELECT 1 FROM sample_packed WHERE key BETWEEN (g.seq + 1) << ${FLOW_BITS} AND (g.next << ${FLOW_BITS}) - 1)
        OR EXISTS (SELECT 1 FROM sample_wide WHERE frame > g.seq AND frame < g.next)) LIMIT 1`).get({ rows }) as Row | undefined;
  if (gap) throw new Damage(`samples of a frame between frames ${String(gap.seq)} and ${String(gap.next)}, which is missing`);
}

/** A value from the file, for a message: what it is rather than all of it. */
function describe(v: unknown): string {
  if (v === null || v === undefined) return 'NULL';
  if (Buffer.isBuffer(v)) return `a BLOB of ${v.length} bytes`;
  if (typeof v === 'string') return v.length > 40 ? `text of ${v.length} characters` : `'${v}'`;
  return String(v);
}

function checkedInt(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw new Damage(`${what} is not an integer: ${describe(v)}`);
  return v;
}

function checkedBytes(v: unknown): number {
  const n = checkedInt(v, 'byte count');
  if (n < 0) throw new Damage(`negative byte count: ${n}`);
  return n;
}

function checkedCount(v: unknown, what: string, max = SAFE): number {
  const n = checkedInt(v, what);
  if (n < 0 || n > max) throw new Damage(`${what} is out of range: ${n}`);
  return n;
}

function checkedText(v: unknown, what: string, max: number): string {
  if (typeof v !== 'string') throw new Damage(`${what} is not text: ${describe(v)}`);
  if (v.length > max) throw new Damage(`${what} is ${v.length} characters long (tcptop writes at most ${max})`);
  return v;
}

function checkedLoad(v: unknown, what: string): number {
  if (typeof v !== 'number' || !(v >= 0 && v <= 1e15)) throw new Damage(`${what} is not a load average: ${describe(v)}`);
  return v;
}

function toFrame(r: Row): Frame {
  const seq = checkedInt(r.seq, 'frame seq');
  const wall = r.wall_us;
  if (typeof wall === 'number' && Number.isInteger(wall) && (wall < 0 || wall > MAX_WALL_US)) throw new Damage(`frame ${seq} has an impossible time`);
  const wallUs = checkedInt(wall, `frame ${seq} time`);
  const monoUs = checkedInt(r.mono_us, `frame ${seq} monotonic time`);
  if (monoUs < 0) throw new Damage(`frame ${seq} has an invalid monotonic time`);
  const intervalUs = checkedInt(r.interval_us, `frame ${seq} interval`);
  if (intervalUs <= 0) throw new Damage(`frame ${seq} has a non-positive interval`);
  const what = `frame ${seq} load average`;
  return {
    seq,
    wallUs,
    monoUs,
    intervalUs,
    loadavg: {
      load1: checkedLoad(r.load1, what),
      load5: checkedLoad(r.load5, what),
      load15: checkedLoad(r.load15, what),
      running: checkedCount(r.running, `${what} running`),
      tasks: checkedCount(r.tasks, `${what} tasks`),
      lastPid: checkedCount(r.last_pid, `${what} last pid`),
      raw: checkedText(r.loadavg, `${what} text`, MAX_LOADAVG),
    },
    lost: { events: checkedBytes(r.lost_events), rxBytes: checkedBytes(r.lost_rx_bytes), txBytes: checkedBytes(r.lost_tx_bytes) },
  };
}

function toFlow(r: Row): Flow {
  const id = checkedInt(r.id, 'flow id');
  const family = r.family;
  if (family !== 4 && family !== 6) throw new Damage(`flow ${id} has an unknown family ${describe(family)}`);
  return {
    id,
    pid: checkedCount(r.pid, `flow ${id} pid`, 2 ** 32 - 1),
    comm: checkedText(r.comm, `flow ${id} process name`, MAX_NAME),
    family,
    laddr: checkedText(r.laddr, `flow ${id} local address`, MAX_NAME),
    lport: checkedCount(r.lport, `flow ${id} port`, 65535),
    raddr: checkedText(r.raddr, `flow ${id} remote address`, MAX_NAME),
    rport: checkedCount(r.rport, `flow ${id} port`, 65535),
  };
}
