// Names of remote addresses while recording, end to end: a DNS server on loopback (dnsmasq) with PTR records for
// the test's peers, and one that never answers. Kernel tests (they record).
import Database from 'better-sqlite3';
import assert from 'node:assert/strict';
import * as dgram from 'node:dgram';
import * as fs from 'node:fs';
import { once } from 'node:events';
import * as path from 'node:path';
import { test } from 'node:test';
import { NameLookups, parseHosts, parseResolver } from '../../src/record/names';
import { oneLine, tcptop, tcptopAsync } from '../helpers/cli';
import { dnsServer } from '../helpers/dns';
import { kernel } from '../helpers/kernel';
import { tempDir } from '../helpers/tmp';
import { transfer } from '../helpers/traffic';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function record(args: string[]): Promise<{ stop(): Promise<number | null>; stderr(): string }> {
  const child = tcptopAsync(['record', ...args]);
  const exited = once(child, 'exit');
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  for (let waited = 0; !err.includes('recording to'); waited += 20) {
    if (child.exitCode !== null || waited > 20_000) throw new Error(`recorder did not start: ${err}`);
    await sleep(20);
  }
  return { stderr: () => err, stop: async () => (child.kill('SIGINT'), (await exited)[0] as number | null) };
}

const query = (file: string, sql: string): unknown[][] => {
  const db = new Database(file, { readonly: true });
  try {
    return db.prepare(sql).raw().all() as unknown[][];
  } finally {
    db.close();
  }
};

async function until(what: string, ok: () => boolean): Promise<void> {
  for (const t0 = Date.now(); !ok(); await sleep(50)) if (Date.now() - t0 > 20_000) throw new Error(`${what} within 20 s`);
}

test('record names remote addresses by reverse DNS in the background; report --by name adds up exact bytes', kernel, async (t) => {
  const server = await dnsServer(t, { '127.0.0.5': 'db-five.test', '127.0.0.6': 'web-six.test' });
  const file = path.join(tempDir(t), 'names.db');
  const rec = await record(['-o', file, '-i', '0.3', '--resolver', server, '-p', String(process.pid)]);
  let a, b;
  try {
    a = await transfer({ listen: '127.0.0.5', connect: '127.0.0.5', localAddress: '127.0.0.9', up: 12_345, down: 678 });
    b = await transfer({ listen: '127.0.0.6', connect: '127.0.0.6', localAddress: '127.0.0.9', up: 2_000, down: 30_000 });
    await until('names stored', () => {
      try {
        return query(file, "SELECT count(*) FROM name WHERE addr IN ('127.0.0.5', '127.0.0.6')")[0][0] === 2;
      } catch {
        return false;
      }
    });
  } finally {
    assert.equal(await rec.stop(), 0, rec.stderr());
  }
  const rows = query(file, "SELECT addr, name, looked_up_us > 0 FROM name WHERE addr LIKE '127.0.0._' ORDER BY addr");
  assert.deepEqual(rows.filter((r) => r[0] !== '127.0.0.9'), [['127.0.0.5', 'db-five.test', 1], ['127.0.0.6', 'web-six.test', 1]]);
  const r = tcptop(['report', '--by', 'name', '--format', 'csv', file]);
  assert.equal(r.status, 0, r.stderr);
  const group = (name: string) => r.stdout.split('\n').find((l) => l.includes(`"${name}"`))?.split(',').slice(4, 6).map(Number);
  // the client ends: their remote is the named server; bytes sent up, received down
  assert.deepEqual(group('db-five.test'), [a.down, a.up]);
  assert.deepEqual(group('web-six.test'), [b.down, b.up]);
  // the server ends' remote, 127.0.0.9, has no name: it stays its address
  assert.deepEqual(group('127.0.0.9'), [a.up + b.up, a.down + b.down]);
});

