import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { CgroupPaths, walkCgroups } from '../../src/record/cgroups';
import { CaptureReader } from '../../src/capture/reader';
import { CaptureWriter } from '../../src/capture/writer';
import { frameFlowsOf } from '../../src/capture/types';
import { SAMPLE_HEADER } from '../../fixtures/generate';
import { tempDir } from '../helpers/tmp';

test('the walk maps each directory\'s inode number to its path from the root, up to a bound', (t) => {
  const root = tempDir(t);
  fs.mkdirSync(path.join(root, 'a.slice', 'b.service'), { recursive: true });
  fs.writeFileSync(path.join(root, 'a.slice', 'cgroup.procs'), '');
  const ino = (p: string) => Number(fs.statSync(path.join(root, p)).ino);
  const m = walkCgroups(root, 100);
  assert.deepEqual([...m.entries()].sort(), [[ino('.'), '/'], [ino('a.slice'), '/a.slice'], [ino('a.slice/b.service'), '/a.slice/b.service']].sort());
  assert.equal(walkCgroups(root, 2).size, 2);
});

test('ids are looked up in the cache; a miss walks again once for all of a frame\'s ids; an id still missing is gone', () => {
  let tree = new Map([[1, '/'], [7, '/x.service']]);
  const walked: number[] = [];
  const paths = new CgroupPaths('/unused', 10, () => {
    walked.push(1);
    return new Map(tree);
  });
  assert.deepEqual(paths.paths([7]), ['/x.service']);
  assert.deepEqual(paths.paths([1, 7]), ['/', '/x.service']);
  assert.equal(paths.walks, 1);
  tree = new Map([[1, '/'], [9, '/y.scope']]);
  assert.deepEqual(paths.paths([9, 8]), ['/y.scope', null]);
  assert.equal(paths.walks, 2, 'one walk for both misses');
});

test('a version 2 capture keeps each flow\'s cgroup once per id; a gone one says so; the reader gives paths', (t) => {
  const file = path.join(tempDir(t), 'v2.db');
  const asked: number[][] = [];
  const w = CaptureWriter.create(file, SAMPLE_HEADER, { cgroupPaths: (ids) => (asked.push([...ids]), ids.map((id) => (id === 5 ? null : `/s.slice/u${id}.service`))) });
  const frame = (i: number) => ({
    wallUs: SAMPLE_HEADER.startWallUs + i * 1_000_000, monoUs: 5e9 + i * 1_000_000, intervalUs: 1_000_000,
    loadavg: { load1: 0, load5: 0, load15: 0, running: 1, tasks: 1, lastPid: 1, raw: '0.00 0.00 0.00 1/1 1' },
    lost: { events: 0, rxBytes: 0, txBytes: 0 },
  });
  const row = (lport: number, cgroup: number) => ({ pid: 1, comm: 'c', family: 4 as const, laddr: '10.0.0.1', lport, raddr: '10.0.0.2', rport: 80, cgroup, rxBytes: 1, txBytes: 2 });
  const flows = (rows: ReturnType<typeof row>[]) => {
    const f = frameFlowsOf(rows);
    f.flows.forEach((k, i) => ((k as { cgroup?: number }).cgroup = rows[i].cgroup));
    return f;
  };
  w.append(frame(1), flows([row(1, 3), row(2, 3), row(3, 5), row(4, 0)]));
  w.append(frame(2), flows([row(5, 3), row(6, 4)]));
  w.addNames([{ addr: '10.0.0.2', name: 'db.example', lookedUpUs: 123 }]);
  w.close(true);
  assert.deepEqual(asked, [[3, 5], [4]]);
  const r = CaptureReader.open(file);
  assert.equal(r.version, 2);
  assert.deepEqual([1, 2, 3, 4, 5, 6].map((id) => r.flow(id).cgroupPath), ['/s.slice/u3.service', '/s.slice/u3.service', 'cgroup 5 (gone)', undefined, '/s.slice/u3.service', '/s.slice/u4.service']);
  assert.equal(r.flow(1).name, 'db.example');
  assert.deepEqual(r.nameRows(), [{ addr: '10.0.0.2', name: 'db.example', lookedUpUs: 123 }]);
  r.close();
});
