// The files one capture is made of on disk.

/** SQLite's side files beside a capture: the WAL and its index while recording, a rollback journal otherwise. */
export function sideFiles(path: string): string[] {
  return [`${path}-wal`, `${path}-shm`, `${path}-journal`];
}
