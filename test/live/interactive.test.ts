// The live tool's full-screen view in a real pseudo-terminal: it follows the newest interval, can be paused
// and rewound while counting goes on, returns to now, and leaves the terminal (and no temporary file) behind.
// Kernel tests: they skip where BPF cannot run, never with CI=true.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { cgroup2Root } from '../../src/record/cgroups';
import { makeCgroups } from '../helpers/cgroups';
import { tcptop } from '../helpers/cli';
import { dnsServer } from '../helpers/dns';
import { kernel } from '../helpers/kernel';
import { tempDir } from '../helpers/tmp';
import { Pane, tmuxSkip } from '../helpers/tmux';
import { startPeer, startServer, stopPeers } from '../helpers/traffic';

const skip = kernel.skip || tmuxSkip();

/** The position the header shows: [n, N] of "frame n of N", with the mode before it. */
function position(screen: string): { mode: string; n: number; of: number } | null {
  const m = /^(live|live: paused)  \S+ to \S+ \([\d.]+ s\)  frame (\d+) of (\d+)$/m.exec(screen);
  return m ? { mode: m[1], n: Number(m[2]), of: Number(m[3]) } : null;
}

test('tcptop on a terminal: live, paused and rewound while counting goes on, back to now with End, q restores', { skip }, async (t) => {
  const dir = tempDir(t);
  const pane = new Pane(['0.2'], { env: { TMPDIR: dir } });
  try {
    let s = await pane.waitFor((x) => (position(x)?.of ?? 0) >= 3 && position(x)?.mode === 'live', 30_000);
    let p = position(s)!;
    assert.equal(p.n, p.of, 'live shows the newest interval');
    pane.send([' '], true);
    s = await pane.waitFor((x) => position(x)?.mode === 'live: paused');
    const paused = position(s)!;
    // Counting goes on: N grows while the view stays on its interval.
    s = await pane.waitFor((x) => (position(x)?.of ?? 0) >= paused.of + 3);
    assert.equal(position(s)!.n, paused.n);
    pane.send(['Left', 'Left']);
    s = await pane.waitFor((x) => position(x)?.n === paused.n - 2);
    assert.equal(position(s)!.mode, 'live: paused');
    pane.send(['j+0s'], true);
    pane.send(['Enter']);
    await pane.waitFor((x) => position(x)?.n === 1);
    pane.send(['End']);
    s = await pane.waitFor((x) => position(x)?.mode === 'live');
    p = position(s)!;
    assert.ok(p.n === p.of || p.n === p.of - 1, JSON.stringify(p));
    const raw = path.join(dir, 'out.raw');
    pane.pipeTo(raw);
    pane.send(['q'], true);
    s = await pane.waitFor((x) => x.includes('EXITED'), 60_000);
    assert.match(s, /EXITED 0/);
    const out = fs.readFileSync(raw, 'latin1');
    assert.ok(out.includes('\x1b[?1049l') && out.includes('\x1b[?25h'), 'the terminal is restored');
    assert.deepEqual(fs.readdirSync(dir).filter((f) => f.startsWith('tcptop-live-')), [], 'the temporary capture is gone');
  } finally {
    pane.close();
  }
});

test('tcptop -o FILE on a terminal: the capture the view showed is kept and replays', { skip }, async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'kept.db');
  const pane = new Pane(['-o', file, '0.2']);
  try {
    await pane.waitFor((x) => (position(x)?.of ?? 0) >= 3, 30_000);
    pane.send(['q'], true);
    const s = await pane.waitFor((x) => x.includes('EXITED'), 60_000);
    assert.match(s, /EXITED 0/);
    assert.match(s.replace(/\n/g, ''), /tcptop: the capture is in \S*kept\.db/);
  } finally {
    pane.close();
  }
  const r = tcptop(['info', file]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^ended +cleanly at /m);
  assert.match(r.stdout, /^frames +([3-9]|\d\d+) /m);
});

// Waits for "go", then sends a KiB to HOST:PORT from LOCAL every 20 ms for MS ms, and reports nothing but that it ended.
const TRICKLE = `
const net = require('node:net');
const [host, port, local, ms] = process.argv.slice(1);
process.stdin.once('data', () => {
  const c = net.connect({ host, port: Number(port), localAddress: local }, () => {
    const until = Date.now() + Number(ms);
    const tick = setInterval(() => {
      if (Date.now() < until) return c.write(Buffer.alloc(1024, 1));
      clearInterval(tick);
      c.end();
    }, 20);
  });
  c.resume();
  c.on('close', () => { console.log('{}'); process.exit(0); });
});`;

test('tcptop --names --wide on a terminal: the remote host by name once looked up, the unit of the cgroup, columns in place', { skip }, async (t) => {
  const root = cgroup2Root();
  assert.ok(root, 'a cgroup2 mount');
  t.after(stopPeers);
  const service = `/tcptop-test-${process.pid}-live.slice/payments-api.service`;
  makeCgroups(t, root, [service]);
  const resolver = await dnsServer(t, { '127.0.0.5': 'db-five.test' });
  const server = await startServer('127.0.0.5', 0);
  t.after(() => server.close());
  const peer = startPeer<object>(process.execPath, 'live-peer', ['-e', TRICKLE, '127.0.0.5', String(server.port), '127.0.0.9', '20000']);
  fs.writeFileSync(path.join(root, service, 'cgroup.procs'), String(peer.pid));
  const pane = new Pane(['--names', '--wide', '--resolver', resolver, '-p', String(peer.pid), '0.2'], { width: 110, env: { TMPDIR: tempDir(t) } });
  try {
    await pane.waitFor((x) => position(x)?.mode === 'live', 30_000);
    peer.go();
    // the first frames show the address; once looked up, the name
    const s = await pane.waitFor((x) => /^\S.* db-five\.test:\d+ /m.test(x), 20_000);
    const lines = s.split('\n');
    const head = lines.findIndex((l) => l.startsWith('PID '));
    assert.equal(lines[head].trimEnd(), 'PID     COMM         UNIT                     LADDR                 RADDR                  RX_KB  TX_KB');
    const row = lines[head + 1].trimEnd();
    assert.match(row, new RegExp(`^${peer.pid} +live-peer +payments-api\\.service +127\\.0\\.0\\.9:\\d+ +db-five\\.test:${server.port} +0 +\\d+$`));
    assert.equal(row.length, lines[head].trimEnd().length, 'TX_KB ends where its header does');
    pane.send(['q'], true);
    assert.match(await pane.waitFor((x) => x.includes('EXITED'), 60_000), /EXITED 0/);
  } finally {
    pane.close();
  }
});
