// Opens a capture for reading, refusing anything that is not one this version understands, and reads
// frames in sequence order (never by the wall clock, which can step).
import Database from 'better-sqlite3';
import * as fs from 'node:fs';
import { CaptureError, describeErrno } from '../errors';
import { MAX_WALL_US, rowsToMeta, type CaptureMeta } from './meta';
import { APPLICATION_ID, frameParams, REQUIRED_COLUMNS, SAMPLES_OF_FRAMES, SCHEMA_VERSION } from './schema';
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
      const grow = (a: Float64Array): Float64Array<ArrayBuffer> => {
        const b = new Float64Array(a.length * 2);
        b.set(a);
        return b;
      };
      this.flow = grow(this.flow);
      this.rx = grow(this.rx);
      this.tx = grow(this.tx);
    }
    this.flow[this.count] = flow;
    this.rx[this.count] = rx;
    this.tx[this.count] = tx;
    this.count++;
  }
}

/** A damaged value found while reading: the reader adds the file's name. */
class Damage extends Error {}

const FRAME_COLUMNS = `seq, wall_us, mono_us, interval_us, load1, load5, load15, running, tasks, last_pid, loadavg,
  lost_events, lost_rx_bytes, lost_tx_bytes`;

type Row = Record<string, unknown>;

export class CaptureReader {
  readonly meta: CaptureMeta;
  private readonly flowCache = new Map<number, Flow>();
  private readonly stmts: Record<string, Database.Statement> = {};
  private collectInto: SampleColumns | null = null;

  private constructor(readonly path: string, private readonly db: Database.Database) {
    // Defined up front: better-sqlite3 refuses to define a function while a statement (frames()) is being iterated.
    db.function('tcptop_collect', { deterministic: false }, (flow: unknown, rx: unknown, tx: unknown) => {
      this.collectInto!.push(checkedInt(flow, 'flow id'), checkedBytes(rx), checkedBytes(tx));
      return null;
    });
    this.meta = this.guard(() => {
      checkTables(db);
      checkFrames(db);
      const rows: Record<string, string> = {};
      for (const r of db.prepare('SELECT key, value FROM meta').all() as { key: unknown; value: unknown }[]) {
        rows[String(r.key)] = String(r.value);
      }
      try {
        return rowsToMeta(rows);
      } catch (err) {
        throw new Damage((err as Error).message);
      }
    });
  }

