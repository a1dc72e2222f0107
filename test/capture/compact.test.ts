import Database from 'better-sqlite3';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { SAMPLE_HEADER } from '../../fixtures/generate';
import { compactCapture } from '../../src/capture/compact';
import { CaptureWriter } from '../../src/capture/writer';
import { CaptureError } from '../../src/errors';
import { tempDir } from '../helpers/tmp';

test('compacting leaves no free page holding deleted rows, and one file in DELETE journal mode', (t) => {
  const file = path.join(tempDir(t), 'c.db');
  const w = CaptureWriter.create(file, SAMPLE_HEADER);
  for (let i = 0; i < 200; i++) w.setMeta(`secret_${i}`, `SECRET-MARKER-${i}`.repeat(20));
  w.close(false);
  const db = new Database(file);
  db.exec("DELETE FROM meta WHERE key LIKE 'secret_%'");
  db.close();
  assert.ok(fs.readFileSync(file).includes('SECRET-MARKER'), 'the deleted rows are still in free pages before');
  compactCapture(file);
  const bytes = fs.readFileSync(file);
  assert.ok(!bytes.includes('SECRET-MARKER'));
  const check = new Database(file, { readonly: true });
  assert.equal(check.pragma('freelist_count', { simple: true }), 0);
  assert.equal(check.pragma('journal_mode', { simple: true }), 'delete');
  check.close();
  assert.deepEqual(fs.readdirSync(path.dirname(file)), ['c.db']);
});

test('a file that cannot be compacted is a CaptureError naming it', (t) => {
  const file = path.join(tempDir(t), 'missing.db');
  assert.throws(() => compactCapture(file), (e: unknown) => e instanceof CaptureError && e.message.startsWith(`${file}: cannot compact`));
});
