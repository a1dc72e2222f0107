// Captures whose structure or values lie, made from the sample capture by rule rather than by hand: every
// table swapped for a view, every trigger kind on every table, every column given every kind of bad value, and
// so on. Each case says what a reader must do with it: refuse it on open, refuse it when it reads the bad
// part, or read it and show what the file holds.
//
// Run as a script (node hostile-captures.js DIR START), it makes each case from START on in DIR, reads it
// through the reader calls the commands make and prints one JSON line per case: test/capture/hostile.test.ts
// runs it in a child process, so that a read that never returns (SQLite holds the thread) is ended by the
// test's timeout instead of hanging the suite.
import Database from 'better-sqlite3';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CaptureReader, SampleColumns } from '../../src/capture/reader';
import { CaptureError } from '../../src/errors';
import { rebin, type FrameFlows } from '../../src/replay/frames';
import { infoJson, infoText } from '../../src/info/info';
import { displayZone } from '../../src/time/zone';
import { renderFrame } from '../../src/view/classic';
import { SAMPLE } from './paths';

/** What a reader read: everything the commands show, flows resolved. */
export interface Snapshot {
  meta: Record<string, unknown>;
  frames: { frame: Record<string, unknown>; samples: { flow: Record<string, unknown>; rx: number; tx: number }[] }[];
  totals: { rxBytes: number; txBytes: number; flows: number; frames: number; lost: { events: number; rxBytes: number; txBytes: number } } | null;
  /** The frames found by time (as --from and --to find them) at the middle frame's times. */
  seeks: (number | null)[];
}

export type Expect =
  /** Every command refuses the file as soon as it opens it, with this problem. */
  | { open: RegExp }
  /** A command that reads the bad part (replay reads every frame and flow) refuses it with this problem. */
  | { refused: RegExp }
  /** The file is read; `check` compares what was read with the sample's snapshot and says what is wrong, or null. */
  | { reads: (got: Snapshot, orig: Snapshot) => string | null }
  /** Either refused, or read exactly as the sample (a lie SQLite does not depend on). */
  | { refusedOrSame: true }
  /** Either refused, or read exactly as the capture `baseline` makes (the same capture, undamaged). */
  | { refusedOrSameAs: (dir: string) => string };

export interface HostileCase {
  kind: string;
  name: string;
  make(dir: string): string;
  expect: Expect;
}

const SCHEMA_ALTERED = /damaged capture: .*\(the file was altered after recording; use an unaltered copy\)$/;

function fileName(c: { kind: string; name: string }): string {
  return `${c.kind}-${c.name}`.replace(/[^A-Za-z0-9]+/g, '-').slice(0, 80) + '.db';
}

/** A copy of the sample changed by `change`, on a connection that may rewrite the schema. */
function altered(dir: string, name: string, change: (db: Database.Database) => void): string {
  const file = path.join(dir, name);
  fs.copyFileSync(SAMPLE, file);
  const db = new Database(file);
  db.unsafeMode(true); // writable_schema needs defensive mode off
  try {
    change(db);
  } finally {
    db.close();
  }
  return file;
}

/** A copy of the sample with values stored by `change` in `table`, NOT NULL or not: SQLite checks it only on writes. */
function storeAnyValue(dir: string, name: string, table: string, change: (db: Database.Database) => void): string {
  let sql = '';
  const file = altered(dir, name, (db) => {
    sql = db.prepare('SELECT sql FROM sqlite_schema WHERE name = ?').pluck().get(table) as string;
    rewriteSql(db, table, (s) => s.replace(/ NOT NULL/g, ''));
  });
  const db = new Database(file);
  db.unsafeMode(true);
  try {
    change(db);
    rewriteSql(db, table, () => sql);
  } finally {
    db.close();
  }
  return file;
}

/** Replaces the CREATE statement SQLite keeps for `name`, without touching the stored rows. */
function rewriteSql(db: Database.Database, name: string, edit: (sql: string) => string): void {
  const sql = db.prepare('SELECT sql FROM sqlite_schema WHERE name = ?').pluck().get(name) as string;
  const next = edit(sql);
  if (next === sql) throw new Error(`rewriteSql: edit of ${name} changed nothing`);
  db.pragma('writable_schema = ON');
  db.prepare('UPDATE sqlite_schema SET sql = ? WHERE name = ?').run(next, name);
  db.pragma('writable_schema = OFF');
}

function setRootpage(db: Database.Database, name: string, page: number): void {
  db.pragma('writable_schema = ON');
  db.prepare('UPDATE sqlite_schema SET rootpage = ? WHERE name = ?').run(page, name);
  db.pragma('writable_schema = OFF');
}

const rootOf = (db: Database.Database, name: string) => Number(db.prepare('SELECT rootpage FROM sqlite_schema WHERE name = ?').pluck().get(name));

const INFINITE = 'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c)';

const TABLE_COLUMNS: Record<string, string[]> = {
  meta: ['key', 'value'],
  frame: ['seq', 'wall_us', 'mono_us', 'interval_us', 'load1', 'load5', 'load15', 'running', 'tasks', 'last_pid', 'loadavg',
    'lost_events', 'lost_rx_bytes', 'lost_tx_bytes'],
  flow: ['id', 'pid', 'comm', 'family', 'laddr', 'lport', 'raddr', 'rport'],
  sample_packed: ['key', 'rx_bytes', 'tx_bytes'],
  sample_wide: ['frame', 'flow', 'rx_bytes', 'tx_bytes'],
};
const TABLES = Object.keys(TABLE_COLUMNS);

/** Renames a table out of the way, dropping the format's views first (SQLite would rewrite them to follow). */
function moveAside(db: Database.Database, table: string): string {
  db.exec('DROP VIEW flow_sample; DROP VIEW sample');
  db.exec(`ALTER TABLE ${table} RENAME TO ${table}_real`);
  return `${table}_real`;
}

