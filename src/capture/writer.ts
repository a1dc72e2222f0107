// Writes a capture: one transaction per frame, so a crash loses at most the frame being written.
import Database from 'better-sqlite3';
import * as fs from 'node:fs';
import { CaptureError, describeErrno } from '../errors';
import { headerToRows, type CaptureHeader } from './meta';
import { APPLICATION_ID, keyRange, PACKED_FLOWS, SCHEMA_VERSION, TABLES } from './schema';
import type { FrameFlows, FrameInput } from './types';

export interface CreateOptions {
  /** Replace an existing file (a symlink at the path is removed, never followed). */
  force?: boolean;
  /** Keep the file (with its WAL) under this many bytes by dropping the oldest frames. */
  maxBytes?: number;
  /** Keep only frames whose interval ended within this long of the newest one (microseconds). */
  maxAgeUs?: number;
  /**
   * Skip the fsync of each frame: for files written in one go from another capture (export), which are
   * thrown away if the writing stops half-way and made durable once, when closed.
   */
  bulk?: boolean;
}

/** The smallest --max-size that leaves room for the schema, a WAL and some frames. */
export const MIN_MAX_BYTES = 1 << 20;

/** Rows numbered below this, with flow ids below 2^32, sort as one number each: id * ROW_SPAN + row. */
const ROW_SPAN = 2 ** 21;

/**
 * The rows `0..n-1` in the order of their ids (distinct within a frame). Sorted as numbers in one typed array,
 * id and row packed together, which is several times faster than sorting row numbers with a comparator.
 */
export function rowsById(ids: Float64Array, n: number): ArrayLike<number> {
  let max = 0;
  for (let i = 0; i < n; i++) if (ids[i] > max) max = ids[i];
  if (n >= ROW_SPAN || max >= 2 ** 32) return Uint32Array.from({ length: n }, (_, i) => i).sort((a, b) => ids[a] - ids[b]);
  const packed = new Float64Array(n);
  for (let i = 0; i < n; i++) packed[i] = ids[i] * ROW_SPAN + i;
  packed.sort();
  for (let i = 0; i < n; i++) packed[i] %= ROW_SPAN;
  return packed;
}

/**
 * WAL pages after which a commit folds the WAL back into the file (SQLite's default is 1000). The frame whose
 * commit crosses it pays for the copy and the file's fsync, so smaller and more frequent checkpoints keep any
 * one frame's commit short: with 10,000 active flows a frame is about 40 pages, and a 1,000-page checkpoint
 * made that frame's commit about 9 ms instead of 3 (256 pages: 5 ms). The pages written are the same.
 */
const CHECKPOINT_PAGES = 256;

/**
 * How many of the oldest frames to drop so the used part of the file falls to 90% of its budget. Dropping
 * a tenth at a time keeps deletes rare and their transactions small; the pages they free are reused by the
 * next frames, so the file stops growing.
 */
export function framesToDrop(usedBytes: number, budgetBytes: number, frames: number): number {
  if (usedBytes <= budgetBytes || frames <= 1) return 0;
  const perFrame = usedBytes / frames;
  return Math.min(frames - 1, Math.ceil((usedBytes - 0.9 * budgetBytes) / perFrame));
}

/**
 * Inserts rows many at a time: a multi-row VALUES statement per chunk of up to 256 rows. A statement call costs
 * about as much as the rows it inserts, so this is several times faster than a row per call, and the rows go in
 * in the same order, into the same pages.
 */
class RowBatch {
  private static readonly CHUNKS = [256, 64, 16, 4, 1];
  private readonly stmts = new Map<number, { stmt: Database.Statement; params: unknown[] }>();

  constructor(private readonly db: Database.Database, private readonly head: string, private readonly width: number) {}

  /** Inserts `rows` rows whose values are in `values`, row after row. */
  run(values: ArrayLike<unknown>, rows: number): void {
    let at = 0;
    for (const size of RowBatch.CHUNKS) {
      for (; rows - at >= size; at += size) {
        const { stmt, params } = this.chunk(size);
        for (let k = 0, v = at * this.width; k < params.length; k++, v++) params[k] = values[v];
        stmt.run(params);
      }
    }
  }