  /** Opens and validates; every way a file can fail to be a capture becomes one CaptureError naming it. */
  static open(path: string): CaptureReader {
    checkFile(path);
    let db: Database.Database;
    try {
      db = new Database(path, { readonly: true, fileMustExist: true });
      // Readers go through a capture front to back, so pages already read are rarely read again: a small page
      // cache (SQLite's own default; better-sqlite3 sets 16 MB) keeps memory the same for a short capture and a long one.
      db.pragma('cache_size = -2000');
    } catch (err) {
      throw new CaptureError(path, `cannot open: ${(err as Error).message}`);
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
      const r = this.stmt('span', 'SELECT count(*) AS n, min(seq) AS lo, max(seq) AS hi FROM frame').get() as Row;
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
    return this.seqQuery(`after_${clock}`, `SELECT min(seq) AS s FROM frame WHERE ${col} >= ?`, us);
  }

  /** The last frame whose time is at or before `us`, or null. */
  seqAtOrBefore(clock: 'wall' | 'mono', us: number): number | null {
    const col = clock === 'wall' ? 'wall_us' : 'mono_us';
    return this.seqQuery(`before_${clock}`, `SELECT max(seq) AS s FROM frame WHERE ${col} <= ?`, us);
  }

  /** The bytes of every flow in one frame, flows resolved. */
  flowBytes(seq: number): FlowBytes[] {
    return this.samples(seq).map((s) => {
      const f = this.flow(s.flow);
      return { pid: f.pid, comm: f.comm, family: f.family, laddr: f.laddr, lport: f.lport, raddr: f.raddr, rport: f.rport,
        rxBytes: s.rxBytes, txBytes: s.txBytes };
    });
  }

  samples(seq: number): Sample[] {
    return this.guard(() => {
      const rows = this.stmt('samples', SAMPLES_OF_FRAMES).raw(true).all(frameParams(seq, seq)) as unknown[][];
      return rows.map((r) => ({ flow: checkedInt(r[0], 'flow id'), rxBytes: checkedBytes(r[1]), txBytes: checkedBytes(r[2]) }));
    });
  }

  /**
   * Every sample of frames fromSeq..toSeq, in frame order, as raw [frame, flow, rx, tx] rows: the fast path for
   * aggregation, streamed so memory does not grow with the capture.
   */
  *sampleRows(fromSeq: number, toSeq: number): Generator<[number, number, number, number]> {
    // A frame at a time: each is one short rowid range, and memory stays that of one frame.
    for (const frame of this.frames(fromSeq, toSeq)) {
      for (const s of this.samples(frame.seq)) yield [frame.seq, s.flow, s.rxBytes, s.txBytes];
    }
  }

  /**
   * Reads the samples of frame `seq` into `into`, replacing what it held, and returns their count. SQLite hands
   * each sample to a function instead of building a row for it, which makes this several times faster than
   * sampleRows: the path for aggregating millions of samples a frame at a time, with memory set by one frame.
   */
  readFrameSamples(seq: number, into: SampleColumns): number {
    into.count = 0;
    this.collectInto = into;
    return this.guard(() => {
      this.stmt('collect', `SELECT count(tcptop_collect(flow, rx_bytes, tx_bytes)) FROM (${SAMPLES_OF_FRAMES})`).pluck().get(frameParams(seq, seq));
      return into.count;
    });
  }

  flow(id: number): Flow {
    let f = this.flowCache.get(id);
    if (!f) {
      f = this.guard(() => {
        const r = this.stmt('flow', 'SELECT id, pid, comm, family, laddr, lport, raddr, rport FROM flow WHERE id = ?').get(id) as Row | undefined;
        if (!r) throw new Damage(`a sample refers to flow ${id}, which is missing`);
        return toFlow(r);
      });
      this.flowCache.set(id, f);
    }
    return f;
  }

  /** Sums over frames fromSeq..toSeq, computed by SQLite. */
  totals(fromSeq: number, toSeq: number): Totals {
    return this.guard(() => {
      // One pass over the samples sums them and checks them: byte counts must be non-negative integers.
      const s = this.stmt('totals', `SELECT count(DISTINCT flow) AS flows, coalesce(sum(rx_bytes), 0) AS rx, coalesce(sum(tx_bytes), 0) AS tx,
        coalesce(sum(typeof(rx_bytes) != 'integer' OR typeof(tx_bytes) != 'integer' OR rx_bytes < 0 OR tx_bytes < 0), 0) AS bad
        FROM (${SAMPLES_OF_FRAMES})`).get(frameParams(fromSeq, toSeq)) as Row;
      if (Number(s.bad) > 0) throw new Damage(`${Number(s.bad)} samples have a negative or non-integer byte count`);
      const orphan = this.stmt('orphans', `SELECT d.flow FROM (SELECT DISTINCT flow FROM (${SAMPLES_OF_FRAMES})) d
        LEFT JOIN flow f ON f.id = d.flow WHERE f.id IS NULL LIMIT 1`).get(frameParams(fromSeq, toSeq)) as Row | undefined;
      if (orphan) throw new Damage(`a sample refers to flow ${String(orphan.flow)}, which is missing`);
      const f = this.stmt('frameTotals', `SELECT count(*) AS n, coalesce(sum(lost_events), 0) AS e, coalesce(sum(lost_rx_bytes), 0) AS r,
        coalesce(sum(lost_tx_bytes), 0) AS t FROM frame WHERE seq BETWEEN ? AND ?`).get(fromSeq, toSeq) as Row;
      return {
        frames: Number(f.n),
        flows: Number(s.flows),
        rxBytes: checkedBytes(s.rx),
        txBytes: checkedBytes(s.tx),
        lost: { events: checkedBytes(f.e), rxBytes: checkedBytes(f.r), txBytes: checkedBytes(f.t) },
      };
    });
  }

  private seqQuery(name: string, sql: string, us: number): number | null {
    return this.guard(() => {
      const r = this.stmt(name, sql).get(us) as Row;
      return r.s === null ? null : Number(r.s);
    });
  }

  private stmt(name: string, sql: string): Database.Statement {
    let s = this.stmts[name];
    if (!s) s = this.stmts[name] = this.db.prepare(sql);
    return s;
  }

  private damaged(problem: string): CaptureError {
    return new CaptureError(this.path, `damaged capture: ${problem}`);
  }

  /** Runs a read; SQLite's own complaints and damaged values become one CaptureError naming the file. */
  private guard<T>(read: () => T): T {
    try {
      return read();
    } catch (err) {
      if (err instanceof Damage) throw this.damaged(err.message);
      if (err instanceof Database.SqliteError || err instanceof RangeError) {
        throw this.damaged(`${err.message.replace(/\.$/, '')} (the file is truncated or corrupt)`);
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
  if (version < 1) throw new CaptureError(path, `damaged capture: unknown format version ${version}`);
  const rawPageSize = head.readUInt16BE(16);
  const pageSize = rawPageSize === 1 ? 65536 : rawPageSize;
  const pages = head.readUInt32BE(28);
  // The page count in the header is valid only when its version-valid-for number matches the change counter.
  const countValid = head.readUInt32BE(92) === head.readUInt32BE(24);
  // In WAL mode the newest pages may still be in the WAL (a checkpoint cut short by a full disk leaves the
  // file shorter than its header says): SQLite reads them from there.
  const walPending = head[18] === 2 && fs.existsSync(`${path}-wal`) && fs.statSync(`${path}-wal`).size > 0;
  if (countValid && !walPending && pages * pageSize > st.size) {
    throw new CaptureError(path, `truncated capture: ${st.size} of ${pages * pageSize} bytes (copy the whole file again)`);
  }
}

function checkTables(db: Database.Database): void {
  for (const [table, columns] of Object.entries(REQUIRED_COLUMNS)) {
    const have = new Set((db.pragma(`table_info(${table})`) as { name: string }[]).map((c) => c.name));
    if (have.size === 0) throw new Damage(`table ${table} is missing`);
    const gone = columns.find((c) => !have.has(c));
    if (gone) throw new Damage(`column ${table}.${gone} is missing`);
  }
}

/** Frames are few (one per interval), so they are all checked on open: order, times, intervals. */
function checkFrames(db: Database.Database): void {
  const r = db.prepare(`SELECT
      (SELECT seq FROM (SELECT seq, mono_us, lag(mono_us) OVER (ORDER BY seq) AS prev, lag(seq) OVER (ORDER BY seq) AS prev_seq FROM frame)
        WHERE mono_us <= prev LIMIT 1) AS disorder,
      (SELECT seq FROM frame WHERE typeof(wall_us) != 'integer' OR wall_us < 0 OR wall_us > ? ORDER BY seq LIMIT 1) AS bad_time,
      (SELECT seq FROM frame WHERE typeof(mono_us) != 'integer' OR typeof(interval_us) != 'integer' OR interval_us <= 0
        ORDER BY seq LIMIT 1) AS bad_interval`).get(MAX_WALL_US) as Row;
  if (r.disorder !== null) {
    const prev = db.prepare('SELECT max(seq) FROM frame WHERE seq < ?').pluck().get(r.disorder);
    throw new Damage(`frames out of order: frame ${String(r.disorder)} is not later than frame ${String(prev)}`);
  }
  if (r.bad_time !== null) throw new Damage(`frame ${String(r.bad_time)} has an impossible time`);
  if (r.bad_interval !== null) throw new Damage(`frame ${String(r.bad_interval)} has an invalid monotonic time or interval`);
}

function checkedInt(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw new Damage(`${what} is not an integer: ${String(v)}`);
  return v;
}

function checkedBytes(v: unknown): number {
  const n = checkedInt(v, 'byte count');
  if (n < 0) throw new Damage(`negative byte count: ${n}`);
  return n;
}

function toFrame(r: Row): Frame {
  const seq = checkedInt(r.seq, 'frame seq');
  const wallUs = checkedInt(r.wall_us, `frame ${seq} time`);
  if (wallUs < 0 || wallUs > MAX_WALL_US) throw new Damage(`frame ${seq} has an impossible time`);
  const intervalUs = checkedInt(r.interval_us, `frame ${seq} interval`);
  if (intervalUs <= 0) throw new Damage(`frame ${seq} has a non-positive interval`);
  return {
    seq,
    wallUs,
    monoUs: checkedInt(r.mono_us, `frame ${seq} monotonic time`),
    intervalUs,
    loadavg: {
      load1: Number(r.load1),
      load5: Number(r.load5),
      load15: Number(r.load15),
      running: Number(r.running),
      tasks: Number(r.tasks),
      lastPid: Number(r.last_pid),
      raw: String(r.loadavg),
    },
    lost: { events: checkedBytes(r.lost_events), rxBytes: checkedBytes(r.lost_rx_bytes), txBytes: checkedBytes(r.lost_tx_bytes) },
  };
}

function toFlow(r: Row): Flow {
  const family = Number(r.family);
  if (family !== 4 && family !== 6) throw new Damage(`flow ${String(r.id)} has an unknown family ${family}`);
  return {
    id: checkedInt(r.id, 'flow id'),
    pid: checkedInt(r.pid, 'flow pid'),
    comm: String(r.comm),
    family,
    laddr: String(r.laddr),
    lport: checkedInt(r.lport, 'flow port'),
    raddr: String(r.raddr),
    rport: checkedInt(r.rport, 'flow port'),
  };
}
