import Database from 'better-sqlite3';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { SAMPLE_FRAMES, SAMPLE_HEADER, sampleFlows } from '../../fixtures/generate';
import { CaptureWriter } from '../../src/capture/writer';
import { flowKeyString, frameFlowsOf } from '../../src/capture/types';
import { parseAddress } from '../../src/capture/address';
import { classify, v4Block } from '../../src/export/address';
import { BAD_FILES } from '../helpers/bad-captures';
import { oneLine, tcptop, tcptopAsync } from '../helpers/cli';
import { SAMPLE } from '../helpers/paths';
import { tempDir } from '../helpers/tmp';

const sha = (file: string) => createHash('sha256').update(fs.readFileSync(file)).digest('hex');

function exportOk(args: string[]): void {
  const r = tcptop(['export', ...args]);
  assert.equal(r.stderr, '');
  assert.equal(r.status, 0);
  assert.match(r.stdout, /^exported \d+ frames \(.*\) and \d+ flows to .*\n$/);
}

function rows(file: string, sql: string): unknown[][] {
  const db = new Database(file, { readonly: true });
  try {
    return db.prepare(sql).raw().all() as unknown[][];
  } finally {
    db.close();
  }
}

const meta = (file: string) => Object.fromEntries(rows(file, 'SELECT key, value FROM meta') as [string, string][]);

