// Rewrites a closed capture at its minimum size: a file to hand to someone else should hold nothing but its
// rows, not free pages with what was deleted or overwritten on the way.
import Database from 'better-sqlite3';
import * as fs from 'node:fs';
import { CaptureError } from '../errors';
import { sideFiles } from './files';

/**
 * VACUUMs the capture at `path` with secure_delete on, and leaves it one file in DELETE journal mode. The file
 * must not be open elsewhere.
 */
export function compactCapture(path: string): void {
  try {
    const db = new Database(path, { fileMustExist: true });
    try {
      db.pragma('secure_delete = ON');
      if (db.pragma('journal_mode', { simple: true }) !== 'delete') db.pragma('journal_mode = DELETE');
      db.exec('VACUUM');
    } finally {
      db.close();
    }
  } catch (err) {
    throw new CaptureError(path, `cannot compact the capture: ${(err as Error).message}`, 1);
  }
  const left = sideFiles(path).find((p) => fs.existsSync(p));
  if (left) throw new CaptureError(left, 'an SQLite side file was left behind after compacting', 1);
}
