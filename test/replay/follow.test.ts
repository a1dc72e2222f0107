import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test, type TestContext } from 'node:test';
import Database from 'better-sqlite3';
import { sampleFlows } from '../../fixtures/generate';
import { tcptop, tcptopAsync } from '../helpers/cli';
import { tempDir } from '../helpers/tmp';
import { parseViews } from '../helpers/views';

const WRITER = path.resolve(__dirname, '../helpers/slow-writer.js');

/** Resolves once `ready()` holds, checked whenever the processes print; fails after `ms` with `what`. */
async function until(ready: () => boolean, what: () => string, ms = 20_000): Promise<void> {
  for (const t0 = Date.now(); !ready(); await new Promise((r) => setTimeout(r, 10))) {
    if (Date.now() - t0 > ms) throw new Error(`gave up waiting: ${what()}`);
  }
}

/** The stand-in recorder, stepped a frame at a time: `step(n)` has it commit n frames and waits until they are. */
function slowWriter(t: TestContext, file: string, ms: number) {
  const child = spawn(process.execPath, [WRITER, file, String(ms)], { stdio: ['pipe', 'pipe', 'inherit'] });
  t.after(() => child.kill());
  const exited = once(child, 'exit');
  let out = '';
  let frames = 0;
  child.stdout.on('data', (d) => (out += d));
  return {
    out: () => out,
    async step(n: number): Promise<void> {
      child.stdin.write('\n'.repeat(n));
      frames += n;
      await until(() => out.includes(`frame ${frames}\n`), () => `writer said ${JSON.stringify(out)}`);
    },
    async close(): Promise<void> {
      child.stdin.end();
      await exited;
    },
  };
}

test('replay --follow shows each frame as the recorder commits it and ends when the recording ends cleanly', async (t) => {
  const file = path.join(tempDir(t), 'growing.db');
  const writer = slowWriter(t, file, 200);
  // Start following once the first frame is in.
  await writer.step(1);
  const follower = tcptopAsync(['replay', '-C', '--follow', '--from', '+0s', file]);
  const followerExit = once(follower, 'exit');
  let out = '';
  follower.stdout.on('data', (d) => (out += d));
  let err = '';
  follower.stderr.on('data', (d) => (err += d));
  const viewCount = (): number => (out.startsWith('Tracing') ? parseViews(out).length : 0);
  const shown = (n: number) => until(() => viewCount() >= n, () => `follower showed ${viewCount()} of ${n} views: ${err}`);
  await shown(1);
  // While the recording runs, the follower shows each committed frame, and only those.
  await writer.step(3);
  await shown(4);
  assert.equal(parseViews(out).length, 4);
  assert.equal(follower.exitCode, null, 'the follower waits for more');
  await writer.step(4);
  await writer.close();
  const [code] = await followerExit;
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
  assert.ok(writer.out().includes('closed'));
});

test('replay of a capture still being recorded shows what is committed so far, without disturbing the recorder', async (t) => {
  const file = path.join(tempDir(t), 'growing.db');
  const writer = slowWriter(t, file, 150);
  await writer.step(2);
  const r = tcptop(['replay', '-C', file]);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(parseViews(r.stdout).length, 2);
  const info = JSON.parse(tcptop(['info', '--json', file]).stdout);
  assert.equal(info.ended_cleanly, false);
  assert.equal(info.frames, 2);
  await writer.step(4);
  await writer.close();
  assert.ok(writer.out().includes('closed'));
  assert.equal(JSON.parse(tcptop(['info', '--json', file]).stdout).frames, 6);
  assert.equal(fs.existsSync(`${file}-wal`), false);
});
