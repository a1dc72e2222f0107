// The live endpoint scraped by a real Prometheus while the real probe counts known loopback transfers: the
// counters Prometheus stores equal the capture's exact totals per label set. A kernel test, and it needs
// Prometheus: skipped with the reason where either is missing, never with CI=true.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import * as path from 'node:path';
import { test } from 'node:test';
import { tcptop, tcptopAsync } from '../helpers/cli';
import { kernel } from '../helpers/kernel';
import { prometheus, startPrometheus, until } from '../helpers/prometheus';
import { tempDir } from '../helpers/tmp';
import { nodeClient, startServer, stopPeers } from '../helpers/traffic';

const both = { skip: kernel.skip || prometheus.skip };

test('live: Prometheus scrapes the recorder, and its counters equal the capture\'s exact totals per label set', both, async (t) => {
  t.after(stopPeers);
  const dir = tempDir(t);
  const file = path.join(dir, 'live.db');
  const rec = tcptopAsync(['record', '-o', file, '-i', '0.5', '--metrics-listen', '127.0.0.1:0']);
  const exited = once(rec, 'exit');
  let err = '';
  rec.stderr!.on('data', (d) => (err += d));
  t.after(() => {
    if (rec.exitCode === null) rec.kill('SIGKILL');
  });
  const url = await until('the recorder to start', async () => {
    if (rec.exitCode !== null) throw new Error(`recorder exited: ${err}`);
    return err.includes('recording to') ? /serving metrics at (http:\/\/\S+)/.exec(err)![1] : undefined;
  }, 30_000);
  const target = new URL(url);
  const prom = await startPrometheus(t, path.join(dir, 'data'), [{ job_name: 'tcptop', scrape_interval: '1s', static_configs: [{ targets: [target.host] }] }]);
  try {
    await until('a first scrape', async () => ((await prom.query('tcptop_build_info')).length ? true : undefined));

    // Known bytes: each client sends UP and reads DOWN; both connections end before the counters are read.
    const server = await startServer('127.0.0.1', 4_321);
    const peers = [nodeClient('prom-one', '127.0.0.1', server.port, 123_457), nodeClient('prom-one', '127.0.0.1', server.port, 1_000_001)];
    for (const p of peers) p.go();
    await Promise.all(peers.map((p) => p.result));
    await Promise.all(server.accepted);
    await server.close();
    const query = `tcptop_sent_bytes_total{comm="prom-one"}`;
    let seen = '';
    const sent = await until('the counters to reach the bytes moved', async () => {
      const r = await prom.query(query);
      seen = JSON.stringify(r);
      const rx = await prom.query(`tcptop_received_bytes_total{comm="prom-one"}`);
      seen += JSON.stringify(rx);
      return r.length === 1 && Number(r[0].value[1]) === 123_457 + 1_000_001 && rx.length === 1 && Number(rx[0].value[1]) === 2 * 4_321 ? r[0] : undefined;
    }, 30_000).catch((e: Error) => {
      throw new Error(`${e.message}; last: ${seen}`);
    });
    assert.deepEqual(sent.metric, { __name__: 'tcptop_sent_bytes_total', comm: 'prom-one', remote: '127.0.0.1', instance: target.host, job: 'tcptop' });
    const [received] = await prom.query(`tcptop_received_bytes_total{comm="prom-one"}`);
    assert.equal(Number(received.value[1]), 2 * 4_321);
    // The recorder's health came through too. Asked now: once the recorder stops, its series go stale.
    const [frames] = await prom.query('tcptop_frames_written_total');
    assert.ok(Number(frames.value[1]) >= 1);
    const [probe] = await prom.query('tcptop_probe_info');
    assert.match(probe.metric.probe, /^(tracepoint|fentry|kprobe)$/);

    rec.kill('SIGINT');
    const [code] = await exited;
    assert.equal(code, 0, err);
    // The capture's exact totals for the same label set.
    const r = tcptop(['report', '--json', '--by', 'comm', '--by', 'host', file]);
    assert.equal(r.status, 0, r.stderr);
    const row = JSON.parse(r.stdout).rows.find((x: { comm: string }) => x.comm === 'prom-one');
    assert.deepEqual([row.host, row.rx_bytes, row.tx_bytes], ['127.0.0.1', Number(received.value[1]), Number(sent.value[1])]);
  } finally {
    await prom.stop();
  }
});
