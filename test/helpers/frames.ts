// Waiting on a recorder by what it commits: the capture itself is the signal, not a guess at how long a frame takes.
import Database from 'better-sqlite3';

/** Frames committed so far, as a second reader sees them; 0 before the file exists. */
export function committedFrames(file: string): number {
  try {
    const db = new Database(file, { readonly: true });
    try {
      return Number(db.prepare('SELECT count(*) FROM frame').pluck().get());
    } finally {
      db.close();
    }
  } catch {
    return 0; // not created yet
  }
}

/** Resolves once `n` more frames than now are committed; rejects after `ms`. */
export async function moreFrames(file: string, n = 1, ms = 20_000): Promise<void> {
  const want = committedFrames(file) + n;
  for (const t0 = Date.now(); committedFrames(file) < want; await new Promise((r) => setTimeout(r, 5))) {
    if (Date.now() - t0 > ms) throw new Error(`${n} more frames not committed within ${ms / 1000} s`);
  }
}
