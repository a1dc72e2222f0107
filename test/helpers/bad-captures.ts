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

function writeFile(dir: string, name: string, data: string | Buffer): string {
  const f = path.join(dir, name);
  fs.writeFileSync(f, data);
  return f;
}

/** Deterministic noise: the same "random" bytes every run. */
function noise(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  let x = seed >>> 0;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
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
    problem: /format version 99 is newer than this tcptop reads \(2\): upgrade tcptop/,
    make: (dir) => copySample(dir, 'newer.db', (db) => db.pragma('user_version = 99')),
  },
  {
    name: 'a version 1 capture that says it is version 2',
    problem: /damaged capture: table cgroup is missing \(the file was altered after recording; use an unaltered copy\)/,
    make: (dir) => copySample(dir, 'v1-as-v2.db', (db) => db.pragma('user_version = 2')),
  },
  {
    name: 'a version 1 capture with a table of version 2',
    problem: /damaged capture: it holds a table tcptop does not write: cgroup \(the file was altered/,
    make: (dir) => copySample(dir, 'v1-plus.db', (db) => db.exec('CREATE TABLE cgroup (id INTEGER PRIMARY KEY, path TEXT, gone INTEGER NOT NULL DEFAULT 0)')),
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
  { name: 'random bytes', problem: /not a tcptop capture \(not an SQLite database\)/, make: (dir) => writeFile(dir, 'noise.db', noise(65536, 7)) },
  {
    name: 'an SQLite header followed by random bytes',
    problem: /(damaged capture|truncated capture|not a tcptop capture)/,
    make: (dir) => {
      const head = fs.readFileSync(SAMPLE).subarray(0, 100);
      return writeFile(dir, 'header-noise.db', Buffer.concat([head, noise(8192 - 100, 11)]));
    },
  },
  {
    name: 'a capture with a missing table',
    problem: /damaged capture: table flow is missing/,
    make: (dir) => copySample(dir, 'no-flow.db', (db) => db.exec('DROP VIEW flow_sample; DROP TABLE flow')),
  },
  {
    name: 'a capture with a missing column',
    problem: /damaged capture: column frame\.mono_us is missing/,
    make: (dir) => copySample(dir, 'no-column.db', (db) => db.exec('DROP INDEX frame_mono; ALTER TABLE frame DROP COLUMN mono_us')),
  },
  {
    name: 'a capture with missing metadata',
    problem: /damaged capture: metadata key interval_us is missing/,
    make: (dir) => copySample(dir, 'no-meta.db', (db) => db.exec("DELETE FROM meta WHERE key = 'interval_us'")),
  },
  {
    name: 'a capture whose frames are out of order',
    problem: /damaged capture: frames out of order: frame 6 is not later than frame 5/,
    make: (dir) => copySample(dir, 'disorder.db', (db) => db.exec('UPDATE frame SET mono_us = mono_us - 3000000 WHERE seq = 6')),
  },
  {
    name: 'a capture whose samples reference missing flows',
    problem: /damaged capture: a sample refers to flow 3, which is missing/,
    make: (dir) => copySample(dir, 'orphans.db', (db) => db.exec('DELETE FROM flow WHERE id = 3')),
  },
  {
    name: 'a capture with negative byte counts',
    problem: /damaged capture: .*(negative byte count|negative or non-integer byte count)/,
    make: (dir) => copySample(dir, 'negative.db', (db) => db.exec(`UPDATE sample_packed SET rx_bytes = -5 WHERE key = ${4 * 2 ** 20 + 1}`)),
  },
  {
    name: 'a capture with a frame in the year 3000',
    problem: /damaged capture: frame 2 has an impossible time/,
    make: (dir) => copySample(dir, 'future.db', (db) => db.exec(`UPDATE frame SET wall_us = ${Date.UTC(3000, 0, 1) * 1000} WHERE seq = 2`)),
  },
  {
    name: 'a capture with text where numbers belong',
    problem: /damaged capture: .*(byte count is not an integer|negative or non-integer byte count)/,
    make: (dir) => copySample(dir, 'text-bytes.db', (db) => db.exec(`UPDATE sample_packed SET tx_bytes = 'lots' WHERE key = ${3 * 2 ** 20 + 2}`)),
  },
];
