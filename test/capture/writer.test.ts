import Database from 'better-sqlite3';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { APPLICATION_ID, SCHEMA_VERSION } from '../../src/capture/schema';
import { CaptureReader } from '../../src/capture/reader';
import { CaptureWriter, type FrameInput } from '../../src/capture/writer';
import { CaptureError } from '../../src/errors';
import { SAMPLE_HEADER } from '../../fixtures/generate';
import { tempDir } from '../helpers/tmp';

const frame = (n: number): FrameInput => ({
  wallUs: 1_700_000_000_000_000 + n * 1e6,
  monoUs: 5e9 + n * 1e6,
  intervalUs: 1e6,
  loadavg: { load1: 0.1, load5: 0.2, load15: 0.3, running: 1, tasks: 100, lastPid: 42, raw: '0.10 0.20 0.30 1/100 42' },
  lost: { events: 0, rxBytes: 0, txBytes: 0 },
});

const key = { pid: 10, comm: 'curl', family: 4 as const, laddr: '127.0.0.1', lport: 5000, raddr: '127.0.0.1', rport: 80 };

test('a new capture is private, identified, and in WAL mode while open', (t) => {
  const file = path.join(tempDir(t), 'c.db');
  const w = CaptureWriter.create(file, SAMPLE_HEADER);
  assert.equal(fs.statSync(file).mode & 0o777, 0o600);
  const db = new Database(file, { readonly: true });
  assert.equal(db.pragma('application_id', { simple: true }), APPLICATION_ID);
  assert.equal(db.pragma('user_version', { simple: true }), SCHEMA_VERSION);
  assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
  db.close();
  w.close(true);
});

test('a clean close leaves one self-contained file marked as ended cleanly', (t) => {
  const file = path.join(tempDir(t), 'c.db');
  const w = CaptureWriter.create(file, SAMPLE_HEADER);
  w.append(frame(1), [{ ...key, rxBytes: 100, txBytes: 200 }]);
  w.close(true, 1_700_000_002_000_000);
  assert.equal(fs.existsSync(`${file}-wal`), false);
  assert.equal(fs.existsSync(`${file}-shm`), false);
  const db = new Database(file, { readonly: true });
  assert.equal(db.pragma('journal_mode', { simple: true }), 'delete');
  assert.equal(db.prepare("SELECT value FROM meta WHERE key = 'ended_cleanly'").pluck().get(), '1');
  assert.equal(db.prepare("SELECT value FROM meta WHERE key = 'end_wall_us'").pluck().get(), '1700000002000000');
  db.close();
});

test('frames are committed one by one: a second connection sees each frame as soon as it is appended', (t) => {
  const file = path.join(tempDir(t), 'c.db');
  const w = CaptureWriter.create(file, SAMPLE_HEADER);
  const db = new Database(file, { readonly: true });
  const count = db.prepare('SELECT count(*) FROM frame').pluck();
  assert.equal(count.get(), 0);
  w.append(frame(1), [{ ...key, rxBytes: 1, txBytes: 2 }]);
  assert.equal(count.get(), 1);
  w.append(frame(2), []);
  assert.equal(count.get(), 2);
  db.close();
  w.close(false);
  const again = new Database(file, { readonly: true });
  assert.equal(again.prepare("SELECT value FROM meta WHERE key = 'ended_cleanly'").pluck().get(), '0');
  again.close();
});

test('flows are stored once and referenced; repeats in a frame are summed; empty samples are not stored', (t) => {
  const file = path.join(tempDir(t), 'c.db');
  const w = CaptureWriter.create(file, SAMPLE_HEADER);
  const other = { ...key, lport: 5001 };
  w.append(frame(1), [{ ...key, rxBytes: 10, txBytes: 20 }, { ...key, rxBytes: 1, txBytes: 2 }, { ...other, rxBytes: 0, txBytes: 0 }]);
  w.append(frame(2), [{ ...key, rxBytes: 5, txBytes: 0 }, { ...other, rxBytes: 0, txBytes: 7 }]);
  assert.equal(w.frames, 2);
  assert.equal(w.flows, 2);
  w.close(true);
  const db = new Database(file, { readonly: true });
  assert.equal(db.prepare('SELECT count(*) FROM flow').pluck().get(), 2);
  assert.deepEqual(db.prepare('SELECT frame, flow, rx_bytes, tx_bytes FROM sample ORDER BY frame, flow').raw().all(),
    [[1, 1, 11, 22], [2, 1, 5, 0], [2, 2, 0, 7]]);
  db.close();
});

