// The classic live tool: `tcptop [options] [interval] [count]`. Kernel tests: they skip where BPF cannot
// run, never with CI=true.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { CLEAR_SCREEN } from '../../src/view/classic';
import { oneLine, tcptop, tcptopAsync, whilePeerRuns } from '../helpers/cli';
import { kernel } from '../helpers/kernel';
import { tempDir } from '../helpers/tmp';
import { streamingPeer } from '../helpers/traffic';
import { parseViews } from '../helpers/views';

test('tcptop -C -p PID interval count: the classic view of that process, count times, KB adding up to its bytes', kernel, async () => {
  const peer = streamingPeer('live-peer', 1_200, 4_096);
  const { out, code, report } = await whilePeerRuns(tcptopAsync(['-C', '-p', String(peer.pid), '0.5', '4']), peer);
  assert.equal(code, 0);
  assert.ok(out.startsWith('Tracing... Output every 0.5 secs. Hit Ctrl-C to end\n'), out.slice(0, 80));
  const views = parseViews(out);
  assert.equal(views.length, 4);
  for (const v of views) assert.match(v.loadavg ?? '', /^\d+\.\d\d \d+\.\d\d \d+\.\d\d \d+\/\d+ \d+$/);
  const rows = views.flatMap((v) => v.rows);
  assert.ok(rows.length > 0 && rows.every((r) => r.pid === peer.pid && r.comm === 'live-peer'), JSON.stringify(rows));
  // Each view rounds its KB down, so over n views the sum is at most n short of the total.
  const sent = rows.filter((r) => r.local === `${report.client.laddr}:${report.client.lport}`).reduce((s, r) => s + r.txKb, 0);
  const whole = Math.floor(report.bytes / 1024);
  assert.ok(sent <= whole && sent >= whole - views.length, `sent ${sent} KB of ${whole} KB`);
});

test('tcptop -C 1 3 while a process named with escape sequences moves bytes: its row shows the name escaped, no ESC or BEL is printed', kernel, async () => {
  // Any user may name a process so; the root user watching tcptop must not have it act on their terminal.
  const peer = streamingPeer('\x1b]0;PWNED\x07', 600, 4_096);
  const { out, code, report } = await whilePeerRuns(tcptopAsync(['-C', '1', '3']), peer);
  assert.equal(code, 0);
  assert.doesNotMatch(out, /[\x1b\x07]/, 'raw ESC or BEL in the output');
  const views = parseViews(out);
  assert.equal(views.length, 3);
  const rows = views.flatMap((v) => v.rows).filter((r) => r.pid === peer.pid);
  assert.ok(rows.length > 0 && rows.every((r) => r.comm === '\\x1b]0;PWNED'), JSON.stringify(rows));
  const sent = rows.filter((r) => r.local === `${report.client.laddr}:${report.client.lport}`).reduce((s, r) => s + r.txKb, 0);
  const whole = Math.floor(report.bytes / 1024);
  assert.ok(sent <= whole && sent >= whole - views.length, `sent ${sent} KB of ${whole} KB`);
});

test('tcptop clears the screen before each interval unless -C, and -S drops the load average', kernel, () => {
  const r = tcptop(['-S', '0.2', '2']);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.split(CLEAR_SCREEN).length - 1, 2);
  assert.doesNotMatch(r.stdout, /loadavg/);
});

test('without the kernel addon, record and the live tool say what is missing and how to get it', (t) => {
  const hook = path.join(tempDir(t), 'no-addon.js');
  fs.writeFileSync(hook, `const M = require('node:module'); const load = M._load;
M._load = function (req, ...rest) { if (req === '#bpf') { const e = new Error("Cannot find module '#bpf'"); e.code = 'MODULE_NOT_FOUND'; throw e; } return load.call(this, req, ...rest); };`);
  const file = path.join(tempDir(t), 'none.db');
  for (const args of [['record', '-o', file, '-c', '1'], ['1', '1']]) {
    const r = tcptop(args, { env: { NODE_OPTIONS: `--require ${hook}` } });
    assert.equal(r.status, 1, r.stderr);
    assert.match(oneLine(r), /^tcptop: load bpf addon: not built \(install clang, libbpf-dev and bpftool, then run npm run install in a checkout of tcptop, or npm rebuild tcptop \(-g if global\)\)$/);
  }
  assert.equal(fs.existsSync(file), false);
});