/** A report as JSON without the file name, which differs by design. */
function report(file: string, args: string[]): unknown {
  const r = tcptop(['report', '--json', ...args, file]);
  assert.equal(r.status, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  delete j.file;
  return j;
}

test('round trip: reports on the export equal reports on the same window of the original', (t) => {
  const out = path.join(tempDir(t), 'window.db');
  exportOk([SAMPLE, '-o', out, '--from', '15:00:03', '--to', '15:00:08']);
  const window = ['--from', '15:00:03', '--to', '15:00:08'];
  for (const args of [[], ['--by', 'flow', '--window', '2s'], ['--by', 'comm', '--by', 'port', '--top', '2', '--sort', 'peak'], ['--by', 'pid', '--window', '4s', '--top', '3']]) {
    assert.deepEqual(report(out, args), report(SAMPLE, [...args, ...window]), args.join(' '));
  }
  const chart = (file: string, extra: string[]) => tcptop(['report', '--chart', '--width', '72', ...extra, file]).stdout;
  assert.equal(chart(out, []), chart(SAMPLE, window));
});

test('the export opens with info and replay: the frames, flows and bytes of the window, and the same views', (t) => {
  const out = path.join(tempDir(t), 'window.db');
  exportOk([SAMPLE, '-o', out, '--from', '15:00:03', '--to', '15:00:08']);
  const info = JSON.parse(tcptop(['info', '--json', out]).stdout);
  const frames = [3, 4, 5, 6, 7, 8];
  const flows = frames.flatMap(sampleFlows);
  assert.equal(info.frames, 6);
  assert.equal(info.flows, new Set(flows.map((f) => `${f.pid} ${f.laddr} ${f.lport} ${f.raddr} ${f.rport}`)).size);
  assert.equal(info.rx_bytes, flows.reduce((s, f) => s + f.rxBytes, 0));
  assert.equal(info.tx_bytes, flows.reduce((s, f) => s + f.txBytes, 0));
  assert.equal(info.ended_cleanly, true);
  assert.equal(info.hostname, 'web-1');
  const replay = (file: string, extra: string[]) => tcptop(['replay', '-C', ...extra, file]);
  assert.equal(replay(out, []).stdout, replay(SAMPLE, ['--from', '15:00:03', '--to', '15:00:08']).stdout);
  assert.equal(replay(out, []).status, 0);
});

test('flows with the same ends at different times (a port reused by a later connection) stay apart in the export', (t) => {
  const dir = tempDir(t);
  const src = path.join(dir, 'reused.db');
  const w = CaptureWriter.create(src, SAMPLE_HEADER);
  const key = { pid: 7, comm: 'curl', family: 4 as const, laddr: '10.0.0.1', lport: 40000, raddr: '10.0.0.2', rport: 443 };
  const keyed = { ...key, id: flowKeyString(key) };
  const frame = (n: number) => ({ wallUs: SAMPLE_HEADER.startWallUs + n * 1e6, monoUs: n * 1e6, intervalUs: 1e6,
    loadavg: { load1: 0, load5: 0, load15: 0, running: 1, tasks: 9, lastPid: 1, raw: '0.00 0.00 0.00 1/9 1' }, lost: { events: 0, rxBytes: 0, txBytes: 0 } });
  w.append(frame(1), { count: 1, flows: [keyed], rx: [100], tx: [10], ended: [keyed.id] });
  w.append(frame(2), { count: 1, flows: [keyed], rx: [200], tx: [20], ended: [] });
  w.close(true);
  assert.deepEqual(rows(src, 'SELECT id FROM flow'), [[1], [2]]);
  const out = path.join(dir, 'out.db');
  exportOk([src, '-o', out]);
  assert.deepEqual(rows(out, 'SELECT id, lport FROM flow ORDER BY id'), [[1, 40000], [2, 40000]]);
  assert.deepEqual(rows(out, 'SELECT frame, flow, rx_bytes, tx_bytes FROM sample ORDER BY frame'), [[1, 1, 100, 10], [2, 2, 200, 20]]);
});

test('the export is one file of the same schema, mode 0600, journal DELETE, with the metadata and notes on the export', (t) => {
  const dir = tempDir(t);
  const out = path.join(dir, 'full.db');
  exportOk([SAMPLE, '-o', out]);
  assert.deepEqual(fs.readdirSync(dir), ['full.db']);
  assert.equal(fs.statSync(out).mode & 0o777, 0o600);
  const schema = (f: string) => rows(f, "SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY name");
  assert.deepEqual(schema(out), schema(SAMPLE));
  const db = new Database(out, { readonly: true });
  assert.equal(db.pragma('journal_mode', { simple: true }), 'delete');
  assert.equal(db.pragma('application_id', { simple: true }), 0x74637074);
  assert.equal(db.pragma('user_version', { simple: true }), 1);
  assert.equal(db.pragma('freelist_count', { simple: true }), 0);
  db.close();
  const before = meta(SAMPLE);
  const after = meta(out);
  for (const [k, v] of Object.entries(before)) assert.equal(after[k], v, k);
  assert.equal(after.export_anonymized, 'no');
  assert.equal(after.export_from, '2026-11-20T14:00:00.000Z');
  assert.equal(after.export_to, '2026-11-20T14:00:12.002Z');
  assert.equal(after.export_source_frames, '1-12 of 1-12');
  assert.equal(after.export_source_ended_cleanly, '1');
  assert.ok(Math.abs(Date.parse(after.export_time) - Date.now()) < 60_000);
  // Frames and samples are the original's, byte for byte.
  assert.deepEqual(rows(out, 'SELECT * FROM frame ORDER BY seq'), rows(SAMPLE, 'SELECT * FROM frame ORDER BY seq'));
  const samples = (f: string) => rows(f, 'SELECT frame, pid, comm, laddr, lport, raddr, rport, rx_bytes, tx_bytes FROM flow_sample ORDER BY frame, pid, lport, laddr');
  assert.deepEqual(samples(out), samples(SAMPLE));
});

test('a window is renumbered from frame 1; metadata keys this version does not know are carried over', (t) => {
  const dir = tempDir(t);
  const src = path.join(dir, 'src.db');
  fs.copyFileSync(SAMPLE, src);
  const db = new Database(src);
  db.prepare("INSERT INTO meta (key, value) VALUES ('site_note', 'rack 7')").run();
  db.close();
  const out = path.join(dir, 'w.db');
  exportOk([src, '-o', out, '--from', '+10s']);
  assert.deepEqual(rows(out, 'SELECT seq FROM frame ORDER BY seq').flat(), [1, 2, 3]);
  assert.equal(meta(out).site_note, 'rack 7');
  assert.equal(meta(out).export_source_frames, '10-12 of 1-12');
});

test('the original is never modified: same bytes, same time, nothing new beside it', (t) => {
  const dir = tempDir(t);
  const src = path.join(dir, 'src.db');
  fs.copyFileSync(SAMPLE, src);
  const mtime = fs.statSync(src).mtimeMs;
  const hash = sha(src);
  exportOk([src, '-o', path.join(dir, 'a.db'), '--anonymize']);
  exportOk([src, '-o', path.join(dir, 'b.db'), '--from', '15:00:05']);
  assert.equal(sha(src), hash);
  assert.equal(fs.statSync(src).mtimeMs, mtime);
  assert.deepEqual(fs.readdirSync(dir).sort(), ['a.db', 'b.db', 'src.db']);
});

test('a capture being recorded is exported as far as it goes, and the recorder carries on undisturbed', async (t) => {
  const dir = tempDir(t);
  const src = path.join(dir, 'live.db');
  const w = CaptureWriter.create(src, SAMPLE_HEADER);
  const frame = (i: number) => ({
    wallUs: SAMPLE_HEADER.startWallUs + i * 1_000_000, monoUs: 5e9 + i * 1_000_000, intervalUs: 1_000_000,
    loadavg: { load1: 0, load5: 0, load15: 0, running: 1, tasks: 1, lastPid: 1, raw: '0.00 0.00 0.00 1/1 1' },
    lost: { events: 0, rxBytes: 0, txBytes: 0 },
  });
  for (let i = 1; i <= 5; i++) w.append(frame(i), frameFlowsOf(sampleFlows(i)));
  assert.ok(fs.existsSync(`${src}-wal`), 'the recorder is in WAL mode');
  const out = path.join(dir, 'now.db');
  // The export runs in a child while the recorder keeps appending here.
  const child = tcptopAsync(['export', src, '-o', out]);
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const done = new Promise<number>((resolve) => child.on('close', (code) => resolve(code ?? -1)));
  let i = 6;
  const timer = setInterval(() => {
    if (i <= SAMPLE_FRAMES) w.append(frame(i), frameFlowsOf(sampleFlows(i++)));
  }, 5);
  const code = await done;
  clearInterval(timer);
  assert.equal(code, 0, stderr);
  while (i <= SAMPLE_FRAMES) w.append(frame(i), frameFlowsOf(sampleFlows(i++)));
  w.close(true);
  const exported = JSON.parse(tcptop(['info', '--json', out]).stdout);
  assert.ok(exported.frames >= 5 && exported.frames <= SAMPLE_FRAMES, String(exported.frames));
  const m = meta(out);
  assert.equal(m.export_source_ended_cleanly, '0');
  assert.equal(m.ended_cleanly, '1');
  // The recording has every frame and byte it was given.
  const whole = JSON.parse(tcptop(['info', '--json', src]).stdout);
  assert.equal(whole.frames, SAMPLE_FRAMES);
  const all = Array.from({ length: SAMPLE_FRAMES }, (_, k) => sampleFlows(k + 1)).flat();
  assert.equal(whole.rx_bytes, all.reduce((s, f) => s + f.rxBytes, 0));
  // And what was exported is exactly the first frames of it.
  const firstFrames = Array.from({ length: exported.frames }, (_, k) => sampleFlows(k + 1)).flat();
  assert.equal(exported.rx_bytes, firstFrames.reduce((s, f) => s + f.rxBytes, 0));
});

/** Every way an original address can sit in a file: its text, and its raw 4 or 16 bytes. */
function forms(addr: string): { what: string; bytes: Buffer }[] {
  const b = parseAddress(addr)!;
  const out = [{ what: `${addr} as text`, bytes: Buffer.from(addr) }, { what: `${addr} as ${b.length} bytes`, bytes: Buffer.from(b) }];
  if (b.length === 4) out.push({ what: `${addr} as mapped bytes`, bytes: Buffer.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, ...b]) });
  if (b.length === 16 && addr.startsWith('::ffff:')) {
    const v4 = addr.slice(7);
    out.push({ what: `${v4} as text`, bytes: Buffer.from(v4) }, { what: `${v4} as 4 bytes`, bytes: Buffer.from(b.subarray(12)) });
  }
  return out;
}

