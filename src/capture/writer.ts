// Writes a capture: one transaction per frame, so a crash loses at most the frame being written.
import Database from 'better-sqlite3';
import * as fs from 'node:fs';
import { CaptureError, describeErrno } from '../errors';
import { headerToRows, type CaptureHeader } from './meta';
import { sideFiles } from './files';
import { FlowIds } from './flow-ids';
import { grown } from './grow';
import { CHECKPOINT_PAGES, Retention } from './retention';
import { APPLICATION_ID, PACKED_FLOWS, SCHEMA_VERSION, TABLES, TABLES_V1 } from './schema';
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
  /**
   * The paths of cgroup ids first met in a frame, under the cgroup2 mount (null: the cgroup is gone; undefined:
   * not known, no row), stored once per id with the frame. Without it, flows keep their cgroup ids and the capture
   * has no paths for them.
   */
  cgroupPaths?: (ids: readonly number[]) => (string | null | undefined)[];
  /** Write this older format version instead (1: no cgroups, no names), for captures that must stay readable by older readers. */
  formatVersion?: 1;
}

/** A remote address's name as stored: looked up at lookedUpUs (wall clock, microseconds). */
export interface NameRow {
  addr: string;
  name: string;
  lookedUpUs: number;
}

/** Rows numbered below this, with flow ids below 2^32, sort as one number each: id * ROW_SPAN + row. */
const ROW_SPAN = 2 ** 21;