  private chunk(size: number): { stmt: Database.Statement; params: unknown[] } {
    let c = this.stmts.get(size);
    if (!c) {
      const row = `(${Array<string>(this.width).fill('?').join(',')})`;
      c = { stmt: this.db.prepare(`${this.head} VALUES ${Array<string>(size).fill(row).join(',')}`), params: new Array<unknown>(size * this.width) };
      this.stmts.set(size, c);
    }
    return c;
  }
}

export class CaptureWriter {
  /**
   * The flows that may still move bytes, by key: a handle into `idOf` (the flow's id in the file), `seenIn` and
   * `rowOf` (the insert that last saw it and where its bytes are in that insert's rows: merges duplicates).
   * An ended flow is forgotten and its handle reused, so the writer's memory follows the flows alive at once,
   * not every flow the capture has held (a day of connections coming and going).
   */
  private readonly handles = new Map<string, number>();
  private idOf = new Float64Array(0);
  private seenIn = new Float64Array(0);
  private rowOf = new Int32Array(0);
  private readonly freeHandles: number[] = [];
  private nextHandle = 0;
  /** Flow rows written by committed frames. */
  private flowsAdded = 0;
  private lastSeq = 0;
  /** Flows first stored by the frame being written, until its transaction commits. */
  private readonly addedFlows: string[] = [];
  private inserts = 0;
  /** A frame's rows: flow ids and bytes, then the sample rows in key order, reused from frame to frame. */
  private rows = { id: new Float64Array(1024), rx: new Float64Array(1024), tx: new Float64Array(1024), packed: new Float64Array(3 * 1024) };
  private readonly flowRows: RowBatch;
  private readonly sampleRows: RowBatch;
  private dropped = 0;
  private closed = false;
  private readonly insertFrame: Database.Statement;
  private readonly insertWideSample: Database.Statement;
  private readonly maxFlowId: Database.Statement;
  private readonly upsertMeta: Database.Statement;
  private readonly writeFrame: (frame: FrameInput, flows: FrameFlows) => number;
  /**
   * The last frame and flows appended, held only so that objects of their shapes stay alive from one frame to
   * the next. The compiled row loop checks those shapes (V8 maps); a map that no live object has is freed by a
   * full collection, which throws away the code that checks it. A recorder's frames are garbage by the time V8
   * collects between intervals, so a memory-reducing collection a few seconds into a recording dropped the
   * compiled loop, and the next frames of 10,000 flows ran unoptimized: 15 to 35 ms instead of 5 (see
   * docs/performance.md).
   */
  private readonly lastAppended: [FrameInput | null, FrameFlows | null] = [null, null];

  private readonly limits: { budgetBytes?: number; maxAgeUs?: number };
  private readonly bulk: boolean;