test('a DNS server that never answers: recording goes on frame after frame, the addresses stay addresses', kernel, async (t) => {
  const silent = dgram.createSocket('udp4');
  await new Promise<void>((r) => silent.bind(0, '127.0.0.1', () => r()));
  let asked = 0;
  silent.on('message', () => asked++); // read and dropped
  t.after(() => silent.close());
  const file = path.join(tempDir(t), 'silent.db');
  const rec = await record(['-o', file, '-i', '0.2', '--resolver', `127.0.0.1:${silent.address().port}`, '-p', String(process.pid)]);
  const frames = () => Number(query(file, 'SELECT count(*) FROM frame')[0][0]);
  try {
    await transfer({ listen: '127.0.0.7', connect: '127.0.0.7', localAddress: '127.0.0.8', up: 5_000, down: 5 });
    await until('a lookup asked', () => asked > 0);
    const before = frames();
    const t0 = Date.now();
    await until('5 more frames', () => frames() >= before + 5);
    // five 0.2 s frames while lookups hang: the frames come at their pace
    assert.ok(Date.now() - t0 < 5_000, `5 frames took ${Date.now() - t0} ms`);
  } finally {
    assert.equal(await rec.stop(), 0, rec.stderr());
  }
  assert.deepEqual(query(file, "SELECT * FROM name WHERE addr IN ('127.0.0.7', '127.0.0.8')"), []);
  const r = tcptop(['report', '--by', 'name', '--format', 'csv', file]);
  assert.match(r.stdout, /"127\.0\.0\.7",/);
});

test('record --no-resolve looks nothing up; a bad --resolver is refused in one line', kernel, async (t) => {
  const file = path.join(tempDir(t), 'none.db');
  const rec = await record(['-o', file, '-i', '0.2', '--no-resolve', '-p', String(process.pid)]);
  await transfer({ listen: '127.0.0.1', connect: '127.0.0.1', up: 100, down: 100 });
  // a frame holds the flows, so the recorder has met their remote address: it looked nothing up all the same
  await until('the flows in a frame', () => Number(query(file, 'SELECT count(*) FROM flow')[0][0]) > 0);
  assert.equal(await rec.stop(), 0, rec.stderr());
  assert.deepEqual(query(file, 'SELECT * FROM name'), []);
  for (const bad of ['nonsense', '127.0.0.1:0', '127.0.0.1:99999', 'dns.example:53']) {
    const r = tcptop(['record', '-o', path.join(tempDir(t), 'x.db'), '--resolver', bad]);
    assert.equal(r.status, 2, r.stderr);
    assert.match(oneLine(r), /^tcptop: --resolver: '.*' is not ADDR:PORT/);
  }
});

test('/etc/hosts first; --resolver forms; a lookup that fails or times out leaves the address alone; the rate is bounded', async () => {
  assert.deepEqual([...parseHosts('127.0.0.1 localhost\n# c\n10.0.0.1  db  db.lan # x\n10.0.0.1 other\nbad line\n::1 ip6-localhost\n')],
    [['127.0.0.1', 'localhost'], ['10.0.0.1', 'db'], ['::1', 'ip6-localhost']]);
  assert.equal(parseResolver('127.0.0.1:5353'), '127.0.0.1:5353');
  assert.equal(parseResolver('[::1]:53'), '[::1]:53');
  assert.equal(parseResolver('::1'), '[::1]:53');
  assert.equal(parseResolver('10.0.0.2'), '10.0.0.2:53');
  const asked: string[] = [];
  const n = new NameLookups({
    hosts: '10.0.0.1 db\n', timeoutMs: 100, perSecond: 3, wallUs: () => 42,
    reverse: (addr) => {
      asked.push(addr);
      if (addr === '10.0.0.3') return Promise.reject(new Error('ENOTFOUND'));
      if (addr === '10.0.0.4') return new Promise(() => undefined); // never answers
      return Promise.resolve([`h${addr.split('.')[3]}.example`]);
    },
  });
  n.note('10.0.0.1');
  n.note('::ffff:10.0.0.2');
  n.note('10.0.0.3');
  n.note('10.0.0.4');
  n.note('10.0.0.5');
  n.note('10.0.0.2');
  assert.deepEqual(asked, ['10.0.0.2', '10.0.0.3', '10.0.0.4'], 'three a second; /etc/hosts asked first; each address once');
  await sleep(200);
  assert.deepEqual(n.take().sort((x, y) => (x.addr < y.addr ? -1 : 1)), [{ addr: '10.0.0.1', name: 'db', lookedUpUs: 42 }, { addr: '::ffff:10.0.0.2', name: 'h2.example', lookedUpUs: 42 }]);
  await sleep(1000);
  // the next second: the rest; an address and its IPv4-mapped form are stored apart, so each is asked for
  assert.deepEqual(asked, ['10.0.0.2', '10.0.0.3', '10.0.0.4', '10.0.0.5', '10.0.0.2']);
  assert.deepEqual(n.take(), [{ addr: '10.0.0.5', name: 'h5.example', lookedUpUs: 42 }, { addr: '10.0.0.2', name: 'h2.example', lookedUpUs: 42 }]);
  assert.deepEqual(n.stats, { lookups: 5, named: 3, failed: 2 });
  n.close();
});

