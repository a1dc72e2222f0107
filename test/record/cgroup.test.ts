// Each flow's cgroup end to end: processes moved into cgroups shaped like a systemd service, a docker container and
// a Kubernetes pod's container, their known bytes recorded by the real probe, and the capture's cgroup paths, the
// derived unit, container and pod, and the bytes per group in `report --by` checked. Kernel tests.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { CaptureReader } from '../../src/capture/reader';
import { cgroup2Root } from '../../src/record/cgroups';
import { makeCgroups } from '../helpers/cgroups';
import { tcptop, tcptopAsync } from '../helpers/cli';
import { kernel } from '../helpers/kernel';
import { tempDir } from '../helpers/tmp';
import { nodeClient, startServer, stopPeers, type ClientReport, type Peer } from '../helpers/traffic';

const HEX_DOCKER = 'd0'.repeat(32);
const HEX_POD = 'c1'.repeat(32);
const UID = '0f3a2c1e-8b7d-4e6f-9a1b-2c3d4e5f6a7b';

test('record: each flow carries its process\'s cgroup; report --by cgroup|unit|container|pod adds up exact bytes', kernel, async (t) => {
  const root = cgroup2Root();
  assert.ok(root, 'a cgroup2 mount');
  t.after(stopPeers);
  const dir = tempDir(t);
  const file = path.join(dir, 'cg.db');
  const top = `/tcptop-test-${process.pid}.slice`;
  const service = `${top}/nginx.service`;
  const docker = `${top}/docker-${HEX_DOCKER}.scope`;
  const pod = `${top}/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${UID.replace(/-/g, '_')}.slice/cri-containerd-${HEX_POD}.scope`;
  makeCgroups(t, root, [service, docker, pod]);

  const server = await startServer('127.0.0.1', 999);
  const rec = tcptopAsync(['record', '-o', file, '-i', '0.3']);
  const exited = once(rec, 'exit');
  let err = '';
  rec.stderr!.on('data', (d) => (err += d));
  for (let waited = 0; !err.includes('recording to'); waited += 20) {
    if (rec.exitCode !== null || waited > 20_000) throw new Error(`recorder did not start: ${err}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  const sizes = [11_111, 22_222, 33_333];
  const cgroups = [service, docker, pod];
  let reports: ClientReport[];
  try {
    const peers: Peer<ClientReport>[] = sizes.map((n, i) => nodeClient(`cg-peer-${i}`, '127.0.0.1', server.port, n));
    peers.forEach((p, i) => fs.writeFileSync(path.join(root, cgroups[i], 'cgroup.procs'), String(p.pid)));
    for (const p of peers) p.go();
    reports = await Promise.all(peers.map((p) => p.result));
    await Promise.all(server.accepted);
  } finally {
    await server.close();
    rec.kill('SIGINT');
    await exited;
  }
  assert.equal(rec.exitCode, 0, err);

  const r = CaptureReader.open(file);
  try {
    assert.equal(r.version, 2);
    const span = r.span()!;
    const seen = new Map<number, string | undefined>();
    for (const f of r.frames(span.firstSeq, span.lastSeq)) {
      for (const s of r.samples(f.seq)) {
        const fl = r.flow(s.flow);
        const i = reports.findIndex((c) => c.lport === fl.lport && c.laddr === fl.laddr && c.rport === fl.rport);
        if (i >= 0) seen.set(i, fl.cgroupPath);
      }
    }
    assert.deepEqual([...seen.entries()].sort(), cgroups.map((c, i) => [i, c]));
  } finally {
    r.close();
  }

  const report = (by: string) => {
    const out = tcptop(['report', '--by', by, '--format', 'csv', file]);
    assert.equal(out.status, 0, out.stderr);
    // no field here holds a comma: unquote each
    return out.stdout.split('\n').slice(1).filter(Boolean).map((l) => l.split(',').map((c) => c.replace(/^"(.*)"$/, '$1')));
  };
  // start,end,KEY...,other_groups,rx_bytes,tx_bytes,total_bytes: a client received 999 and sent its size
  const bytesOf = (rows: string[][], key: string, width = 1) => {
    const row = rows.find((c) => c[2] === key);
    assert.ok(row, `a group ${key} in ${JSON.stringify(rows)}`);
    return [Number(row[3 + width]), Number(row[4 + width])];
  };
  const units = report('unit');
  assert.deepEqual(bytesOf(units, 'nginx.service'), [999, 11_111]);
  assert.deepEqual(bytesOf(units, `docker-${HEX_DOCKER}.scope`), [999, 22_222]);
  assert.deepEqual(bytesOf(units, `cri-containerd-${HEX_POD}.scope`), [999, 33_333]);
  const containers = report('container');
  assert.deepEqual(bytesOf(containers, `docker://${HEX_DOCKER}`), [999, 22_222]);
  assert.deepEqual(bytesOf(containers, `containerd://${HEX_POD}`), [999, 33_333]);
  const pods = report('pod');
  const podRow = pods.find((c) => c[2] === UID)!;
  assert.deepEqual([podRow[3], Number(podRow[5]), Number(podRow[6])], ['burstable', 999, 33_333]);
  const byPath = report('cgroup');
  assert.deepEqual(bytesOf(byPath, service), [999, 11_111]);
  assert.deepEqual(bytesOf(byPath, pod), [999, 33_333]);
  const json = JSON.parse(tcptop(['report', '--by', 'unit', '--json', file]).stdout) as { rows: { unit: string; rxBytes?: number }[] };
  assert.ok(json.rows.some((row) => row.unit === 'nginx.service'), JSON.stringify(json.rows));
});
