// --max-size and --max-duration: after each frame, drop the oldest frames beyond the limits, in one transaction.
import type Database from 'better-sqlite3';
import { keyRange, PACKED_FLOWS } from './schema';

/** The smallest --max-size that leaves room for the schema, a WAL and some frames. */
export const MIN_MAX_BYTES = 1 << 20;

/**
 * WAL pages after which a commit folds the WAL back into the file (SQLite's default is 1000): the frame whose
 * commit crosses it pays for the copy, so smaller checkpoints keep any one frame's commit short.
 */
export const CHECKPOINT_PAGES = 256;

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

export interface RetentionLimits {
  /** Keep the file (with its WAL) under this many bytes. */
  maxBytes?: number;
  /** Keep only frames whose interval ended within this long of the newest one (microseconds). */
  maxAgeUs?: number;
}

/** What one pass of retention dropped. */
export interface Dropped {
  frames: number;
  /** Flows left without samples, deleted with them: the writer's id cache must forget them. */
  flowIds: number[];
}

/** The limits of one capture, with the statements that enforce them, prepared once. */
export class Retention {
  private readonly budgetBytes?: number;
  private readonly maxAgeUs?: number;
  private readonly pageSize: number;
  private readonly oldest: Database.Statement;
  private readonly firstSince: Database.Statement;
  private readonly pages: Database.Statement;
  private readonly freePages: Database.Statement;
  private readonly drop: (keepFrom: number) => number[];

  /** The retention for these limits, or null when there are none; sets the WAL's limits for --max-size. */
  static of(db: Database.Database, limits: RetentionLimits): Retention | null {
    if (limits.maxBytes === undefined && limits.maxAgeUs === undefined) return null;
    return new Retention(db, limits);
  }

  private constructor(db: Database.Database, limits: RetentionLimits) {
    this.pageSize = Number(db.pragma('page_size', { simple: true }));
    this.maxAgeUs = limits.maxAgeUs;
    if (limits.maxBytes !== undefined) {
      // The limit covers the WAL and its index too. The WAL is checkpointed and cut back at a twentieth of
      // it, but one transaction (a frame, or a batch of deletes) can take it past that before the
      // checkpoint; the file's used pages get 60%, which leaves room for both.
      db.pragma(`wal_autocheckpoint = ${Math.min(CHECKPOINT_PAGES, Math.max(8, Math.floor(limits.maxBytes / 20 / this.pageSize)))}`);
      db.pragma(`journal_size_limit = ${Math.floor(limits.maxBytes / 20)}`);
      this.budgetBytes = Math.floor(limits.maxBytes * 0.6);
    }
    this.oldest = db.prepare('SELECT min(seq) FROM frame').pluck();
    this.firstSince = db.prepare('SELECT min(seq) FROM frame WHERE mono_us >= ?').pluck();
    this.pages = db.prepare('PRAGMA page_count').pluck();
    this.freePages = db.prepare('PRAGMA freelist_count').pluck();
    const samplesPacked = db.prepare('DELETE FROM sample_packed WHERE key < ?');
    const samplesWide = db.prepare('DELETE FROM sample_wide WHERE frame < ?');
    const frames = db.prepare('DELETE FROM frame WHERE seq < ?');
    const orphans = db.prepare(`DELETE FROM flow WHERE id NOT IN (SELECT key & ${PACKED_FLOWS - 1} FROM sample_packed
      UNION SELECT flow FROM sample_wide) RETURNING id`).pluck();
    const startOf = db.prepare('SELECT wall_us - interval_us FROM frame WHERE seq = ?').pluck();
    const setMeta = db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value');
    this.drop = db.transaction((keepFrom: number): number[] => {
      samplesPacked.run(keyRange(keepFrom, keepFrom)[0]);
      samplesWide.run(keepFrom);
      frames.run(keepFrom);
      // flows with no samples left go too
      const gone = orphans.all() as number[];
      // from when on the capture is complete
      setMeta.run('complete_from_wall_us', String(startOf.get(keepFrom) as number));
      return gone;
    });
  }

  /** Drops the oldest frames beyond the limits, `lastSeq` being the newest frame and `nowMonoUs` its end. */
  apply(nowMonoUs: number, lastSeq: number): Dropped {
    const oldest = Number(this.oldest.get());
    let keepFrom = oldest;
    if (this.maxAgeUs !== undefined) keepFrom = Math.max(keepFrom, Number(this.firstSince.get(nowMonoUs - this.maxAgeUs)));
    if (this.budgetBytes !== undefined) {
      const used = (Number(this.pages.get()) - Number(this.freePages.get())) * this.pageSize;
      keepFrom = Math.max(keepFrom, oldest + framesToDrop(used, this.budgetBytes, lastSeq - oldest + 1));
    }
    if (keepFrom <= oldest) return { frames: 0, flowIds: [] };
    const flowIds = this.drop(keepFrom);
    return { frames: keepFrom - oldest, flowIds };
  }
}