/**
 * Runs a live view with --names --wide (`args`, which print the classic view with -C) while a peer at 127.0.0.5,
 * named db-five.test by the test's DNS server, moves bytes, until a frame shows it by name; returns stdout.
 */
async function liveNamed(t: { after(fn: () => unknown): void }, args: string[], ready: (out: string, err: string) => boolean): Promise<string> {
  const server = await dnsServer(t, { '127.0.0.5': 'db-five.test' });
  const child = tcptopAsync([...args, '-C', '--names', '--wide', '--resolver', server, '-p', String(process.pid)]);
  const exited = once(child, 'exit');
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (err += d));
  try {
    await until('counting', () => ready(out, err));
    // a frame shows a flow while it moves bytes: the first ones show the address, those after the lookup the name
    for (let i = 0; i < 40 && !out.includes('db-five.test:'); i++) {
      await transfer({ listen: '127.0.0.5', connect: '127.0.0.5', localAddress: '127.0.0.9', up: 10_000, down: 10 });
      await sleep(100);
    }
  } finally {
    child.kill('SIGINT');
    await exited;
  }
  return out;
}

for (const [what, args, ready] of [
  ['record --live --names --wide', (file: string) => ['record', '-o', file, '-i', '0.2', '--live'], (_out: string, err: string) => err.includes('recording to')],
  ['the live tool with --names --wide', () => ['0.2'], (out: string) => out.includes('Tracing...')],
] as const) {
  test(`${what}: the classic view shows a remote host by name once looked up, and the UNIT column`, kernel, async (t) => {
    const file = path.join(tempDir(t), 'live.db');
    const out = await liveNamed(t, args(file), ready);
    assert.match(out, /^PID {5}COMM {9}UNIT {21}LADDR {17}RADDR {18}RX_KB  TX_KB$/m);
    assert.match(out, /127\.0\.0\.9:\d+ +db-five\.test:\d+ /);
  });
}

test('record --names or --wide without --live is refused in one line, before anything is attached or replaced', (t) => {
  const file = path.join(tempDir(t), 'kept.db');
  fs.writeFileSync(file, 'an earlier capture');
  for (const [flags, want] of [
    [['--names'], /^tcptop: --names: only with --live \(.*add --live to see them now, or run tcptop replay --names FILE later\)$/],
    [['--wide'], /^tcptop: --wide: only with --live \(.*tcptop replay --wide FILE later\)$/],
    [['--names', '--wide'], /^tcptop: --names and --wide: only with --live \(.*tcptop replay --names --wide FILE later\)$/],
    [['--live', '--names', '--no-resolve'], /^tcptop: --names: no names to show with --no-resolve \(drop one of the two\)$/],
  ] as const) {
    const r = tcptop(['record', '-o', file, '--force', ...flags]);
    assert.equal(r.status, 2, r.stderr);
    assert.match(oneLine(r), want);
    assert.equal(fs.readFileSync(file, 'utf8'), 'an earlier capture', 'the file --force would replace is untouched');
  }
});
