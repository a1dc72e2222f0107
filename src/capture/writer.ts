// Writes a capture: one transaction per frame, so a crash loses at most the frame being written.
import Database from 'better-sqlite3';
import * as fs from 'node:fs';
import { CaptureError, describeErrno } from '../errors';
import { headerToRows, type CaptureHeader } from './meta';
import { APPLICATION_ID, SCHEMA_VERSION, TABLES } from './schema';
import { flowKeyString, type FlowBytes, type FlowKey, type LoadAvg, type Lost } from './types';

export interface FrameInput {
  wallUs: number;
  monoUs: number;
  intervalUs: number;
  loadavg: LoadAvg;
  lost: Lost;
}

export interface CreateOptions {
  /** Replace an existing file (a symlink at the path is removed, never followed). */
  force?: boolean;
}

export class CaptureWriter {
  private readonly flowIds = new Map<string, number>();
  private lastSeq = 0;
  private closed = false;
  private readonly insertFrame: Database.Statement;
  private readonly insertFlow: Database.Statement;
  private readonly insertSample: Database.Statement;
  private readonly upsertMeta: Database.Statement;
  private readonly writeFrame: (frame: FrameInput, flows: readonly FlowBytes[]) => number;

  private constructor(readonly path: string, private readonly db: Database.Database) {
    this.insertFrame = db.prepare(
      `INSERT INTO frame (seq, wall_us, mono_us, interval_us, load1, load5, load15, running, tasks, last_pid,
         loadavg, lost_events, lost_rx_bytes, lost_tx_bytes) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
    );
    this.insertFlow = db.prepare(
      'INSERT INTO flow (pid, comm, family, laddr, lport, raddr, rport) VALUES (?,?,?,?,?,?,?)',
    );
    this.insertSample = db.prepare('INSERT INTO sample (frame, flow, rx_bytes, tx_bytes) VALUES (?,?,?,?)');
    this.upsertMeta = db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value');
    this.writeFrame = db.transaction((frame: FrameInput, flows: readonly FlowBytes[]) => this.insert(frame, flows));
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
      db.pragma('synchronous = FULL');
      db.transaction(() => {
        db.exec(TABLES);
        const put = db.prepare('INSERT INTO meta (key, value) VALUES (?, ?)');
        for (const [k, v] of Object.entries(headerToRows(header, SCHEMA_VERSION))) put.run(k, v);
      })();
    } catch (err) {
      throw new CaptureError(path, `cannot create capture: ${(err as Error).message}`, 1);
    }
    return new CaptureWriter(path, db);
  }

  get frames(): number {
    return this.lastSeq;
  }

  get flows(): number {
    return this.flowIds.size;
  }

  /** Appends one frame and its flows' bytes in one transaction; returns the frame's sequence number. */
  append(frame: FrameInput, flows: readonly FlowBytes[]): number {
    return this.writeFrame(frame, flows);
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
      this.db.transaction(() => {
        this.setMeta('ended_cleanly', '1');
        if (endWallUs !== undefined) this.setMeta('end_wall_us', String(endWallUs));
      })();
      this.db.pragma('wal_checkpoint(TRUNCATE)');
      this.db.pragma('journal_mode = DELETE');
    }
    this.db.close();
  }

  private insert(frame: FrameInput, flows: readonly FlowBytes[]): number {
    const seq = this.lastSeq + 1;
    const l = frame.loadavg;
    this.insertFrame.run(seq, frame.wallUs, frame.monoUs, frame.intervalUs, l.load1, l.load5, l.load15,
      l.running, l.tasks, l.lastPid, l.raw, frame.lost.events, frame.lost.rxBytes, frame.lost.txBytes);
    // The same flow can come twice in one frame (a closed socket and a new one with the same ends): merge.
    const bytes = new Map<number, [number, number]>();
    for (const f of flows) {
      if (f.rxBytes === 0 && f.txBytes === 0) continue;
      const id = this.flowId(f);
      const b = bytes.get(id);
      if (b) {
        b[0] += f.rxBytes;
        b[1] += f.txBytes;
      } else {
        bytes.set(id, [f.rxBytes, f.txBytes]);
      }
    }
    for (const [id, [rx, tx]] of bytes) this.insertSample.run(seq, id, rx, tx);
    this.lastSeq = seq;
    return seq;
  }

  private flowId(k: FlowKey): number {
    const key = flowKeyString(k);
    let id = this.flowIds.get(key);
    if (id === undefined) {
      id = Number(this.insertFlow.run(k.pid, k.comm, k.family, k.laddr, k.lport, k.raddr, k.rport).lastInsertRowid);
      this.flowIds.set(key, id);
    }
    return id;
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