test('an anonymized export holds no original address or hostname anywhere, byte for byte', (t) => {
  const dir = tempDir(t);
  const out = path.join(dir, 'anon.db');
  exportOk([SAMPLE, '-o', out, '--anonymize']);
  const data = fs.readFileSync(out);
  const originals = new Set(Array.from({ length: SAMPLE_FRAMES }, (_, i) => sampleFlows(i + 1)).flat().flatMap((f) => [f.laddr, f.raddr]));
  const secret = [...originals].filter((a) => !['loopback', 'unspecified'].includes(classify(parseAddress(a)!)));
  assert.ok(secret.length >= 6, secret.join(' '));
  for (const a of secret) for (const f of forms(a)) assert.equal(data.indexOf(f.bytes), -1, `${f.what} is in the file`);
  // The same scan finds them all in a plain export: it can fail.
  const plain = path.join(dir, 'plain.db');
  exportOk([SAMPLE, '-o', plain]);
  const plainData = fs.readFileSync(plain);
  for (const a of secret) assert.notEqual(plainData.indexOf(Buffer.from(a)), -1, a);
  assert.notEqual(plainData.indexOf(Buffer.from(SAMPLE_HEADER.hostname)), -1);
  fs.unlinkSync(plain);
  assert.equal(data.indexOf(Buffer.from(SAMPLE_HEADER.hostname)), -1, 'the hostname is in the file');
  assert.equal(data.indexOf(Buffer.from(SAMPLE_HEADER.bootId)), -1, 'the boot id is in the file');
  assert.equal(data.indexOf(Buffer.from('generate.js')), -1, 'the command line is in the file');
  const m = meta(out);
  assert.equal(m.hostname, 'anonymized');
  assert.equal(m.command_line, '["(anonymized)"]');
  assert.equal(m.export_anonymized, 'yes');
  assert.equal(m.export_anonymized_comm, 'no');
  assert.deepEqual(fs.readdirSync(dir), ['anon.db']);
});