  private constructor(readonly path: string, private readonly db: Database.Database, options: CreateOptions) {
    this.insertFrame = db.prepare(
      `INSERT INTO frame (seq, wall_us, mono_us, interval_us, load1, load5, load15, running, tasks, last_pid,
         loadavg, lost_events, lost_rx_bytes, lost_tx_bytes) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
    );
    this.maxFlowId = db.prepare('SELECT coalesce(max(id), 0) FROM flow').pluck();
    this.insertWideSample = db.prepare('INSERT INTO sample_wide (frame, flow, rx_bytes, tx_bytes) VALUES (?,?,?,?)');
    this.upsertMeta = db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value');
    this.flowRows = new RowBatch(db, 'INSERT INTO flow (id, pid, comm, family, laddr, lport, raddr, rport)', 8);
    this.sampleRows = new RowBatch(db, 'INSERT INTO sample_packed (key, rx_bytes, tx_bytes)', 3);
    this.writeFrame = db.transaction((frame: FrameInput, flows: FrameFlows) => this.insert(frame, flows));
    this.limits = { maxAgeUs: options.maxAgeUs };
    this.bulk = options.bulk ?? false;
    if (options.maxBytes !== undefined) {
      // The limit covers the WAL and its index too. The WAL is checkpointed and cut back at a twentieth of
      // it, but one transaction (a frame, or a batch of deletes) can take it past that before the
      // checkpoint; the file's used pages get 60%, which leaves room for both.
      const pageSize = Number(db.pragma('page_size', { simple: true }));
      db.pragma(`wal_autocheckpoint = ${Math.min(CHECKPOINT_PAGES, Math.max(8, Math.floor(options.maxBytes / 20 / pageSize)))}`);
      db.pragma(`journal_size_limit = ${Math.floor(options.maxBytes / 20)}`);
      this.limits.budgetBytes = Math.floor(options.maxBytes * 0.6);
    }
  }

  /**
   * Creates a new capture at `path`, mode 0600 (it holds addresses and process names). An existing path is
   * refused unless `force`, and a symlink there is never followed: a root recorder may write in a shared directory.
   */
  static create(path: string, header: CaptureHeader, options: CreateOptions = {}): CaptureWriter {
    createPrivateFile(path, options.force ?? false);
    let db: Database.Database;
    try {
      db = new Database(path, { fileMustExist: true });
      db.pragma(`application_id = ${APPLICATION_ID}`);
      db.pragma(`user_version = ${SCHEMA_VERSION}`);
      db.pragma('journal_mode = WAL');
      // One fsync per frame is cheap at our rate and makes committed frames survive power loss too.
      db.pragma(options.bulk ? 'synchronous = OFF' : 'synchronous = FULL');
      // Frames are appended, never read back: SQLite's own 2 MB page cache instead of better-sqlite3's 16 MB.
      db.pragma('cache_size = -2000');
      db.pragma(`wal_autocheckpoint = ${CHECKPOINT_PAGES}`);
      db.transaction(() => {
        db.exec(TABLES);
        const put = db.prepare('INSERT INTO meta (key, value) VALUES (?, ?)');
        for (const [k, v] of Object.entries(headerToRows(header, SCHEMA_VERSION))) put.run(k, v);
      })();
    } catch (err) {
      throw new CaptureError(path, `cannot create capture: ${(err as Error).message}`, 1);
    }
    return new CaptureWriter(path, db, options);
  }

  get frames(): number {
    return this.lastSeq;
  }

  /** Flows recorded so far: rows of the flow table written, including any dropped since by --max-size/--max-duration. */
  get flows(): number {
    return this.flowsAdded;
  }

  /** Flows the writer keeps a handle for: those not known to have ended. */
  get liveFlows(): number {
    return this.handles.size;
  }

  /** Appends one frame and its flows' bytes in one transaction; returns the frame's sequence number. */
  append(frame: FrameInput, columns: FrameFlows): number {
    this.lastAppended[0] = frame;
    this.lastAppended[1] = columns;
    let seq: number;
    try {
      seq = this.writeFrame(frame, columns);
      this.flowsAdded += this.addedFlows.length;
    } catch (err) {
      // The transaction was rolled back: so were the flows it added, which the id cache must forget.
      for (const key of this.addedFlows) this.forget(key);
      throw err;
    } finally {
      this.addedFlows.length = 0;
      // ended either way: a flow's bytes after its end cannot come
      if (columns.ended) for (const key of columns.ended) this.forget(key);
    }
    this.lastSeq = seq;
    if (this.limits.budgetBytes !== undefined || this.limits.maxAgeUs !== undefined) this.retain(frame.monoUs);
    return seq;
  }

  /** Frames dropped so far to stay within --max-size/--max-duration. */
  get droppedFrames(): number {
    return this.dropped;
  }

  /** Drops the oldest frames beyond the limits, in one transaction, and notes from when the capture is complete. */
  private retain(nowMonoUs: number): void {
    const oldest = Number(this.db.prepare('SELECT min(seq) FROM frame').pluck().get());
    let keepFrom = oldest;
    if (this.limits.maxAgeUs !== undefined) {
      const first = this.db.prepare('SELECT min(seq) FROM frame WHERE mono_us >= ?').pluck().get(nowMonoUs - this.limits.maxAgeUs);
      keepFrom = Math.max(keepFrom, Number(first));
    }
    if (this.limits.budgetBytes !== undefined) {
      const pageSize = Number(this.db.pragma('page_size', { simple: true }));
      const used = (Number(this.db.pragma('page_count', { simple: true })) - Number(this.db.pragma('freelist_count', { simple: true }))) * pageSize;
      keepFrom = Math.max(keepFrom, oldest + framesToDrop(used, this.limits.budgetBytes, this.lastSeq - oldest + 1));
    }
    if (keepFrom <= oldest) return;
    this.db.transaction(() => {
      this.db.prepare('DELETE FROM sample_packed WHERE key < ?').run(keyRange(keepFrom, keepFrom)[0]);
      this.db.prepare('DELETE FROM sample_wide WHERE frame < ?').run(keepFrom);
      this.db.prepare('DELETE FROM frame WHERE seq < ?').run(keepFrom);
      // Flows with no samples left go too; the id cache must forget them, or a returning flow would point at nothing.
      const gone = this.db.prepare(`DELETE FROM flow WHERE id NOT IN (SELECT key & ${PACKED_FLOWS - 1} FROM sample_packed
        UNION SELECT flow FROM sample_wide) RETURNING id`).pluck().all() as number[];
      if (gone.length) {
        const goneIds = new Set(gone);
        for (const [key, h] of this.handles) if (goneIds.has(this.idOf[h])) this.forget(key);
      }
      const first = this.db.prepare('SELECT wall_us - interval_us FROM frame WHERE seq = ?').pluck().get(keepFrom) as number;
      this.setMeta('complete_from_wall_us', String(first));
    })();
    this.dropped += keepFrom - oldest;
  }

  setMeta(key: string, value: string): void {
    this.upsertMeta.run(key, value);
  }

  /**
   * Closes the file. A clean close marks the recording as ended cleanly and folds the WAL back into the
   * file, so what is left is one self-contained file fit to copy or attach.
   */
  close(clean: boolean, endWallUs?: number): void {
    if (this.closed) return;
    this.closed = true;
    if (clean) {
      if (this.bulk) this.db.pragma('synchronous = FULL');
      this.db.transaction(() => {
        this.setMeta('ended_cleanly', '1');
        if (endWallUs !== undefined) this.setMeta('end_wall_us', String(endWallUs));
      })();
      // A reader following the capture may hold it open for a moment after seeing the end: wait for it, and if
      // it stays, leave the file in WAL mode (still complete and clean, with its WAL checkpointed).
      this.db.pragma('busy_timeout = 3000');
      try {
        this.db.pragma('wal_checkpoint(TRUNCATE)');
        this.db.pragma('journal_mode = DELETE');
      } catch (err) {
        if (!(err instanceof Database.SqliteError && err.code.startsWith('SQLITE_BUSY'))) throw err;
      }
    }
    this.db.close();
  }

  private insert(frame: FrameInput, flows: FrameFlows): number {
    const seq = this.lastSeq + 1;
    const l = frame.loadavg;
    this.insertFrame.run(seq, frame.wallUs, frame.monoUs, frame.intervalUs, l.load1, l.load5, l.load15,
      l.running, l.tasks, l.lastPid, l.raw, frame.lost.events, frame.lost.rxBytes, frame.lost.txBytes);
    const pass = ++this.inserts;
    let rows = this.rows;
    let n = 0;
    let inOrder = true;
    const added: unknown[] = [];
    // New flows get the ids SQLite would give them one by one, the largest so far plus one: the frame's first
    // write holds the write lock, so the table cannot change under us.
    let nextId = 0;
    for (let i = 0; i < flows.count; i++) {
      const rxBytes = flows.rx[i];
      const txBytes = flows.tx[i];
      if (rxBytes === 0 && txBytes === 0) continue;
      const f = flows.flows[i];
      const key = f.id;
      let h = this.handles.get(key);
      if (h === undefined) {
        if (nextId === 0) nextId = Number(this.maxFlowId.get()) + 1;
        h = this.newHandle();
        this.idOf[h] = nextId;
        this.handles.set(key, h);
        this.addedFlows.push(key);
        added.push(nextId++, f.pid, f.comm, f.family, f.laddr, f.lport, f.raddr, f.rport);
      }
      // The same flow can come twice in one frame (a closed socket and a new one with the same ends): merge.
      if (this.seenIn[h] === pass) {
        const row = this.rowOf[h];
        rows.rx[row] += rxBytes;
        rows.tx[row] += txBytes;
      } else {
        const id = this.idOf[h];
        if (n === rows.id.length) rows = this.growRows();
        if (n > 0 && id < rows.id[n - 1]) inOrder = false;
        this.seenIn[h] = pass;
        this.rowOf[h] = n;
        rows.id[n] = id;
        rows.rx[n] = rxBytes;
        rows.tx[n] = txBytes;
        n++;
      }
    }
    if (added.length > 0) this.flowRows.run(added, added.length / 8);
    // In key order, so every row goes at the end of the table and its pages fill up.
    const order = inOrder ? null : rowsById(rows.id, n);
    const base = seq * PACKED_FLOWS;
    let packed = 0;
    // an index loop: for...of over a typed array made an iterator result per row
    for (let i = 0; i < n; i++) {
      const row = order === null ? i : order[i];
      const id = rows.id[row];
      if (id < PACKED_FLOWS) {
        rows.packed[packed++] = base + id;
        rows.packed[packed++] = rows.rx[row];
        rows.packed[packed++] = rows.tx[row];
      } else {
        this.insertWideSample.run(seq, id, rows.rx[row], rows.tx[row]);
      }
    }
    this.sampleRows.run(rows.packed, packed / 3);
    return seq;
  }

  private growRows(): CaptureWriter['rows'] {
    const r = this.rows;
    const more = (a: Float64Array, size: number) => {
      const b = new Float64Array(size);
      b.set(a);
      return b;
    };
    const size = 2 * r.id.length;
    this.rows = { id: more(r.id, size), rx: more(r.rx, size), tx: more(r.tx, size), packed: new Float64Array(3 * size) };
    return this.rows;
  }

  /** A handle for a new flow: one an ended flow left, or the next, growing the arrays behind them. */
  private newHandle(): number {
    const reused = this.freeHandles.pop();
    if (reused !== undefined) return reused;
    const h = this.nextHandle++;
    if (h >= this.idOf.length) {
      const size = Math.max(1024, 2 * this.idOf.length);
      const ids = new Float64Array(size);
      ids.set(this.idOf);
      const seen = new Float64Array(size);
      seen.set(this.seenIn);
      const row = new Int32Array(size);
      row.set(this.rowOf);
      this.idOf = ids;
      this.seenIn = seen;
      this.rowOf = row;
    }
    return h;
  }

  private forget(key: string): void {
    const h = this.handles.get(key);
    if (h === undefined) return;
    this.handles.delete(key);
    this.freeHandles.push(h);
  }
}

function createPrivateFile(path: string, force: boolean): void {
  const sideFiles = [`${path}-wal`, `${path}-shm`, `${path}-journal`];
  if (force) {
    // unlink removes a symlink itself, never its target.
    for (const p of [path, ...sideFiles]) {
      try {
        fs.unlinkSync(p);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
          throw new CaptureError(p, `cannot remove for --force: ${describeErrno(err)}`, 1);
        }
      }
    }
  } else {
    // A leftover WAL would be replayed into the new file by SQLite.
    const stale = sideFiles.find((p) => fs.existsSync(p));
    if (stale) throw new CaptureError(stale, 'a leftover SQLite side file is in the way (remove it, or use --force)', 1);
  }
  let fd: number;
  try {
    fd = fs.openSync(path, fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_WRONLY | fs.constants.O_NOFOLLOW, 0o600);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw new CaptureError(path, 'file exists (choose another name, or use --force to replace it)', 1);
    throw new CaptureError(path, `cannot create: ${describeErrno(err)}`, 1);
  }
  fs.closeSync(fd);
}
