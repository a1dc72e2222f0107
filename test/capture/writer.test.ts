import Database from 'better-sqlite3';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { APPLICATION_ID, SCHEMA_VERSION } from '../../src/capture/schema';
import { CaptureReader } from '../../src/capture/reader';
import { CaptureWriter, rowsById } from '../../src/capture/writer';
import { flowKeyString, frameFlowsOf, type FlowKey, type FrameFlows, type FrameInput } from '../../src/capture/types';
import { CaptureError } from '../../src/errors';
import { SAMPLE_HEADER } from '../../fixtures/generate';
import { tempDir } from '../helpers/tmp';
import { sampleRows } from '../helpers/samples';

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
  w.append(frame(1), frameFlowsOf([{ ...key, rxBytes: 100, txBytes: 200 }]));
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
  w.append(frame(1), frameFlowsOf([{ ...key, rxBytes: 1, txBytes: 2 }]));
  assert.equal(count.get(), 1);
  w.append(frame(2), frameFlowsOf([]));
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
  w.append(frame(1), frameFlowsOf([{ ...key, rxBytes: 10, txBytes: 20 }, { ...key, rxBytes: 1, txBytes: 2 }, { ...other, rxBytes: 0, txBytes: 0 }]));
  w.append(frame(2), frameFlowsOf([{ ...key, rxBytes: 5, txBytes: 0 }, { ...other, rxBytes: 0, txBytes: 7 }]));
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
  w.append(frame(1), frameFlowsOf([{ ...key, rxBytes: 1, txBytes: 2 }]));
  // Push the next flow id past the packed range, as a capture with over a million flows would.
  const other = new Database(file);
  other.prepare("INSERT INTO flow (id, pid, comm, family, laddr, lport, raddr, rport) VALUES (?, 1, 'x', 4, '0.0.0.0', 0, '0.0.0.0', 0)").run(2 ** 20 + 5);
  other.close();
  const far = { ...key, lport: 6000 };
  w.append(frame(2), frameFlowsOf([{ ...key, rxBytes: 10, txBytes: 20 }, { ...far, rxBytes: 30, txBytes: 40 }]));
  w.close(true);
  const db = new Database(file, { readonly: true });
  assert.deepEqual(db.prepare('SELECT frame, flow, rx_bytes, tx_bytes FROM sample_wide').raw().all(), [[2, 2 ** 20 + 6, 30, 40]]);
  assert.deepEqual(db.prepare('SELECT frame, flow, rx_bytes, tx_bytes FROM sample ORDER BY frame, flow').raw().all(),
    [[1, 1, 1, 2], [2, 1, 10, 20], [2, 2 ** 20 + 6, 30, 40]]);
  db.close();
  const r = CaptureReader.open(file);
  assert.deepEqual(r.flowBytes(2).map((f) => [f.lport, f.rxBytes, f.txBytes]).sort(), [[5000, 10, 20], [6000, 30, 40]]);
  assert.deepEqual([r.totals(1, 2).rxBytes, r.totals(1, 2).txBytes], [41, 62]);
  assert.deepEqual([...sampleRows(r, 1, 2)], [[1, 1, 1, 2], [2, 1, 10, 20], [2, 2 ** 20 + 6, 30, 40]]);
  r.close();
});

/** One frame's flows as the recorder's drain gives them: columns, and the keys of flows that ended. */
function columns(flows: { key: FlowKey; rx: number; tx: number }[], ended: FlowKey[] = []): FrameFlows {
  return {
    count: flows.length,
    flows: flows.map((f) => ({ ...f.key, id: flowKeyString(f.key) })),
    rx: Float64Array.from(flows, (f) => f.rx),
    tx: Float64Array.from(flows, (f) => f.tx),
    ended: ended.map(flowKeyString),
  };
}

test('an ended flow is forgotten after its last frame; its key seen again is a new flow with its own row', (t) => {
  const file = path.join(tempDir(t), 'c.db');
  const w = CaptureWriter.create(file, SAMPLE_HEADER);
  const other = { ...key, lport: 5001 };
  w.append(frame(1), columns([{ key, rx: 10, tx: 20 }, { key: other, rx: 1, tx: 1 }]));
  // the connection closes: its last bytes come in the frame that says it ended
  w.append(frame(2), columns([{ key, rx: 5, tx: 6 }], [key]));
  assert.deepEqual([w.flows, w.liveFlows], [2, 1]);
  // the same ends again: a new connection
  w.append(frame(3), columns([{ key, rx: 7, tx: 8 }, { key: other, rx: 2, tx: 2 }]));
  assert.deepEqual([w.flows, w.liveFlows], [3, 2]);
  w.close(true);
  const db = new Database(file, { readonly: true });
  assert.deepEqual(db.prepare('SELECT id, lport FROM flow ORDER BY id').raw().all(), [[1, 5000], [2, 5001], [3, 5000]]);
  assert.deepEqual(db.prepare('SELECT frame, flow, rx_bytes, tx_bytes FROM sample ORDER BY frame, flow').raw().all(),
    [[1, 1, 10, 20], [1, 2, 1, 1], [2, 1, 5, 6], [3, 2, 2, 2], [3, 3, 7, 8]]);
  db.close();
});

test('the writer holds only the flows alive at once, however many came and went', (t) => {
  const file = path.join(tempDir(t), 'c.db');
  const w = CaptureWriter.create(file, SAMPLE_HEADER);
  // 200 frames of 100 new connections each, every one ending in the next frame
  let previous: FlowKey[] = [];
  for (let f = 1; f <= 200; f++) {
    const keys = Array.from({ length: 100 }, (_, i): FlowKey => ({ ...key, lport: 1024 + ((f * 100 + i) % 60000), raddr: `10.0.${f % 256}.${i}` }));
    w.append(frame(f), columns(keys.map((k) => ({ key: k, rx: f, tx: 3 })), previous));
    assert.ok(w.liveFlows <= 100, `frame ${f}: ${w.liveFlows} flows held`);
    previous = keys;
  }
  assert.equal(w.flows, 20_000);
  w.close(true);
  const db = new Database(file, { readonly: true });
  assert.deepEqual(db.prepare('SELECT count(*), sum(rx_bytes), sum(tx_bytes) FROM sample').raw().get(),
    [20_000, 100 * ((200 * 201) / 2), 3 * 20_000]);
  db.close();
});

test('rows sort by flow id, packed into numbers or, past what a number holds, with a comparator', () => {
  let seed = 7;
  const rnd = () => (seed = (seed * 48271) % 2147483647) / 2147483647;
  for (const span of [1000, 2 ** 40]) {
    const ids = new Float64Array(500);
    const used = new Set<number>();
    for (let i = 0; i < ids.length; i++) {
      let id;
      do id = 1 + Math.floor(rnd() * span);
      while (used.has(id));
      used.add(id);
      ids[i] = id;
    }
    const order = Array.from(rowsById(ids, 400));
    assert.deepEqual(order.map((r) => ids[r]), Array.from(ids.subarray(0, 400)).sort((a, b) => a - b), `ids up to ${span}`);
    assert.deepEqual([...order].sort((a, b) => a - b), Array.from({ length: 400 }, (_, i) => i));
  }
});