test('an existing file is refused without force, and replaced with it', (t) => {
  const file = path.join(tempDir(t), 'c.db');
  fs.writeFileSync(file, 'precious');
  assert.throws(() => CaptureWriter.create(file, SAMPLE_HEADER), (e: unknown) =>
    e instanceof CaptureError && /file exists \(choose another name, or use --force/.test(e.message));
  assert.equal(fs.readFileSync(file, 'utf8'), 'precious');
  CaptureWriter.create(file, SAMPLE_HEADER, { force: true }).close(true);
  assert.equal(fs.readFileSync(file).subarray(0, 15).toString(), 'SQLite format 3');
});

test('a symlink at the path is never followed, with or without force', (t) => {
  const dir = tempDir(t);
  const target = path.join(dir, 'target');
  fs.writeFileSync(target, 'not yours');
  const link = path.join(dir, 'c.db');
  fs.symlinkSync(target, link);
  assert.throws(() => CaptureWriter.create(link, SAMPLE_HEADER), CaptureError);
  const dangling = path.join(dir, 'd.db');
  fs.symlinkSync(path.join(dir, 'would-be-created'), dangling);
  assert.throws(() => CaptureWriter.create(dangling, SAMPLE_HEADER), CaptureError);
  assert.equal(fs.existsSync(path.join(dir, 'would-be-created')), false);
  CaptureWriter.create(link, SAMPLE_HEADER, { force: true }).close(true);
  assert.equal(fs.readFileSync(target, 'utf8'), 'not yours');
  assert.equal(fs.lstatSync(link).isSymbolicLink(), false);
});

test('a leftover WAL beside a new path is refused, since SQLite would replay it into the new file', (t) => {
  const file = path.join(tempDir(t), 'c.db');
  fs.writeFileSync(`${file}-wal`, 'old');
  assert.throws(() => CaptureWriter.create(file, SAMPLE_HEADER), /leftover SQLite side file/);
  assert.equal(fs.existsSync(file), false);
});

test('flows past 2^20 go to the wide table and read back like the rest', (t) => {
  const file = path.join(tempDir(t), 'wide.db');
  const w = CaptureWriter.create(file, SAMPLE_HEADER);
  w.append(frame(1), [{ ...key, rxBytes: 1, txBytes: 2 }]);
  // Push the next flow id past the packed range, as a capture with over a million flows would.
  const other = new Database(file);
  other.prepare("INSERT INTO flow (id, pid, comm, family, laddr, lport, raddr, rport) VALUES (?, 1, 'x', 4, '0.0.0.0', 0, '0.0.0.0', 0)").run(2 ** 20 + 5);
  other.close();
  const far = { ...key, lport: 6000 };
  w.append(frame(2), [{ ...key, rxBytes: 10, txBytes: 20 }, { ...far, rxBytes: 30, txBytes: 40 }]);
  w.close(true);
  const db = new Database(file, { readonly: true });
  assert.deepEqual(db.prepare('SELECT frame, flow, rx_bytes, tx_bytes FROM sample_wide').raw().all(), [[2, 2 ** 20 + 6, 30, 40]]);
  assert.deepEqual(db.prepare('SELECT frame, flow, rx_bytes, tx_bytes FROM sample ORDER BY frame, flow').raw().all(),
    [[1, 1, 1, 2], [2, 1, 10, 20], [2, 2 ** 20 + 6, 30, 40]]);
  db.close();
  const r = CaptureReader.open(file);
  assert.deepEqual(r.flowBytes(2).map((f) => [f.lport, f.rxBytes, f.txBytes]).sort(), [[5000, 10, 20], [6000, 30, 40]]);
  assert.deepEqual([r.totals(1, 2).rxBytes, r.totals(1, 2).txBytes], [41, 62]);
  assert.deepEqual([...r.sampleRows(1, 2)], [[1, 1, 1, 2], [2, 1, 10, 20], [2, 2 ** 20 + 6, 30, 40]]);
  r.close();
});
