// `tcptop serve`: the live endpoint without a capture. A kernel test: it skips where BPF cannot run, never
// with CI=true.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import * as fs from 'node:fs';
import { test } from 'node:test';
import { oneLine, tcptop, tcptopAsync } from '../helpers/cli';
import { kernel } from '../helpers/kernel';
import { tempDir } from '../helpers/tmp';
import { nodeClient, startServer, stopPeers } from '../helpers/traffic';

/** The value of the sample of `name` with exactly these labels (in any order) in the text format, or undefined. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  const want = JSON.stringify(Object.entries(labels).sort());
  for (const line of text.split('\n')) {
    const m = /^([a-z_]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const got = [...(m[2] ?? '').matchAll(/([a-z_]+)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1], x[2]]).sort();
    if (JSON.stringify(got) === want) return Number(m[3]);
  }
  return undefined;
}

const PEER = { comm: 'serve-peer', remote: '127.0.0.1' };

test('serve counts known bytes per label set on /metrics and writes no file', kernel, async (t) => {
  t.after(stopPeers);
  const dir = tempDir(t);
  const child = tcptopAsync(['serve', '--metrics-listen', '127.0.0.1:0', '-i', '0.2'], { cwd: dir });
  const exited = once(child, 'exit');
  t.after(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  let url = '';
  for (const t0 = Date.now(); !url; await new Promise((r) => setTimeout(r, 10))) {
    if (child.exitCode !== null || Date.now() - t0 > 30_000) throw new Error(`serve did not start: ${err}`);
    url = /serving metrics at (http:\/\/\S+) with the/.exec(err)?.[1] ?? '';
  }
  const server = await startServer('127.0.0.1', 4_321);
  const peers = [nodeClient('serve-peer', '127.0.0.1', server.port, 65_537), nodeClient('serve-peer', '127.0.0.1', server.port, 1_000_003)];
  for (const p of peers) p.go();
  await Promise.all(peers.map((p) => p.result));
  await Promise.all(server.accepted);
  await server.close();
  // The counters reach the bytes moved within a few reads (an interval may end between the sends and the last
  // receive): wait until both have, not for a time, then they must be exactly the bytes moved.
  let text = '';
  const reached = () => (sample(text, 'tcptop_sent_bytes_total', PEER) ?? 0) >= 65_537 + 1_000_003
    && (sample(text, 'tcptop_received_bytes_total', PEER) ?? 0) >= 2 * 4_321;
  for (const t0 = Date.now(); ; await new Promise((r) => setTimeout(r, 50))) {
    text = await (await fetch(url)).text();
    if (reached()) break;
    if (Date.now() - t0 > 20_000) throw new Error(`counters never reached the bytes moved:\n${text.split('\n').filter((l) => l.includes('serve-peer')).join('\n')}`);
  }
  assert.equal(sample(text, 'tcptop_sent_bytes_total', PEER), 65_537 + 1_000_003);
  assert.equal(sample(text, 'tcptop_received_bytes_total', PEER), 2 * 4_321);
  assert.ok((sample(text, 'tcptop_frames_written_total') ?? 0) >= 1);
  child.kill('SIGINT');
  assert.equal((await exited)[0], 0, err);
  assert.deepEqual(fs.readdirSync(dir), [], 'serve wrote a file');
});

test('serve without --metrics-listen is refused in one line', () => {
  const r = tcptop(['serve', '-c', '1']);
  assert.equal(r.status, 2);
  assert.match(oneLine(r), /^tcptop: --metrics-listen: required \(the address and port to serve \/metrics on, such as 127\.0\.0\.1:9877\)$/);
});