test('anonymized addresses keep family and class, map consistently, and reports keep their shape', (t) => {
  const out = path.join(tempDir(t), 'anon.db');
  exportOk([SAMPLE, '-o', out, '--anonymize']);
  const before = rows(SAMPLE, 'SELECT pid, comm, family, laddr, lport, raddr, rport FROM flow ORDER BY id');
  const after = rows(out, 'SELECT pid, comm, family, laddr, lport, raddr, rport FROM flow ORDER BY id');
  assert.equal(after.length, before.length);
  const map = new Map<string, string>();
  before.forEach((b, i) => {
    const a = after[i];
    assert.deepEqual([a[0], a[1], a[2], a[4], a[6]], [b[0], b[1], b[2], b[4], b[6]], 'pid, comm, family and ports are kept');
    for (const [o, p] of [[b[3], a[3]], [b[5], a[5]]] as [string, string][]) {
      const ob = parseAddress(o)!;
      const pb = parseAddress(p)!;
      assert.equal(pb.length, ob.length, `${o} -> ${p}`);
      assert.equal(classify(pb), classify(ob), `${o} -> ${p}`);
      assert.equal(p.startsWith('::ffff:'), o.startsWith('::ffff:'), `${o} -> ${p}`);
      if (classify(ob) === 'loopback') assert.equal(p, o);
      if (ob.length === 4 && v4Block(ob)) assert.equal(v4Block(pb)?.base, v4Block(ob)!.base);
      if (map.has(o)) assert.equal(map.get(o), p, `${o} maps to one pseudonym`);
      map.set(o, p);
    }
  });
  assert.equal(new Set(map.values()).size, map.size, 'different addresses stay different');
  // The same numbers per group: only the names differ.
  const shape = (file: string) => (report(file, ['--by', 'host']) as any).rows.map((r: any) => [r.rx_bytes, r.tx_bytes, r.peak_bytes_per_sec]);
  assert.deepEqual(shape(out), shape(SAMPLE));
  const infoBefore = JSON.parse(tcptop(['info', '--json', SAMPLE]).stdout);
  const infoAfter = JSON.parse(tcptop(['info', '--json', out]).stdout);
  assert.deepEqual([infoAfter.frames, infoAfter.flows, infoAfter.rx_bytes, infoAfter.tx_bytes], [infoBefore.frames, infoBefore.flows, infoBefore.rx_bytes, infoBefore.tx_bytes]);
});

test('--anonymize-comm replaces process names too, consistently', (t) => {
  const out = path.join(tempDir(t), 'anon.db');
  exportOk([SAMPLE, '-o', out, '--anonymize-comm']);
  const comms = rows(out, 'SELECT DISTINCT comm FROM flow').flat() as string[];
  assert.ok(comms.every((c) => /^proc-\d+$/.test(c)), comms.join(' '));
  assert.equal(comms.length, new Set(rows(SAMPLE, 'SELECT comm FROM flow').flat()).size);
  const data = fs.readFileSync(out);
  for (const c of ['nginx', 'postgres', 'iperf3', 'sshd', 'systemd-resolve']) assert.equal(data.indexOf(Buffer.from(c)), -1, c);
  assert.equal(meta(out).export_anonymized_comm, 'yes');
});

