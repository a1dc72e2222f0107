// The single executable (scripts/executable, shipped as release/tcptop-<version>-linux-<arch>): every command
// runs from it alone, with no node on PATH, and prints what node running bin/tcptop prints. Its recording in
// a VM without Node is checked by test/kernels/vm.test.ts.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CaptureReader } from '../../src/capture/reader';
import { printed } from '../helpers/cli';
import { kernel } from '../helpers/kernel';
import { CLI, ROOT, SAMPLE } from '../helpers/paths';
import { tempDir } from '../helpers/tmp';
import { transfer, type End } from '../helpers/traffic';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tcptop-sea-test-'));
process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
const EXE = path.join(dir, 'tcptop');
execFileSync(path.join(ROOT, 'scripts/executable'), ['--arch', os.arch(), '--out', EXE], { stdio: ['ignore', 'ignore', 'pipe'] });

/** No node anywhere on PATH: the executable must not look for one. */
const NO_NODE = { PATH: '/nonexistent', TZ: 'UTC', LANG: 'C' };

function exe(args: string[], env: NodeJS.ProcessEnv = {}) {
  return spawnSync(EXE, args, { encoding: 'utf8', env: { ...NO_NODE, ...env } });
}

function node(args: string[]) {
  return spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { ...process.env, ...NO_NODE } });
}

test('the executable runs without node, and says the version of package.json', () => {
  const version = (JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
  const r = exe(['--version']);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, `${version}\n`);
  assert.equal(r.stderr, '');
});

test('replay, info, report (table, csv, json) and export print byte for byte what bin/tcptop prints', (t) => {
  const out = tempDir(t);
  const commands = [
    ['replay', '-C', SAMPLE],
    ['info', SAMPLE],
    ['info', '--json', SAMPLE],
    ['report', SAMPLE, '--by', 'host'],
    ['report', SAMPLE, '--format', 'csv'],
    ['report', SAMPLE, '--format', 'json'],
  ];
  for (const args of commands) {
    const [own, ref] = [exe(args), node(args)];
    assert.equal(ref.status, 0, `bin/tcptop ${args.join(' ')}: ${ref.stderr}`);
    assert.deepEqual([own.status, own.stdout, own.stderr], [ref.status, ref.stdout, ref.stderr], args.join(' '));
    assert.ok(own.stdout.length > 0, args.join(' '));
  }
  for (const format of ['capture', 'openmetrics']) {
    const [a, b] = [path.join(out, `a.${format}`), path.join(out, `b.${format}`)];
    assert.equal(exe(['export', SAMPLE, '--format', format, '-o', a]).status, 0);
    assert.equal(node(['export', SAMPLE, '--format', format, '-o', b]).status, 0);
    if (format === 'openmetrics') assert.equal(fs.readFileSync(a, 'utf8'), fs.readFileSync(b, 'utf8'));
    // the export's own time is the only difference two runs may have
    else assert.equal(exe(['info', a]).stdout.replace(a, b).replace(/^export time .*$/m, ''), node(['info', b]).stdout.replace(/^export time .*$/m, ''));
  }
  // the HTML report inlines its script, styles and chart library: the executable carries them
  const [a, b] = [path.join(out, 'a.html'), path.join(out, 'b.html')];
  assert.equal(exe(['report', SAMPLE, '--format', 'html', '-o', a]).status, 0);
  assert.equal(node(['report', SAMPLE, '--format', 'html', '-o', b]).status, 0);
  const [own, ref] = [fs.readFileSync(a, 'utf8'), fs.readFileSync(b, 'utf8')];
  assert.match(own, /uPlot/);
  assert.equal(own.length, ref.length);
});

test('bad input: one line on stderr, as from bin/tcptop', () => {
  const [own, ref] = [exe(['replay', '/nonexistent.db']), node(['replay', '/nonexistent.db'])];
  assert.notEqual(own.status, 0);
  assert.match(own.stderr, /^tcptop: [^\n]+\n$/);
  assert.deepEqual([own.status, own.stderr], [ref.status, ref.stderr]);
});

test('its addons are loaded from a private directory that is gone afterwards, also when TMPDIR is noexec', (t) => {
  const tmp = tempDir(t);
  const r = exe(['info', SAMPLE], { TMPDIR: tmp });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(fs.readdirSync(tmp), []);

  if (process.getuid?.() !== 0) return t.skip('mounting a noexec tmpfs needs root');
  const noexec = path.join(tempDir(t), 'noexec');
  fs.mkdirSync(noexec);
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'noexec,size=16m', 'tmpfs', noexec]);
  try {
    const n = exe(['info', SAMPLE], { TMPDIR: noexec });
    assert.equal(n.status, 0, n.stderr);
    assert.deepEqual(fs.readdirSync(noexec), []);
  } finally {
    execFileSync('umount', [noexec]);
  }
});

function bytesOf(file: string, end: End): { rx: number; tx: number } {
  const r = CaptureReader.open(file);
  try {
    const span = r.span()!;
    const sum = { rx: 0, tx: 0 };
    for (let seq = span.firstSeq; seq <= span.lastSeq; seq++) {
      for (const f of r.flowBytes(seq)) {
        if (f.laddr === end.laddr && f.lport === end.lport && f.raddr === end.raddr && f.rport === end.rport) {
          sum.rx += f.rxBytes;
          sum.tx += f.txBytes;
        }
      }
    }
    return sum;
  } finally {
    r.close();
  }
}

test('record from the executable, without node: exact bytes of a known transfer, both ends', kernel, async (t) => {
  const file = path.join(tempDir(t), 'sea.db');
  const child = spawn(EXE, ['record', '-o', file, '-i', '1'], { env: NO_NODE, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  try {
    await printed(child);
    const tr = await transfer({ listen: '127.0.0.1', connect: '127.0.0.1', up: 123_457, down: 7_891 });
    child.kill('SIGINT');
    assert.equal(await exited, 0);
    assert.deepEqual(bytesOf(file, tr.client), { rx: 7_891, tx: 123_457 });
    assert.deepEqual(bytesOf(file, tr.server), { rx: 123_457, tx: 7_891 });
  } finally {
    child.kill('SIGKILL');
  }
});