function structural(): HostileCase[] {
  const cases: HostileCase[] = [];
  const add = (kind: string, name: string, change: (db: Database.Database) => void, expect: Expect = { open: SCHEMA_ALTERED }) => {
    const c = { kind, name, expect } as HostileCase;
    c.make = (dir) => altered(dir, fileName(c), change);
    cases.push(c);
  };

  // Tables swapped for views: plain, joined to an endless recursive CTE, or made of one alone.
  for (const t of TABLES) {
    const cols = TABLE_COLUMNS[t];
    add('table swapped for a view', `${t} as a plain view`, (db) => {
      const real = moveAside(db, t);
      db.exec(`CREATE VIEW ${t} AS SELECT * FROM ${real}`);
    }, { open: new RegExp(`damaged capture: ${t} is a view, not a table as tcptop writes it \\(the file was altered`) });
    add('table swapped for a view', `${t} joined to an endless CTE`, (db) => {
      const real = moveAside(db, t);
      db.exec(`CREATE VIEW ${t} AS ${INFINITE} SELECT ${cols.map((c) => `r.${c}`).join(', ')} FROM c JOIN ${real} r ON 1`);
    }, { open: new RegExp(`damaged capture: ${t} is a view, not a table as tcptop writes it`) });
    add('table swapped for a view', `${t} as an endless CTE`, (db) => {
      moveAside(db, t);
      db.exec(`CREATE VIEW ${t} (${cols.join(', ')}) AS ${INFINITE} SELECT ${cols.map(() => 'x').join(', ')} FROM c`);
    });
    add('table swapped for a view', `${t} as a view that calls functions on every row`, (db) => {
      const real = moveAside(db, t);
      db.exec(`CREATE VIEW ${t} AS SELECT *, length(zeroblob(100000000)) AS z FROM ${real}`);
    });
  }
  // The format's own views and indexes, redefined.
  add('view redefined', 'sample as an endless CTE', (db) => {
    rewriteSql(db, 'sample', () => `CREATE VIEW sample (frame, flow, rx_bytes, tx_bytes) AS ${INFINITE} SELECT x, x, x, x FROM c`);
  }, { open: /damaged capture: view sample is not defined as tcptop defines it \(the file was altered/ });
  add('view redefined', 'flow_sample recursive', (db) => {
    db.exec(`DROP VIEW flow_sample; CREATE VIEW flow_sample AS ${INFINITE} SELECT x AS frame FROM c`);
  });
  add('view redefined', 'sample with packed keys unpacked differently', (db) => rewriteSql(db, 'sample', (s) => s.replace('key >> 20', 'key >> 21')));
  add('view redefined', 'flow_sample as a table', (db) => db.exec('DROP VIEW flow_sample; CREATE TABLE flow_sample (frame)'),
    { open: /damaged capture: flow_sample is a table, not a view as tcptop writes it/ });
  add('view redefined', 'sample dropped', (db) => db.exec('DROP VIEW flow_sample; DROP VIEW sample'),
    { open: /damaged capture: view sample is missing/ });
  add('index redefined', 'frame_wall on another column', (db) => db.exec('DROP INDEX frame_wall; CREATE INDEX frame_wall ON frame (mono_us)'),
    { open: /damaged capture: index frame_wall is not defined as tcptop defines it/ });
  add('index redefined', 'frame_mono partial', (db) => db.exec('DROP INDEX frame_mono; CREATE INDEX frame_mono ON frame (mono_us) WHERE seq > 3'));
  add('index redefined', 'frame_mono on an expression', (db) => db.exec('DROP INDEX frame_mono; CREATE INDEX frame_mono ON frame (mono_us + 0)'));
  add('index redefined', 'frame_wall descending', (db) => rewriteSql(db, 'frame_wall', (s) => s.replace('(wall_us)', '(wall_us DESC)')));
  add('index redefined', 'frame_wall as a view', (db) => db.exec(`DROP INDEX frame_wall; CREATE VIEW frame_wall AS ${INFINITE} SELECT x FROM c`),
    { open: /damaged capture: frame_wall is a view, not an index as tcptop writes it/ });
  add('index redefined', 'frame_mono dropped', (db) => db.exec('DROP INDEX frame_mono'), { open: /damaged capture: index frame_mono is missing/ });

  // Triggers: never fired by a reader, which only reads, but no capture tcptop writes has one.
  for (const t of TABLES) {
    for (const when of ['BEFORE', 'AFTER']) {
      for (const ev of ['INSERT', 'UPDATE', 'DELETE']) {
        add('trigger', `${when} ${ev} on ${t}`, (db) => db.exec(`CREATE TRIGGER t_${when}_${ev} ${when} ${ev} ON ${t} BEGIN SELECT count(*) FROM (${INFINITE} SELECT x FROM c); END`),
          { open: new RegExp(`damaged capture: it holds a trigger tcptop does not write: t_${when}_${ev} \\(the file was altered`) });
      }
    }
  }
  for (const v of ['sample', 'flow_sample']) {
    for (const ev of ['INSERT', 'UPDATE', 'DELETE']) {
      add('trigger', `INSTEAD OF ${ev} on ${v}`, (db) => db.exec(`CREATE TRIGGER t_${v}_${ev} INSTEAD OF ${ev} ON ${v} BEGIN SELECT 1; END`));
    }
  }

  // Objects the format does not define.
  add('unknown object', 'an extra table', (db) => db.exec('CREATE TABLE notes (x)'), { open: /damaged capture: it holds a table tcptop does not write: notes/ });
  add('unknown object', 'an endless extra view', (db) => db.exec(`CREATE VIEW v AS ${INFINITE} SELECT x FROM c`), { open: /it holds a view tcptop does not write: v/ });
  for (const [t, c] of [['meta', 'value'], ['frame', 'load1'], ['flow', 'comm'], ['sample_packed', 'rx_bytes'], ['sample_wide', 'tx_bytes']]) {
    add('unknown object', `an extra index on ${t}`, (db) => db.exec(`CREATE INDEX extra_${t} ON ${t} (${c})`), { open: /it holds an index tcptop does not write: extra_/ });
  }
  add('unknown object', 'statistics from ANALYZE (stat1, stat4)', (db) => db.exec('ANALYZE'), { open: /it holds a table tcptop does not write: sqlite_stat/ });
  add('unknown object', 'sqlite_sequence', (db) => db.exec('CREATE TABLE a (id INTEGER PRIMARY KEY AUTOINCREMENT); INSERT INTO a DEFAULT VALUES'));
  add('unknown object', 'an FTS5 virtual table', (db) => db.exec('CREATE VIRTUAL TABLE ft USING fts5(x)'));
  add('unknown object', 'an R*Tree virtual table', (db) => db.exec('CREATE VIRTUAL TABLE rt USING rtree(id, a, b)'));
  add('unknown object', 'a table with a name as long as a page', (db) => db.exec(`CREATE TABLE "${'n'.repeat(5000)}" (x)`), { open: /it holds a table tcptop does not write: n+\.\.\./ });
  add('unknown object', 'a table named with control characters', (db) => db.exec('CREATE TABLE "t\x1b[31m" (x)'), { open: /it holds a table tcptop does not write: t\\x1b\[31m/ });

  // Extra columns, some with default or generated values that are expressions evaluated when read.
  for (const t of TABLES) {
    add('extra column', `${t} + a column with a constant default`, (db) => db.exec(`ALTER TABLE ${t} ADD COLUMN extra INTEGER DEFAULT 7`),
      { open: new RegExp(`damaged capture: table ${t} has a column tcptop does not write: extra \\(the file was altered`) });
    add('extra column', `${t} + a column with a default expression`, (db) => rewriteSql(db, t, (s) =>
      // a column goes before the table's constraints
      s.includes('PRIMARY KEY (') ? s.replace('PRIMARY KEY (', 'extra DEFAULT (length(zeroblob(100000000))),\n  PRIMARY KEY (')
        : s.replace(/\n\)( WITHOUT ROWID)?$/, ',\n  extra DEFAULT (length(zeroblob(100000000)))\n)$1')));
    add('extra column', `${t} + a generated column`, (db) => db.exec(`ALTER TABLE ${t} ADD COLUMN extra AS (length(zeroblob(100000000))) VIRTUAL`));
  }

  // Definitions changed while names and columns stay: types, constraints, column order, collation.
  add('definition changed', 'flow.comm declared BLOB', (db) => rewriteSql(db, 'flow', (s) => s.replace(/comm(\s+)TEXT/, 'comm$1BLOB')),
    { open: /damaged capture: table flow is not defined as tcptop defines it \(the file was altered/ });
  add('definition changed', 'sample_packed rx and tx swapped', (db) => rewriteSql(db, 'sample_packed', (s) => s.replace('rx_bytes INTEGER', 'tmp_bytes INTEGER').replace('tx_bytes INTEGER', 'rx_bytes INTEGER').replace('tmp_bytes', 'tx_bytes')));
  add('definition changed', 'frame without NOT NULL', (db) => rewriteSql(db, 'frame', (s) => s.replace(/ NOT NULL/g, '')));
  add('definition changed', 'sample_packed key not the rowid', (db) => rewriteSql(db, 'sample_packed', (s) => s.replace('INTEGER PRIMARY KEY', 'INTEGER')));
  add('definition changed', 'meta key compared without case', (db) => rewriteSql(db, 'meta', (s) => s.replace('TEXT PRIMARY KEY', 'TEXT COLLATE NOCASE PRIMARY KEY')));
  add('definition changed', 'flow with a CHECK constraint', (db) => rewriteSql(db, 'flow', (s) => s.replace(/\n\)$/, ',\n  CHECK (pid > 0)\n)')));
  add('definition changed', 'frame as a STRICT table', (db) => rewriteSql(db, 'frame', (s) => `${s} STRICT`));
  add('definition changed', 'flow laid out otherwise (the same SQL, read)', (db) => rewriteSql(db, 'flow', (s) => s.replace(/\s+/g, '\n    ').replace('\n    (', '(')),
    { reads: (got, orig) => compare(got, orig) });
  add('definition changed', 'flow declared with a different column order', (db) => rewriteSql(db, 'flow', (s) => s.replace(/(laddr\s+TEXT\s+NOT NULL),\n(\s+)(lport\s+INTEGER NOT NULL)/, '$3,\n$2$1')));

  // Root pages that lie: tables reading each other's rows, an index's, or none.
  const swap = (a: string, b: string) => (db: Database.Database) => {
    const ra = rootOf(db, a);
    const rb = rootOf(db, b);
    setRootpage(db, a, rb);
    setRootpage(db, b, ra);
  };
  const anyRefusal = { refused: /damaged capture: / };
  add('root page lie', 'frame and flow swapped', swap('frame', 'flow'), anyRefusal);
  add('root page lie', 'frame and sample_packed swapped', swap('frame', 'sample_packed'), anyRefusal);
  add('root page lie', 'flow and sample_packed swapped', swap('flow', 'sample_packed'), anyRefusal);
  add('root page lie', 'meta and sample_wide swapped', swap('meta', 'sample_wide'), anyRefusal);
  add('root page lie', 'flow reads the frame table', (db) => setRootpage(db, 'flow', rootOf(db, 'frame')), { open: /damaged capture: flow and frame share their root page/ });
  add('root page lie', 'sample_packed reads the flow table', (db) => setRootpage(db, 'sample_packed', rootOf(db, 'flow')), anyRefusal);
  add('root page lie', 'frame reads the index frame_wall', (db) => setRootpage(db, 'frame', rootOf(db, 'frame_wall')), anyRefusal);
  add('root page lie', 'frame_mono reads the flow table', (db) => setRootpage(db, 'frame_mono', rootOf(db, 'flow')), anyRefusal);
  add('root page lie', 'flow with no root page', (db) => setRootpage(db, 'flow', 0), anyRefusal);
  add('root page lie', 'flow rooted past the end of the file', (db) => setRootpage(db, 'flow', 100000), anyRefusal);
  return cases;
}

/** A value to store, and what SQLite keeps of it (a column's affinity converts some). */
type Value = { label: string; v: unknown };

const HUGE = 'A'.repeat(1 << 20);
const INT_VALUES: Value[] = [
  { label: 'NULL', v: null }, { label: 'a BLOB', v: Buffer.from([0, 0xff, 0x1b]) }, { label: "text 'x'", v: 'x' },
  { label: '1.5', v: 1.5 }, { label: '-1', v: -1 }, { label: '2^63-1', v: 2n ** 63n - 1n }, { label: '2^63 (a REAL)', v: 2 ** 63 },
  { label: '-2^63', v: -(2n ** 63n) }, { label: '2^53+1', v: 2n ** 53n + 1n }, { label: '1 MiB of text', v: HUGE },
  { label: '0', v: 0 }, { label: "text '7'", v: '7' },
];
const REAL_VALUES: Value[] = [
  { label: 'NULL', v: null }, { label: 'a BLOB', v: Buffer.from([1, 2]) }, { label: "text 'x'", v: 'x' }, { label: '-0.5', v: -0.5 },
  { label: 'infinity', v: Infinity }, { label: '1 MiB of text', v: HUGE }, { label: '2.5', v: 2.5 },
];
const TEXT_VALUES: Value[] = [
  { label: 'NULL', v: null }, { label: 'a BLOB', v: Buffer.from('nginx') }, { label: '1 MiB of text', v: HUGE },
  { label: '64 characters', v: 'c'.repeat(64) }, { label: '300 characters', v: 'c'.repeat(300) }, { label: '12345 (stored as text)', v: 12345 },
  { label: 'an empty string', v: '' }, { label: 'a newline and an escape', v: 'a\nb\x1b[2J' },
];

/** What tcptop writes in a column: a stored value (as read back) is valid or not. */
type Rule = (stored: unknown, type: string) => boolean;
const int = (min: number, max: number): Rule => (v, type) => type === 'integer' && typeof v === 'number' && Number.isSafeInteger(v) && v >= min && v <= max;
const real: Rule = (v, type) => (type === 'integer' || type === 'real') && typeof v === 'number' && Number.isFinite(v) && v >= 0;
const text = (max: number): Rule => (v, type) => type === 'text' && typeof v === 'string' && v.length <= max;
const MAX_WALL_US = Date.UTC(2200, 0, 1) * 1000;
const U63 = Number.MAX_SAFE_INTEGER;

interface Column {
  table: string;
  column: string;
  /** Which row: a WHERE clause. */
  where: string;
  values: Value[];
  rule: Rule;
  /** Where the value shows in a snapshot: every place it should appear. */
  patch(s: Snapshot, stored: unknown): void;
  /** Problems found when the file is opened (frames, metadata) rather than when the value is read. */
  onOpen: boolean;
}

const FLOW_ID = 3;
const FRAME_SEQ = 5;
const PACKED_KEY = 4 * 2 ** 20 + 1;

function flowColumn(column: string, prop: string, values: Value[], rule: Rule): Column {
  return {
    table: 'flow', column, where: `id = ${FLOW_ID}`, values, rule, onOpen: false,
    patch: (s, v) => { for (const f of s.frames) for (const x of f.samples) if (x.flow.id === FLOW_ID) x.flow[prop] = v; },
  };
}

function frameColumn(column: string, set: (f: Record<string, unknown>, v: unknown) => void, values: Value[], rule: Rule): Column {
  return {
    table: 'frame', column, where: `seq = ${FRAME_SEQ}`, values, rule, onOpen: true,
    patch: (s, v) => set(s.frames[FRAME_SEQ - 1].frame, v),
  };
}

function columns(orig: Snapshot): Column[] {
  const prevMono = orig.frames[FRAME_SEQ - 2].frame.monoUs as number;
  const nextMono = orig.frames[FRAME_SEQ].frame.monoUs as number;
  const loadavg = (k: string) => (f: Record<string, unknown>, v: unknown) => { (f.loadavg as Record<string, unknown>)[k] = v; };
  const lost = (k: string) => (f: Record<string, unknown>, v: unknown) => { (f.lost as Record<string, unknown>)[k] = v; };
  const top = (k: string) => (f: Record<string, unknown>, v: unknown) => { f[k] = v; };
  const bytes = int(0, U63);
  return [
    flowColumn('pid', 'pid', INT_VALUES, int(0, 2 ** 32 - 1)),
    flowColumn('comm', 'comm', TEXT_VALUES, text(64)),
    flowColumn('family', 'family', INT_VALUES, (v, t) => t === 'integer' && (v === 4 || v === 6)),
    flowColumn('laddr', 'laddr', TEXT_VALUES, text(64)),
    flowColumn('lport', 'lport', INT_VALUES, int(0, 65535)),
    flowColumn('raddr', 'raddr', TEXT_VALUES, text(64)),
    flowColumn('rport', 'rport', INT_VALUES, int(0, 65535)),
    frameColumn('wall_us', top('wallUs'), INT_VALUES, int(0, MAX_WALL_US)),
    frameColumn('mono_us', top('monoUs'), INT_VALUES, (v, t) => int(prevMono + 1, nextMono - 1)(v, t)),
    frameColumn('interval_us', top('intervalUs'), INT_VALUES, int(1, U63)),
    frameColumn('load1', loadavg('load1'), REAL_VALUES, real),
    frameColumn('load5', loadavg('load5'), REAL_VALUES, real),
    frameColumn('load15', loadavg('load15'), REAL_VALUES, real),
    frameColumn('running', loadavg('running'), INT_VALUES, int(0, U63)),
    frameColumn('tasks', loadavg('tasks'), INT_VALUES, int(0, U63)),
    frameColumn('last_pid', loadavg('lastPid'), INT_VALUES, int(0, U63)),
    frameColumn('loadavg', loadavg('raw'), TEXT_VALUES, text(256)),
    frameColumn('lost_events', lost('events'), INT_VALUES, bytes),
    frameColumn('lost_rx_bytes', lost('rxBytes'), INT_VALUES, bytes),
    frameColumn('lost_tx_bytes', lost('txBytes'), INT_VALUES, bytes),
    ...(['rx_bytes', 'tx_bytes'] as const).map((column): Column => ({
      table: 'sample_packed', column, where: `key = ${PACKED_KEY}`, values: INT_VALUES, rule: bytes, onOpen: false,
      patch: (s, v) => {
        for (const x of s.frames[3].samples) if (x.flow.id === 1) x[column === 'rx_bytes' ? 'rx' : 'tx'] = v as number;
      },
    })),
  ];
}

/** The snapshot with `patch` applied, compared with what was read; totals are checked against the frames read. */
export function compare(got: Snapshot, expected: Snapshot, seeks = false): string | null {
  if (seeks && JSON.stringify(got.seeks) !== JSON.stringify(expected.seeks)) return `found frames ${got.seeks} by time where the file has ${expected.seeks}`;
  const a = JSON.stringify({ meta: got.meta, frames: got.frames });
  const b = JSON.stringify({ meta: expected.meta, frames: expected.frames });
  if (a !== b) {
    let i = 0;
    while (a[i] === b[i]) i++;
    return `read ${a.slice(Math.max(0, i - 60), i + 60)} where the file holds ${b.slice(Math.max(0, i - 60), i + 60)}`;
  }
  if (got.totals) {
    let rx = 0;
    let tx = 0;
    const flows = new Set<unknown>();
    for (const f of got.frames) for (const s of f.samples) { rx += s.rx; tx += s.tx; flows.add(s.flow.id); }
    if (got.totals.rxBytes !== rx || got.totals.txBytes !== tx || got.totals.flows !== flows.size || got.totals.frames !== got.frames.length) {
      return `totals ${JSON.stringify(got.totals)} are not the sums of the frames read (${rx}, ${tx}, ${flows.size} flows)`;
    }
  }
  return null;
}

function values(orig: Snapshot): HostileCase[] {
  const cases: HostileCase[] = [];
  for (const col of columns(orig)) {
    for (const value of col.values) {
      // What SQLite stores of the value, and whether tcptop could have written it, are found when the file is made.
      let stored: { v: unknown; type: string } | null = null;
      const c: HostileCase = {
        kind: `bad value in ${col.table}`,
        name: `${col.table}.${col.column} = ${value.label}`,
        make(dir) {
          return storeAnyValue(dir, fileName(c), col.table, (db) => {
            db.prepare(`UPDATE ${col.table} SET ${col.column} = ? WHERE ${col.where}`).run(value.v as never);
            stored = db.prepare(`SELECT ${col.column} AS v, typeof(${col.column}) AS type FROM ${col.table} WHERE ${col.where}`).get() as { v: unknown; type: string };
          });
        },
        expect: {
          reads: () => 'unreachable',
        },
      };
      // The expectation depends on what was stored, so it is decided lazily, after make().
      Object.defineProperty(c, 'expect', {
        get(): Expect {
          if (!stored) throw new Error('expect read before make');
          const s = stored;
          if (!col.rule(s.v, s.type)) return col.onOpen ? { open: /damaged capture: / } : { refused: /damaged capture: / };
          return {
            reads: (got, o) => {
              const want = structuredClone(o);
              col.patch(want, s.v);
              return compare(got, want);
            },
          };
        },
      });
      cases.push(c);
    }
  }
  return cases;
}

function others(): HostileCase[] {
  const cases: HostileCase[] = [];
  const add = (kind: string, name: string, change: (db: Database.Database) => void, expect: Expect) => {
    const c = { kind, name, expect } as HostileCase;
    // values go in whatever the table declares NOT NULL
    c.make = (dir) => storeAnyValue(dir, fileName(c), kind === 'wide sample' ? 'sample_wide' : 'frame', change);
    cases.push(c);
  };
  // Metadata: keys and values that are not text, twice the same key, numbers that are not.
  for (const [k, v, problem] of [
    ['hostname', null, /metadata key hostname is not text/],
    ['hostname', Buffer.from('web-1'), /metadata key hostname is not text/],
    ['interval_us', 'x', /metadata key interval_us is not a valid number/],
    ['interval_us', HUGE, /metadata key interval_us is not a valid number/],
    ['start_wall_us', 2n ** 63n - 1n, /metadata key start_wall_us is not a valid number/],
    ['command_line', HUGE, /metadata key command_line is not valid JSON/],
    ['tz_offset_min', -100000, /metadata key tz_offset_min is not a valid number/],
  ] as [string, unknown, RegExp][]) {
    const c: HostileCase = {
      kind: 'bad metadata', name: `${k} = ${v === null ? 'NULL' : Buffer.isBuffer(v) ? 'a BLOB' : String(v).slice(0, 20)}`, expect: { open: problem },
      make: (dir) => storeAnyValue(dir, fileName(c), 'meta', (db) => db.prepare('UPDATE meta SET value = ? WHERE key = ?').run(v as never, k)),
    };
    cases.push(c);
  }
  add('bad metadata', 'a key that is a BLOB', (db) => db.prepare('INSERT INTO meta VALUES (?, ?)').run(Buffer.from('k'), 'v'), { open: /damaged capture: a metadata key is not text/ });
  add('bad metadata', 'an unknown key with 1 MiB of text', (db) => db.prepare('INSERT INTO meta VALUES (?, ?)').run('note', HUGE), {
    reads: (got, orig) => {
      const want = structuredClone(orig);
      (want.meta.other as Record<string, string>).note = HUGE;
      return compare(got, want);
    },
  });
  add('bad metadata', 'hostname of 1 MiB', (db) => db.prepare("UPDATE meta SET value = ? WHERE key = 'hostname'").run(HUGE), {
    reads: (got, orig) => {
      const want = structuredClone(orig);
      want.meta.hostname = HUGE;
      return compare(got, want);
    },
  });

  // Duplicate keys (and a NULL key), stored under a wider primary key, then the format's key declared again.
  const dup = (name: string, table: 'meta' | 'sample_wide', nullFlow: boolean, expect: Expect) => {
    const c = { kind: 'duplicate key', name, expect } as HostileCase;
    c.make = (dir) => duplicates(dir, fileName(c), table, nullFlow);
    cases.push(c);
  };
  dup('meta key twice', 'meta', false, { open: /damaged capture: metadata key hostname appears twice/ });
  dup('a wide sample twice', 'sample_wide', false, { refused: /damaged capture: / });
  dup('a wide sample of flow NULL', 'sample_wide', true, { refused: /damaged capture: / });

  // Samples of flows past 2^20, which go to sample_wide: right, and wrong ways.
  const wideFlow = 2 ** 20 + 5;
  const addWide = (db: Database.Database, frame: number, flow: number, rx: unknown, tx: unknown) => {
    db.prepare("INSERT OR IGNORE INTO flow VALUES (?, 99, 'wide', 4, '10.9.9.9', 9, '10.9.9.8', 8)").run(flow);
    db.prepare('INSERT INTO sample_wide VALUES (?, ?, ?, ?)').run(frame, flow, rx as never, tx as never);
  };
  add('wide sample', 'a sample of flow 2^20+5 in frame 3', (db) => addWide(db, 3, wideFlow, 100, 200), {
    reads: (got, orig) => {
      const want = structuredClone(orig);
      want.frames[2].samples.push({ flow: { id: wideFlow, pid: 99, comm: 'wide', family: 4, laddr: '10.9.9.9', lport: 9, raddr: '10.9.9.8', rport: 8 }, rx: 100, tx: 200 });
      return compare(got, want);
    },
  });
  add('wide sample', 'a wide sample of a packed flow', (db) => addWide(db, 3, 1, 100, 200), { refused: /damaged capture: / });
  add('wide sample', 'a wide sample of frame 99, which is not there', (db) => addWide(db, 99, wideFlow, 100, 200), { open: /damaged capture: / });
  add('wide sample', 'a wide sample with a negative count', (db) => addWide(db, 3, wideFlow, -1, 0), { refused: /damaged capture: / });
  add('wide sample', 'a wide sample with NULL bytes', (db) => addWide(db, 3, wideFlow, null, 0), { refused: /damaged capture: / });
  add('wide sample', 'a wide sample of text', (db) => addWide(db, 3, wideFlow, 'x', 0), { refused: /damaged capture: / });
  add('packed sample', 'a packed sample of frame 0', (db) => db.exec('INSERT INTO sample_packed VALUES (1, 5, 5)'), { open: /damaged capture: / });
  add('packed sample', 'a packed sample of frame 2^40', (db) => db.exec(`INSERT INTO sample_packed VALUES (${2 ** 40 * 2 ** 20 + 1}, 5, 5)`), { open: /damaged capture: / });
  add('packed sample', 'a negative key', (db) => db.exec('INSERT INTO sample_packed VALUES (-5, 5, 5)'), { open: /damaged capture: / });

  // Frames: times out of order, gaps, a clock stepped back.
  add('frame order', 'frame 6 at the same monotonic time as frame 5', (db) => db.exec('UPDATE frame SET mono_us = (SELECT mono_us FROM frame WHERE seq = 5) WHERE seq = 6'),
    { open: /damaged capture: frames out of order: frame 6 is not later than frame 5/ });
  add('frame order', 'the last frame before the first', (db) => db.exec('UPDATE frame SET mono_us = 1 WHERE seq = 12'),
    { open: /damaged capture: frames out of order: frame 12 is not later than frame 11/ });
  add('frame order', 'frames reversed', (db) => db.exec('UPDATE frame SET mono_us = 200000000000 - mono_us'), { open: /damaged capture: frames out of order: frame 2 is not later than frame 1/ });
  add('frame order', 'the wall clock stepped back an hour at frame 6 (as clocks do)', (db) => db.exec('UPDATE frame SET wall_us = wall_us - 3600000000 WHERE seq >= 6'), {
    reads: (got, orig) => {
      const want = structuredClone(orig);
      for (const f of want.frames) if ((f.frame.seq as number) >= 6) f.frame.wallUs = (f.frame.wallUs as number) - 3_600_000_000;
      return compare(got, want);
    },
  });
  add('frame order', 'frame 7 missing, its samples with it', (db) => db.exec(`DELETE FROM frame WHERE seq = 7; DELETE FROM sample_packed WHERE key >> 20 = 7`), {
    reads: (got, orig) => compare(got, { ...orig, frames: orig.frames.filter((f) => f.frame.seq !== 7) }),
  });
  add('frame order', 'frame 7 missing, its samples left', (db) => db.exec('DELETE FROM frame WHERE seq = 7'), { refused: /damaged capture: / });
  return cases;
}

/** Rows with duplicate primary keys (or NULL in one), stored under a wider key, then the format's key declared again. */
function duplicates(dir: string, name: string, table: 'meta' | 'sample_wide', nullFlow = false): string {
  const file = path.join(dir, name);
  fs.copyFileSync(SAMPLE, file);
  let db = new Database(file);
  db.unsafeMode(true);
  const original = db.prepare('SELECT sql FROM sqlite_schema WHERE name = ?').pluck().get(table) as string;
  const viewSql = (v: string) => db.prepare('SELECT sql FROM sqlite_schema WHERE name = ?').pluck().get(v) as string;
  const views = [viewSql('sample'), viewSql('flow_sample')];
  const [narrow, wide] = table === 'meta'
    ? ['key   TEXT PRIMARY KEY,\n  value TEXT NOT NULL\n)', 'key   TEXT,\n  value TEXT NOT NULL,\n  PRIMARY KEY (key, value)\n)']
    : ['PRIMARY KEY (frame, flow)', 'PRIMARY KEY (frame, flow, rx_bytes, tx_bytes)'];
  // The same rows stored by the wider key: a WITHOUT ROWID table keeps its key columns first, in the same order.
  db.exec(`CREATE TABLE copy AS SELECT * FROM ${table}; DROP VIEW flow_sample; DROP VIEW sample; DROP TABLE ${table}`);
  let widened = original.replace(narrow, wide);
  if (nullFlow) widened = widened.replace(/NOT NULL/g, '').replace(wide, 'PRIMARY KEY (frame, rx_bytes, tx_bytes)');
  db.exec(widened);
  db.exec(`INSERT INTO ${table} SELECT * FROM copy; DROP TABLE copy`);
  if (table === 'meta') db.exec("INSERT INTO meta VALUES ('hostname', 'web-2')");
  else if (nullFlow) {
    db.exec("INSERT INTO flow VALUES (1048581, 99, 'wide', 4, '10.9.9.9', 9, '10.9.9.8', 8)");
    db.exec('INSERT INTO sample_wide VALUES (3, NULL, 100, 200)');
  } else {
    db.exec("INSERT INTO flow VALUES (1048581, 99, 'wide', 4, '10.9.9.9', 9, '10.9.9.8', 8)");
    db.exec('INSERT INTO sample_wide VALUES (3, 1048581, 100, 200), (3, 1048581, 300, 400)');
  }
  for (const v of views) db.exec(v);
  db.close();
  // Now declare the format's key: the stored rows stay as they are.
  db = new Database(file);
  db.unsafeMode(true);
  rewriteSql(db, table, () => original);
  db.close();
  return file;
}

/** Bytes of the 100-byte database header that lie: page size, page count, encodings, versions. */
function headerLies(): HostileCase[] {
  const cases: HostileCase[] = [];
  const same = { reads: (got: Snapshot, orig: Snapshot) => compare(got, orig) };
  const lie = (name: string, edit: (b: Buffer) => void, expect: Expect = { refusedOrSame: true }) => {
    const c: HostileCase = {
      kind: 'header lie',
      name,
      expect,
      make(dir) {
        const b = fs.readFileSync(SAMPLE);
        edit(b);
        const file = path.join(dir, fileName(c));
        fs.writeFileSync(file, b);
        return file;
      },
    };
    cases.push(c);
  };
  for (const size of [512, 1024, 2048, 8192, 16384, 32768, 1, 3, 0, 4097, 65535]) {
    lie(`page size ${size}`, (b) => b.writeUInt16BE(size, 16));
  }
  const pages = (b: Buffer) => b.readUInt32BE(28);
  lie('page count one more', (b) => b.writeUInt32BE(pages(b) + 1, 28), { open: /truncated capture: 32768 of 36864 bytes \(copy the whole file again\)/ });
  lie('page count 2^32-1', (b) => b.writeUInt32BE(2 ** 32 - 1, 28), { open: /truncated capture: / });
  lie('page count one less', (b) => b.writeUInt32BE(pages(b) - 1, 28));
  lie('page count 0', (b) => b.writeUInt32BE(0, 28));
  lie('page count stale (change counter moved on)', (b) => { b.writeUInt32BE(1, 28); b.writeUInt32BE(b.readUInt32BE(24) + 1, 24); }, same);
  lie('WAL mode claimed with no WAL beside it', (b) => { b[18] = 2; b[19] = 2; }, same);
  lie('read version 3', (b) => { b[19] = 3; });
  lie('write version 255', (b) => { b[18] = 255; });
  lie('reserved bytes 32 per page', (b) => { b[20] = 32; });
  lie('reserved bytes 255 per page', (b) => { b[20] = 255; });
  lie('payload fractions 0, 0, 0', (b) => { b[21] = 0; b[22] = 0; b[23] = 0; });
  lie('schema format 0', (b) => b.writeUInt32BE(0, 44));
  lie('schema format 5', (b) => b.writeUInt32BE(5, 44));
  lie('text encoding UTF-16le', (b) => b.writeUInt32BE(2, 56));
  lie('text encoding UTF-16be', (b) => b.writeUInt32BE(3, 56));
  lie('text encoding 9', (b) => b.writeUInt32BE(9, 56));
  lie('a freelist trunk at page 2', (b) => { b.writeUInt32BE(2, 32); b.writeUInt32BE(1, 36); });
  lie('a freelist of 2^31 pages', (b) => { b.writeUInt32BE(2, 32); b.writeUInt32BE(2 ** 31, 36); });
  lie('auto-vacuum claimed', (b) => b.writeUInt32BE(3, 52));
  lie('incremental vacuum claimed', (b) => { b.writeUInt32BE(3, 52); b.writeUInt32BE(1, 64); });
  lie('schema cookie changed', (b) => b.writeUInt32BE(b.readUInt32BE(40) + 7, 40), same);
  lie('default cache size 2^31-1', (b) => b.writeUInt32BE(2 ** 31 - 1, 48), same);
  lie('format version 0', (b) => b.writeUInt32BE(0, 60), { open: /damaged capture: unknown format version 0/ });
  lie('format version -1', (b) => b.writeInt32BE(-1, 60), { open: /damaged capture: unknown format version -1/ });
  lie('nonzero reserved-for-expansion bytes', (b) => b.fill(0xff, 72, 92), same);
  return cases;
}

/**
 * B-trees whose pages are shared: interior pages each pointing N times to the same child, a few levels deep, so
 * that a scan visits one leaf N^levels times. The file is small and every page is well formed; only a walk of the
 * whole tree could tell.
 */
function sharedPages(): HostileCase[] {
  const cases: HostileCase[] = [];
  for (const [table, levels] of [['sample_packed', 3], ['sample_packed', 1], ['frame', 3], ['flow', 3], ['meta', 3], ['frame_wall', 1], ['frame_mono', 1]] as [string, number][]) {
    const c: HostileCase = {
      kind: 'shared b-tree pages',
      name: `${table}: ${levels} level${levels > 1 ? 's' : ''} of 300 pointers to one page`,
      // An index read more than once still gives the same first and last frame.
      expect: table.startsWith('frame_') ? { refusedOrSameAs: (dir) => { const f = path.join(dir, 'big.db'); bigCapture(f); return f; } }
        : { refused: /damaged capture: / },
      make: (dir) => {
        const file = path.join(dir, fileName(c));
        bigCapture(file);
        const db = new Database(file, { readonly: true });
        const root = rootOf(db, table);
        db.close();
        const b = fs.readFileSync(file);
        const PAGE = 4096;
        const at = (pg: number) => (pg - 1) * PAGE;
        const children = (pg: number): number[] => {
          const o = at(pg);
          const n = b.readUInt16BE(o + 3);
          const out: number[] = [];
          for (let i = 0; i < n; i++) out.push(b.readUInt32BE(o + b.readUInt16BE(o + 12 + 2 * i)));
          out.push(b.readUInt32BE(o + 8));
          return out;
        };
        const interior = b[at(root)];
        if (interior !== 0x05 && interior !== 0x02) throw new Error(`${table}: root page ${root} is not interior (${interior})`);
        // The root's children: the first stays a leaf (or subtree), the next ones become the levels above it.
        const kids = children(root);
        if (kids.length < levels + 1) throw new Error(`${table}: only ${kids.length} children`);
        const chain = [root, ...kids.slice(1, levels), kids[0]];
        for (let l = 0; l < chain.length - 1; l++) {
          const o = at(chain[l]);
          if (interior === 0x05) {
            // table b-tree: cells are a 4-byte child and a varint key; a key larger than any keeps seeks to the left
            const cell = Buffer.from([0, 0, 0, 0, 0x87, 0xff, 0xff, 0xff, 0x7f]);
            writeInterior(b, o, interior, chain[l + 1], cell, 300);
          } else {
            // index b-tree (meta, WITHOUT ROWID): cells carry a record; the root's first cell is copied as is
            const r = at(root);
            const o0 = r + b.readUInt16BE(r + 12);
            writeInterior(b, o, interior, chain[l + 1], Buffer.from(b.subarray(o0, o0 + cellLength(b, o0))), 300);
          }
        }
        fs.writeFileSync(file, b);
        return file;
      },
    };
    cases.push(c);
  }
  return cases;
}

/** Length of an index interior cell at `o`: child (4), payload size (varint), payload (stored whole: short records). */
function cellLength(b: Buffer, o: number): number {
  let size = 0;
  let i = o + 4;
  for (;;) {
    const x = b[i++];
    size = size * 128 + (x & 0x7f);
    if (x < 0x80) break;
  }
  return i - o + size;
}

/** Rewrites the page at `o` as an interior page (`type`) of up to `n` copies of `cell`, every child `child`. */
function writeInterior(b: Buffer, o: number, type: number, child: number, cell: Buffer, n: number): void {
  const page = b.subarray(o, o + 4096);
  const fit = Math.min(n, Math.floor((4096 - 12) / (2 + cell.length)));
  page.fill(0);
  page[0] = type;
  page.writeUInt16BE(fit, 3);
  page.writeUInt32BE(child, 8);
  let content = 4096;
  for (let i = 0; i < fit; i++) {
    content -= cell.length;
    cell.copy(page, content);
    page.writeUInt32BE(child, content);
    page.writeUInt16BE(content, 12 + 2 * i);
  }
  page.writeUInt16BE(content, 5);
}

/** A capture of 400 frames of 60 flows with long metadata: every table's b-tree has interior pages. */
function bigCapture(file: string): void {
  fs.copyFileSync(SAMPLE, file);
  const db = new Database(file);
  db.exec('DELETE FROM sample_packed; DELETE FROM frame; DELETE FROM flow');
  db.transaction(() => {
    const flow = db.prepare("INSERT INTO flow VALUES (?, 100, 'comm-with-a-name', 4, '10.0.0.1', ?, '10.0.0.2', 80)");
    for (let f = 1; f <= 600; f++) flow.run(f, 1000 + f);
    const frame = db.prepare("INSERT INTO frame VALUES (?, ?, ?, 1000000, 0.5, 0.5, 0.5, 1, 100, 1, '0.50 0.50 0.50 1/100 1', 0, 0, 0)");
    const sample = db.prepare('INSERT INTO sample_packed VALUES (?, ?, ?)');
    for (let i = 1; i <= 400; i++) {
      frame.run(i, 1.7e15 + i * 1e6, 1e9 + i * 1e6);
      for (let f = 1; f <= 60; f++) sample.run(i * 2 ** 20 + f + (i % 10) * 60, 1000 + f, 2000 + f);
    }
    const meta = db.prepare('INSERT INTO meta VALUES (?, ?)');
    for (let k = 0; k < 400; k++) meta.run(`note_${String(k).padStart(4, '0')}`, 'x'.repeat(40));
  })();
  db.exec('VACUUM');
  db.close();
}

/** Every hostile case, in a fixed order; `orig` is what the sample reads as. */
export function hostileCases(orig: Snapshot): HostileCase[] {
  return [...structural(), ...values(orig), ...others(), ...headerLies(), ...sharedPages()];
}

// Reading a capture as the commands do (info, replay, report, export), in process.

export type Outcome = { read: Snapshot } | { refused: string; atOpen: boolean };

export function readLikeEveryCommand(file: string): Outcome {
  let r: CaptureReader;
  try {
    r = CaptureReader.open(file);
  } catch (err) {
    if (err instanceof CaptureError) return { refused: err.message, atOpen: true };
    throw err;
  }
  try {
    return { read: readAll(file, r) };
  } catch (err) {
    if (err instanceof CaptureError) return { refused: err.message, atOpen: false };
    throw err;
  } finally {
    r.close();
  }
}

function readAll(file: string, r: CaptureReader): Snapshot {
  // info
  const span = r.span();
  const totals = span ? r.totals(span.firstSeq, span.lastSeq) : null;
  infoText({ file, meta: r.meta, span, totals }, displayZone(r.meta, false));
  JSON.stringify(infoJson({ file, meta: r.meta, span, totals }));
  const snap: Snapshot = { meta: { ...r.meta }, frames: [], totals, seeks: [] };
  if (!span) return snap;
  // replay
  const frames = function* (): Generator<FrameFlows> {
    for (const frame of r.frames(span.firstSeq, span.lastSeq)) yield { frame, flows: r.flowBytes(frame.seq) };
  };
  for (const bin of rebin(frames(), 1)) renderFrame({ clock: '00:00:00', loadavg: bin.last.loadavg.raw, flows: bin.flows }, { clear: false, summary: true, sort: 'all' });
  // report and export: samples as columns, flows looked up by id
  const cols = new SampleColumns();
  for (const frame of r.frames(span.firstSeq, span.lastSeq)) {
    const n = r.readFrameSamples(frame.seq, cols);
    const samples = r.samples(frame.seq);
    const byColumns = Array.from({ length: n }, (_, i) => `${cols.flow[i]}:${cols.rx[i]}:${cols.tx[i]}`).sort().join();
    const byRows = samples.map((s) => `${s.flow}:${s.rxBytes}:${s.txBytes}`).sort().join();
    if (byColumns !== byRows) throw new Error(`frame ${frame.seq}: readFrameSamples and samples disagree: ${byColumns} / ${byRows}`);
    snap.frames.push({
      frame: structuredClone(frame) as unknown as Record<string, unknown>,
      samples: samples.sort((a, b) => a.flow - b.flow).map((s) => ({ flow: { ...r.flow(s.flow) }, rx: s.rxBytes, tx: s.txBytes })),
    });
  }
  r.endedCleanly();
  r.lastSeq();
  // --from and --to
  const mid = snap.frames[Math.floor(snap.frames.length / 2)].frame as { wallUs: number; monoUs: number };
  for (const clock of ['wall', 'mono'] as const) {
    const us = clock === 'wall' ? mid.wallUs : mid.monoUs;
    snap.seeks.push(r.seqAtOrAfter(clock, us), r.seqAtOrBefore(clock, us), r.seqAtOrAfter(clock, us + 1), r.seqAtOrBefore(clock, us - 1));
  }
  return snap;
}

// The runner.

export interface CaseResult {
  i: number;
  kind: string;
  name: string;
  /** null when the reader did what the case expects; otherwise what went wrong. */
  wrong: string | null;
  outcome: 'read' | 'refused on open' | 'refused while reading';
  message?: string;
  ms: number;
}

/** What the sample reads as: the baseline every case is compared with. */
export function sampleSnapshot(): Snapshot {
  const o = readLikeEveryCommand(SAMPLE);
  if (!('read' in o)) throw new Error(`the sample does not read: ${o.refused}`);
  return o.read;
}

export function judge(c: HostileCase, file: string, o: Outcome, orig: Snapshot): string | null {
  const dir = path.dirname(file);
  const e = c.expect;
  if ('refused' in o) {
    if (o.refused.includes('\n')) return `more than one line: ${o.refused}`;
    if (!o.refused.startsWith(`${file}: `)) return `does not name the file: ${o.refused}`;
    if ('open' in e) {
      if (!o.atOpen) return `refused only while reading, not on open: ${o.refused}`;
      return e.open.test(o.refused) ? null : `refused with ${o.refused}, expected ${e.open}`;
    }
    if ('refused' in e) return e.refused.test(o.refused) ? null : `refused with ${o.refused}, expected ${e.refused}`;
    if ('refusedOrSame' in e || 'refusedOrSameAs' in e) return null;
    return `refused a capture it should read: ${o.refused}`;
  }
  if ('reads' in e) return e.reads(o.read, orig);
  if ('refusedOrSame' in e || 'refusedOrSameAs' in e) {
    let want = orig;
    if ('refusedOrSameAs' in e) {
      const base = readLikeEveryCommand(e.refusedOrSameAs(dir));
      if (!('read' in base)) return `the undamaged capture does not read: ${base.refused}`;
      want = base.read;
    }
    const diff = compare(o.read, want, true);
    return diff === null ? null : `read something else than the file holds: ${diff}`;
  }
  return `read without complaint a capture it should refuse (${'open' in e ? e.open : e.refused})`;
}

if (require.main === module) {
  const [dir, start] = process.argv.slice(2);
  const orig = sampleSnapshot();
  const cases = hostileCases(orig);
  process.stdout.write(`${JSON.stringify({ total: cases.length })}\n`);
  for (let i = Number(start); i < cases.length; i++) {
    const c = cases[i];
    const file = c.make(dir);
    // Announced before reading, so the parent knows which case a hang is in.
    process.stdout.write(`${JSON.stringify({ start: i })}\n`);
    const t0 = performance.now();
    let o: Outcome;
    let result: CaseResult;
    try {
      o = readLikeEveryCommand(file);
      const ms = Math.round(performance.now() - t0);
      result = {
        i, kind: c.kind, name: c.name, wrong: judge(c, file, o, orig), ms,
        outcome: 'read' in o ? 'read' : o.atOpen ? 'refused on open' : 'refused while reading',
        message: 'refused' in o ? o.refused.slice(file.length + 2, file.length + 200) : undefined,
      };
    } catch (err) {
      result = { i, kind: c.kind, name: c.name, wrong: `threw ${(err as Error)?.stack ?? String(err)}`, outcome: 'read', ms: Math.round(performance.now() - t0) };
    }
    process.stdout.write(`${JSON.stringify(result)}\n`);
    fs.rmSync(file, { force: true });
  }
}