/**
 * The rows `0..n-1` in the order of their ids (distinct within a frame). Sorted as numbers in one typed array,
 * id and row packed together: much faster than sorting row numbers with a comparator.
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
 * Inserts rows many at a time: a multi-row VALUES statement per chunk of up to 256 rows, since a statement call
 * costs about as much as the rows it inserts. The rows go in in the same order, into the same pages.
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
  /** The flow row of each flow that may still move bytes. */
  private readonly ids = new FlowIds();
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
  /** Null when writing format version 1, which has no cgroups and no names. */
  private readonly insertCgroup: Database.Statement | null;
  private readonly upsertName: Database.Statement | null;
  /** Cgroup ids with a row, and those the frame being written added (forgotten again if it rolls back). */
  private readonly cgroupsStored = new Set<number>();
  private readonly cgroupsAdded: number[] = [];
  private readonly cgroupPaths: CreateOptions['cgroupPaths'];
  /** Writing format version 1: flows without their cgroup, no cgroups, no names. */
  private readonly v1: boolean;
  private readonly flowWidth: number;
  private readonly writeFrame: (frame: FrameInput, flows: FrameFlows) => number;
  /**
   * The last frame appended, held so that objects of its shapes (V8 maps) stay alive between frames: a full
   * collection frees a map no live object has, and throws away the compiled row loop that checks it
   * (docs/performance.md, the writer).
   */
  private readonly lastAppended: [FrameInput | null, FrameFlows | null] = [null, null];
  private readonly retention: Retention | null;
  private readonly bulk: boolean;

  private constructor(readonly path: string, private readonly db: Database.Database, options: CreateOptions) {
    this.insertFrame = db.prepare(
      `INSERT INTO frame (seq, wall_us, mono_us, interval_us, load1, load5, load15, running, tasks, last_pid,
         loadavg, lost_events, lost_rx_bytes, lost_tx_bytes) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
    );
    this.maxFlowId = db.prepare('SELECT coalesce(max(id), 0) FROM flow').pluck();
    this.insertWideSample = db.prepare('INSERT INTO sample_wide (frame, flow, rx_bytes, tx_bytes) VALUES (?,?,?,?)');
    this.upsertMeta = db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value');
    this.v1 = options.formatVersion === 1;
    this.flowWidth = this.v1 ? 8 : 9;
    this.flowRows = new RowBatch(db, `INSERT INTO flow (id, pid, comm, family, laddr, lport, raddr, rport${this.v1 ? '' : ', cgroup'})`, this.flowWidth);
    this.insertCgroup = this.v1 ? null : db.prepare('INSERT OR IGNORE INTO cgroup (id, path, gone) VALUES (?, ?, ?)');
    this.upsertName = this.v1 ? null : db.prepare(`INSERT INTO name (addr, name, looked_up_us) VALUES (?, ?, ?)
      ON CONFLICT(addr) DO UPDATE SET name = excluded.name, looked_up_us = excluded.looked_up_us`);
    this.cgroupPaths = this.v1 ? undefined : options.cgroupPaths;
    this.sampleRows = new RowBatch(db, 'INSERT INTO sample_packed (key, rx_bytes, tx_bytes)', 3);
    this.writeFrame = db.transaction((frame: FrameInput, flows: FrameFlows) => this.insert(frame, flows));
    this.retention = Retention.of(db, { maxBytes: options.maxBytes, maxAgeUs: options.maxAgeUs });
    this.bulk = options.bulk ?? false;
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
      const version = options.formatVersion ?? SCHEMA_VERSION;
      db.pragma(`user_version = ${version}`);
      db.pragma('journal_mode = WAL');
      // One fsync per frame is cheap at our rate and makes committed frames survive power loss too.
      db.pragma(options.bulk ? 'synchronous = OFF' : 'synchronous = FULL');
      // Frames are appended, never read back: SQLite's own 2 MB page cache instead of better-sqlite3's 16 MB.
      db.pragma('cache_size = -2000');
      db.pragma(`wal_autocheckpoint = ${CHECKPOINT_PAGES}`);
      db.transaction(() => {
        db.exec(version === 1 ? TABLES_V1 : TABLES);
        const put = db.prepare('INSERT INTO meta (key, value) VALUES (?, ?)');
        for (const [k, v] of Object.entries(headerToRows(header, version))) put.run(k, v);
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
    return this.ids.size;
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
      for (const key of this.addedFlows) this.ids.forget(key);
      for (const id of this.cgroupsAdded) this.cgroupsStored.delete(id);
      throw err;
    } finally {
      this.addedFlows.length = 0;
      this.cgroupsAdded.length = 0;
      // ended either way: a flow's bytes after its end cannot come
      if (columns.ended) for (const key of columns.ended) this.ids.forget(key);
    }
    this.lastSeq = seq;
    if (this.retention) {
      const dropped = this.retention.apply(frame.monoUs, seq);
      // a returning flow must not point at a row that went
      this.ids.forgetIds(dropped.flowIds);
      this.dropped += dropped.frames;
    }
    return seq;
  }

  /** Frames dropped so far to stay within --max-size/--max-duration. */
  get droppedFrames(): number {
    return this.dropped;
  }

  /** Stores cgroups as another capture has them (export): each id once, the first path given kept. */
  addCgroups(rows: readonly { id: number; path: string | null }[]): void {
    const insert = this.insertCgroup;
    if (!insert || rows.length === 0) return;
    this.db.transaction(() => {
      for (const r of rows) {
        insert.run(r.id, r.path, r.path === null ? 1 : 0);
        this.cgroupsStored.add(r.id);
      }
    })();
  }

  /** Stores the names of remote addresses, in one transaction; a name looked up again replaces the older one. */
  addNames(rows: readonly NameRow[]): void {
    const upsert = this.upsertName;
    if (!upsert || rows.length === 0) return;
    this.db.transaction(() => {
      for (const r of rows) upsert.run(r.addr, r.name, r.lookedUpUs);
    })();
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
    const ids = this.ids;
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
      let h = ids.handle(key);
      if (h === undefined) {
        if (nextId === 0) nextId = Number(this.maxFlowId.get()) + 1;
        h = ids.add(key, nextId);
        this.addedFlows.push(key);
        const cgroup = f.cgroup ?? 0;
        added.push(nextId++, f.pid, f.comm, f.family, f.laddr, f.lport, f.raddr, f.rport);
        if (!this.v1) added.push(cgroup);
        if (cgroup !== 0 && !this.v1 && !this.cgroupsStored.has(cgroup)) {
          this.cgroupsStored.add(cgroup);
          this.cgroupsAdded.push(cgroup);
        }
      }
      // The same flow can come twice in one frame (a closed socket and a new one with the same ends): merge.
      const row = ids.rowIn(h, pass);
      if (row >= 0) {
        rows.rx[row] += rxBytes;
        rows.tx[row] += txBytes;
      } else {
        const id = ids.id(h);
        if (n === rows.id.length) rows = this.growRows();
        if (n > 0 && id < rows.id[n - 1]) inOrder = false;
        ids.setRow(h, pass, n);
        rows.id[n] = id;
        rows.rx[n] = rxBytes;
        rows.tx[n] = txBytes;
        n++;
      }
    }
    if (added.length > 0) this.flowRows.run(added, added.length / this.flowWidth);
    if (this.cgroupsAdded.length > 0 && this.cgroupPaths && this.insertCgroup) {
      const paths = this.cgroupPaths(this.cgroupsAdded);
      const insert = this.insertCgroup;
      this.cgroupsAdded.forEach((id, i) => {
        const path = paths[i];
        if (path !== undefined) insert.run(id, path, path === null ? 1 : 0);
      });
    }
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
    const size = 2 * r.id.length;
    this.rows = { id: grown(r.id, size), rx: grown(r.rx, size), tx: grown(r.tx, size), packed: new Float64Array(3 * size) };
    return this.rows;
  }
}

function createPrivateFile(path: string, force: boolean): void {
  const sides = sideFiles(path);
  if (force) {
    // unlink removes a symlink itself, never its target.
    for (const p of [path, ...sides]) {
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
    const stale = sides.find((p) => fs.existsSync(p));
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