test('a process named after the host is refused under --anonymize alone, with the remedy', (t) => {
  const dir = tempDir(t);
  const src = path.join(dir, 'src.db');
  fs.copyFileSync(SAMPLE, src);
  const db = new Database(src);
  db.prepare("UPDATE flow SET comm = 'web-1-agent' WHERE comm = 'node'").run();
  db.close();
  const r = tcptop(['export', src, '-o', path.join(dir, 'x.db'), '--anonymize']);
  assert.equal(r.status, 2);
  assert.equal(oneLine(r), "tcptop: --anonymize: the process name 'web-1-agent' contains the hostname (add --anonymize-comm)");
  assert.deepEqual(fs.readdirSync(dir), ['src.db']);
  exportOk([src, '-o', path.join(dir, 'y.db'), '--anonymize-comm']);
});

test('an existing output is refused unless --force, and a symlink there is replaced, never followed', (t) => {
  const dir = tempDir(t);
  const out = path.join(dir, 'out.db');
  fs.writeFileSync(out, 'keep me');
  const r = tcptop(['export', SAMPLE, '-o', out]);
  assert.equal(r.status, 1);
  assert.equal(oneLine(r), `tcptop: ${out}: file exists (choose another name, or use --force to replace it)`);
  assert.equal(fs.readFileSync(out, 'utf8'), 'keep me');
  exportOk([SAMPLE, '-o', out, '--force']);
  assert.equal(JSON.parse(tcptop(['info', '--json', out]).stdout).frames, SAMPLE_FRAMES);
  const target = path.join(dir, 'target.txt');
  fs.writeFileSync(target, 'not a capture');
  const link = path.join(dir, 'link.db');
  fs.symlinkSync(target, link);
  assert.equal(tcptop(['export', SAMPLE, '-o', link]).status, 1);
  exportOk([SAMPLE, '-o', link, '--force']);
  assert.equal(fs.readFileSync(target, 'utf8'), 'not a capture');
  assert.ok(!fs.lstatSync(link).isSymbolicLink());
});

test('exporting a capture onto itself is refused, even with --force', (t) => {
  const dir = tempDir(t);
  const src = path.join(dir, 'src.db');
  fs.copyFileSync(SAMPLE, src);
  const hash = sha(src);
  const r = tcptop(['export', src, '-o', path.join(dir, '.', 'src.db'), '--force']);
  assert.equal(r.status, 2);
  assert.match(oneLine(r), /^tcptop: -o\/--output: .*src\.db is the capture being exported \(choose another name\)$/);
  assert.equal(sha(src), hash);
});

const BAD_OPTIONS: [string[], RegExp][] = [
  [[SAMPLE], /^tcptop: -o\/--output: required \(the capture file to write\)$/],
  [[SAMPLE, '-o', 'OUT', '--from', '15:00:07', '--to', '15:00:05'], /^tcptop: --from 2026-11-20 15:00:07 is after --to 2026-11-20 15:00:05$/],
  [[SAMPLE, '-o', 'OUT', '--from', '16:00'], /^tcptop: no frames in the range asked for \(the capture spans 2026-11-20 15:00:00 to 2026-11-20 15:00:12\)$/],
  [[SAMPLE, '-o', 'OUT', '--to', 'yesterday'], /^tcptop: --to: invalid time 'yesterday'/],
  [[SAMPLE, '-o', 'OUT', '--bogus'], /^tcptop export: unknown option '--bogus'$/],
];

for (const [args, message] of BAD_OPTIONS) {
  test(`tcptop export ${args.join(' ')} is refused in one line with status 2, writing nothing`, (t) => {
    const dir = tempDir(t);
    const r = tcptop(['export', ...args.map((a) => (a === 'OUT' ? path.join(dir, 'out.db') : a))]);
    assert.equal(r.status, 2);
    assert.equal(r.stdout, '');
    assert.match(oneLine(r), message);
    assert.deepEqual(fs.readdirSync(dir), []);
  });
}

for (const bad of BAD_FILES) {
  test(`tcptop export of ${bad.name}: one line naming the file and the problem, status 2, no output left`, (t) => {
    const dir = tempDir(t);
    const file = bad.make(dir);
    const out = path.join(dir, 'out.db');
    const r = tcptop(['export', file, '-o', out]);
    assert.equal(r.status, 2);
    assert.equal(r.stdout, '');
    const line = oneLine(r);
    assert.ok(line.startsWith(`tcptop: ${file}: `), line);
    assert.match(line, bad.problem);
    assert.ok(!fs.existsSync(out));
  });
}
