// A capture whose names carry terminal escape sequences, read by every command that prints text: nothing
// but tcptop's own output may reach the terminal, and the machine formats keep the exact values.
import Database from 'better-sqlite3';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { tcptop } from '../helpers/cli';
import { SAMPLE } from '../helpers/paths';
import { tempDir } from '../helpers/tmp';

const TITLE = '\x1b]0;PWNED\x07\x1b[2J';
const RED = 'web\x1b[31m\x9b1m';
// Anything a terminal acts on: C0 controls but newline, DEL, C1.
const CONTROL = /[\x00-\x09\x0b-\x1f\x7f-\x9f]/;

function hostile(dir: string): string {
  const file = path.join(dir, 'hostile.db');
  fs.copyFileSync(SAMPLE, file);
  const db = new Database(file);
  db.prepare("UPDATE flow SET comm = ? WHERE comm = 'nginx'").run(TITLE);
  db.prepare("UPDATE flow SET comm = ? WHERE comm = 'curl'").run('=HYPERLINK("x")');
  for (const [k, v] of [['hostname', RED], ['kernel_release', `6.1\x1b[5m`], ['boot_id', 'id\x07'],
    ['command_line', JSON.stringify(['tcptop', 'record', '-o', 'a\x1b[8mb.db'])], ['note_from\x1b[1m', 'x\x1bPy']]) {
    db.prepare('INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)').run(k, v);
  }
  db.close();
  return file;
}

test('replay, info, report and the chart print escaped names and no control characters of the file', (t) => {
  const file = hostile(tempDir(t));
  const runs: [string[], RegExp[]][] = [
    [['replay', '-C', file], [/\\x1b\]0;PWNED/]],
    [['replay', file, '1', '2'], [/\\x1b\]0;PWNED/]],
    [['info', file], [/^host +web\\x1b\[31m\\x9b1m, kernel 6\.1\\x1b\[5m, boot id id\\x07$/m, /^command +tcptop record -o a\\x1b\[8mb\.db$/m,
      /^note from\\x1b\[1m +x\\x1bPy$/m]],
    [['report', '--by', 'comm', file], [/host web\\x1b\[31m\\x9b1m/, /^\\x1b\]0;PWNED\\x07\\x1b\[2J +/m]],
    [['report', '--by', 'comm', '--chart', '--top', '8', file], [/^ +┄┄ \\x1b\]0;PWNED\\x07\\x1b\[2J$/m]],
  ];
  for (const [args, expect] of runs) {
    const r = tcptop(args);
    assert.equal(r.status, 0, `${args.join(' ')}: ${r.stderr}`);
    // The clearing of the screen without -C is tcptop's own, and the only escape sequence allowed.
    const out = r.stdout.replaceAll('\x1b[H\x1b[2J', '');
    assert.doesNotMatch(out, CONTROL, `${args[0]}: a control character of the file reached the terminal`);
    assert.doesNotMatch(r.stderr, CONTROL);
    for (const re of expect) assert.match(out, re, args.join(' '));
  }
});

test('an error that quotes a name from the file shows it escaped, in one line', (t) => {
  const dir = tempDir(t);
  const file = hostile(dir);
  const bad = path.join(dir, 'bad\x1b[31m\x07.db');
  fs.copyFileSync(file, bad);
  const db = new Database(bad);
  db.exec('DROP TABLE flow');
  db.close();
  const r = tcptop(['info', bad]);
  assert.equal(r.status, 2);
  assert.doesNotMatch(r.stderr, CONTROL);
  assert.match(r.stderr, /bad\\x1b\[31m\\x07\.db: damaged capture: table flow is missing/);
});

test('JSON keeps the exact names; CSV quotes them and defuses a formula', (t) => {
  const file = hostile(tempDir(t));
  const json = JSON.parse(tcptop(['report', '--by', 'comm', '--format', 'json', file]).stdout) as { hostname: string; rows: { comm: string }[] };
  assert.equal(json.hostname, RED);
  assert.ok(json.rows.some((r) => r.comm === TITLE));
  const info = JSON.parse(tcptop(['info', '--json', file]).stdout) as { hostname: string; kernel_release: string };
  assert.deepEqual([info.hostname, info.kernel_release], [RED, '6.1\x1b[5m']);
  const csv = tcptop(['report', '--by', 'comm', '--format', 'csv', file]).stdout.split('\n');
  assert.ok(csv.some((l) => l.includes(`,"${TITLE}",`)), 'the exact name, quoted');
  assert.ok(csv.some((l) => l.includes(`,"'=HYPERLINK(""x"")",`)), 'a formula becomes text');
  assert.ok(!csv.some((l) => /,"?=/.test(l)), 'no field starts with =');
});
