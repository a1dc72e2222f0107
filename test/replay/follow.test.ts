import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { sampleFlows } from '../../fixtures/generate';
import { tcptop, tcptopAsync } from '../helpers/cli';
import { tempDir } from '../helpers/tmp';
import { parseViews } from '../helpers/views';

const WRITER = path.resolve(__dirname, '../helpers/slow-writer.js');

test('replay --follow shows each frame as the recorder commits it and ends when the recording ends cleanly', async (t) => {
  const file = path.join(tempDir(t), 'growing.db');
  const writer = spawn(process.execPath, [WRITER, file, '8', '200'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const writerExit = once(writer, 'exit');
  let writerOut = '';
  writer.stdout.on('data', (d) => (writerOut += d));
  // Start following once the first frame is in.
  while (!writerOut.includes('frame 1')) await new Promise((r) => setTimeout(r, 20));
  const follower = tcptopAsync(['replay', '-C', '--follow', '--from', '+0s', file]);
  const followerExit = once(follower, 'exit');
  let out = '';
  follower.stdout.on('data', (d) => (out += d));
  let err = '';
  follower.stderr.on('data', (d) => (err += d));
  // While the recording runs, the follower has printed some frames but not all.
  while (!writerOut.includes('frame 4')) await new Promise((r) => setTimeout(r, 20));
  await new Promise((r) => setTimeout(r, 150));
  const midway = parseViews(out).length;
  assert.ok(midway >= 3 && midway < 8, `midway: ${midway} views`);
  const [code] = await followerExit;
  await writerExit;
  assert.equal(err, '');
  assert.equal(code, 0);
  const views = parseViews(out);
  assert.equal(views.length, 8);
  views.forEach((v, i) => {
    const rx = v.rows.reduce((s, r) => s + r.rxKb, 0);
    assert.equal(rx, sampleFlows(i + 1).reduce((s, f) => s + Math.floor(f.rxBytes / 1024), 0), `view ${i + 1}`);
  });
  // The recorder still closed cleanly with a reader attached to the file.
  const db = new Database(file, { readonly: true });
  assert.equal(db.prepare("SELECT value FROM meta WHERE key = 'ended_cleanly'").pluck().get(), '1');
  db.close();
  assert.ok(writerOut.includes('closed'));
});

test('replay of a capture still being recorded shows what is committed so far, without disturbing the recorder', async (t) => {
  const file = path.join(tempDir(t), 'growing.db');
  const writer = spawn(process.execPath, [WRITER, file, '6', '150'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const writerExit = once(writer, 'exit');
  let writerOut = '';
  writer.stdout.on('data', (d) => (writerOut += d));
  while (!writerOut.includes('frame 2')) await new Promise((r) => setTimeout(r, 10));
  const r = tcptop(['replay', '-C', file]);
  assert.equal(r.status, 0, r.stderr);
  const n = parseViews(r.stdout).length;
  assert.ok(n >= 2 && n < 6, `${n} views`);
  const info = JSON.parse(tcptop(['info', '--json', file]).stdout);
  assert.equal(info.ended_cleanly, false);
  await writerExit;
  assert.ok(writerOut.includes('closed'));
  assert.equal(JSON.parse(tcptop(['info', '--json', file]).stdout).frames, 6);
  assert.equal(fs.existsSync(`${file}-wal`), false);
});
