// Files that are not readable captures, each made fresh in a directory, with the problem a reader must name.
import Database from 'better-sqlite3';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SAMPLE } from './paths';

export interface BadFile {
  name: string;
  /** What the one line on stderr must say. */
  problem: RegExp;
  make(dir: string): string;
}

function copySample(dir: string, name: string, change?: (db: Database.Database) => void): string {
  const file = path.join(dir, name);
  fs.copyFileSync(SAMPLE, file);
  if (change) {
    const db = new Database(file);
    change(db);
    db.close();
  }
  return file;
}

export const BAD_FILES: BadFile[] = [
  { name: 'a missing file', problem: /no such file or directory/, make: (dir) => path.join(dir, 'nope.db') },
  { name: 'a directory', problem: /is a directory/, make: (dir) => { const d = path.join(dir, 'adir'); fs.mkdirSync(d); return d; } },
  { name: 'an empty file', problem: /is empty, not a tcptop capture/, make: (dir) => { const f = path.join(dir, 'empty.db'); fs.writeFileSync(f, ''); return f; } },
  { name: 'a text file', problem: /not a tcptop capture \(not an SQLite database\)/, make: (dir) => { const f = path.join(dir, 'notes.txt'); fs.writeFileSync(f, 'PID COMM LADDR\n'.repeat(20)); return f; } },
  {
    name: 'an SQLite file of another application',
    problem: /not a tcptop capture \(an SQLite database of another application\)/,
    make: (dir) => {
      const f = path.join(dir, 'other.db');
      const db = new Database(f);
      db.exec('CREATE TABLE t (x); INSERT INTO t VALUES (1)');
      db.close();
      return f;
    },
  },
  {
    name: 'a capture with a newer format version',
    problem: /format version 99 is newer than this tcptop reads \(1\): upgrade tcptop/,
    make: (dir) => copySample(dir, 'newer.db', (db) => db.pragma('user_version = 99')),
  },
  {
    name: 'a truncated capture',
    problem: /truncated capture: \d+ of \d+ bytes \(copy the whole file again\)/,
    make: (dir) => {
      const f = copySample(dir, 'truncated.db');
      fs.truncateSync(f, Math.floor(fs.statSync(f).size / 2 / 4096) * 4096);
      return f;
    },
  },
];
