import Database from 'better-sqlite3';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { test } from 'node:test';
import { generateSample } from '../fixtures/generate';
import { SAMPLE } from './helpers/paths';
import { tempDir } from './helpers/tmp';

function dump(file: string): unknown {
  const db = new Database(file, { readonly: true });
  const out = {
    pragmas: [db.pragma('application_id', { simple: true }), db.pragma('user_version', { simple: true })],
    meta: db.prepare('SELECT * FROM meta ORDER BY key').raw().all(),
    frames: db.prepare('SELECT * FROM frame ORDER BY seq').raw().all(),
    flows: db.prepare('SELECT * FROM flow ORDER BY id').raw().all(),
    samples: db.prepare('SELECT * FROM sample ORDER BY frame, flow').raw().all(),
  };
  db.close();
  return out;
}

test('the committed sample capture is what the generator writes (run npm run fixtures after changing it)', (t) => {
  const fresh = path.join(tempDir(t), 'sample.db');
  generateSample(fresh);
  assert.deepEqual(dump(SAMPLE), dump(fresh));
});
