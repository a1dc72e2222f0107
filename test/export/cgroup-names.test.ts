// Exports of a format version 2 capture: cgroups and names carried, and under --anonymize replaced consistently.
import Database from 'better-sqlite3';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { CaptureWriter } from '../../src/capture/writer';
import { frameFlowsOf, type FlowBytes } from '../../src/capture/types';
import { SAMPLE_HEADER } from '../../fixtures/generate';
import { CgroupPseudonyms, NamePseudonyms } from '../../src/export/anonymize';
import { tcptop } from '../helpers/cli';
import { SAMPLE } from '../helpers/paths';
import { tempDir } from '../helpers/tmp';

const HEX = 'e4'.repeat(32);
const UID = '0f3a2c1e_8b7d_4e6f_9a1b_2c3d4e5f6a7b';
const PATHS: Record<number, string> = {
  11: '/system.slice/payments-api.service',
  12: `/system.slice/docker-${HEX}.scope`,
  13: `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${UID}.slice/cri-containerd-${HEX}.scope`,
};

/** A version 2 capture: three flows in three cgroups, two remote hosts with names. */
function v2Capture(file: string): void {
  const w = CaptureWriter.create(file, SAMPLE_HEADER, { cgroupPaths: (ids) => ids.map((id) => PATHS[id]) });
  const row = (lport: number, raddr: string, cgroup: number): FlowBytes & { cgroup: number } =>
    ({ pid: 7, comm: 'svc', family: 4, laddr: '10.1.1.1', lport, raddr, rport: 443, cgroup, rxBytes: 100 * cgroup, txBytes: cgroup });
  const rows = [row(1000, '10.9.8.7', 11), row(1001, '10.9.8.6', 12), row(1002, '10.9.8.7', 13)];
  const flows = frameFlowsOf(rows);
  flows.flows.forEach((f, i) => (f.cgroup = rows[i].cgroup));
  w.append({ wallUs: SAMPLE_HEADER.startWallUs + 1e6, monoUs: 5e9, intervalUs: 1e6,
    loadavg: { load1: 0, load5: 0, load15: 0, running: 1, tasks: 1, lastPid: 1, raw: '0.00 0.00 0.00 1/1 1' }, lost: { events: 0, rxBytes: 0, txBytes: 0 } }, flows);
  w.addNames([{ addr: '10.9.8.7', name: 'ledger-db.corp.example', lookedUpUs: 1 }, { addr: '10.9.8.6', name: 'cache-01.corp.example', lookedUpUs: 2 }]);
  w.close(true);
}

const csv = (file: string, by: string) => {
  const r = tcptop(['report', '--by', by, '--format', 'csv', file]);
  assert.equal(r.status, 0, r.stderr);
  // no field here holds a comma: the key columns (unquoted), then rx and tx bytes
  const [head, ...lines] = r.stdout.split('\n').filter(Boolean).map((l) => l.split(',').map((c) => c.replace(/^"(.*)"$/, '$1')));
  const keys = head.slice(2, head.indexOf('other_groups'));
  return lines.map((c) => [...keys.map((k) => c[head.indexOf(k)]), c[head.indexOf('rx_bytes')], c[head.indexOf('tx_bytes')]]);
};

test('export carries cgroups and names; --anonymize replaces them consistently and reports group the same', (t) => {
  const dir = tempDir(t);
  const src = path.join(dir, 'src.db');
  v2Capture(src);
  const plain = path.join(dir, 'plain.db');
  const anon = path.join(dir, 'anon.db');
  for (const [out, extra] of [[plain, []], [anon, ['--anonymize']]] as const) {
    const r = tcptop(['export', src, '-o', out, ...extra]);
    assert.equal(r.status, 0, r.stderr);
  }
  assert.deepEqual(csv(plain, 'unit'), csv(src, 'unit'));
  assert.deepEqual(csv(plain, 'name'), [['ledger-db.corp.example', '2400', '24'], ['cache-01.corp.example', '1200', '12']].sort((a, b) => Number(b[1]) - Number(a[1])));
  // anonymized: same groups, same bytes, other names
  assert.deepEqual(csv(anon, 'unit').map((r) => r.slice(1)), csv(src, 'unit').map((r) => r.slice(1)));
  assert.deepEqual(csv(anon, 'unit').map((r) => r[0]).sort(), [`cri-containerd-${'0'.repeat(63)}2.scope`, `docker-${'0'.repeat(63)}2.scope`, 'unit-1.service'].sort());
  assert.deepEqual(csv(anon, 'pod').map((r) => r.slice(0, 2)).sort(), [['(none)', '(none)'], ['00000000-0000-4000-8000-000000000003', 'burstable']]);
  assert.deepEqual(csv(anon, 'name').map((r) => r[0]).sort(), ['host-1.invalid', 'host-2.invalid']);
  const bytes = fs.readFileSync(anon);
  for (const secret of ['payments-api', HEX, UID, 'ledger-db', 'corp.example']) assert.ok(!bytes.includes(Buffer.from(secret)), secret);
  const db = new Database(anon, { readonly: true });
  assert.equal(db.pragma('user_version', { simple: true }), 2);
  db.close();
});

test('cgroup pseudonyms: part by part, the same part always the same, never an original part', () => {
  const p = new CgroupPseudonyms(['/system.slice/unit-1.service', '/a.slice/x.service']);
  assert.equal(p.path('/system.slice/unit-1.service'), '/system.slice/unit-2.service');
  assert.equal(p.path('/a.slice/x.service'), '/slice-3.slice/unit-4.service');
  assert.equal(p.path('/a.slice/unit-1.service'), '/slice-3.slice/unit-2.service');
  assert.equal(p.path('/'), '/');
  assert.deepEqual(p.replaced().sort(), ['a.slice', 'unit-1.service', 'x.service']);
  const n = new NamePseudonyms(['host-1.invalid', 'b.example']);
  assert.deepEqual([n.name('b.example'), n.name('host-1.invalid'), n.name('b.example')], ['host-2.invalid', 'host-3.invalid', 'host-2.invalid']);
});

test('replay --names shows remote hosts by name, --wide adds the UNIT column; without them the view is the classic one', (t) => {
  const src = path.join(tempDir(t), 'v2.db');
  v2Capture(src);
  const view = (...extra: string[]) => {
    const r = tcptop(['replay', '-C', '-S', ...extra, src]);
    assert.equal(r.status, 0, r.stderr);
    return r.stdout.split('\n').filter((l) => l !== '' && !l.startsWith('Tracing'));
  };
  assert.deepEqual(view(), [
    'PID     COMM         LADDR                 RADDR                  RX_KB  TX_KB',
    '7       svc          10.1.1.1:1002         10.9.8.7:443               1      0',
    '7       svc          10.1.1.1:1001         10.9.8.6:443               1      0',
    '7       svc          10.1.1.1:1000         10.9.8.7:443               1      0',
  ]);
  assert.deepEqual(view('--names', '--wide'), [
    'PID     COMM         UNIT                     LADDR                 RADDR                  RX_KB  TX_KB',
    '7       svc          cri-containerd-e4e4e4e4e 10.1.1.1:1002         ledger-db.corp.ex:443      1      0',
    '7       svc          docker-e4e4e4e4e4e4e4e4e 10.1.1.1:1001         cache-01.corp.exa:443      1      0',
    '7       svc          payments-api.service     10.1.1.1:1000         ledger-db.corp.ex:443      1      0',
  ]);
  // names are untrusted text: escaped like process names
  const db = new Database(src);
  db.prepare("UPDATE name SET name = ? WHERE addr = '10.9.8.6'").run('evil\x1b[2J');
  db.close();
  assert.ok(view('--names').some((l) => l.includes('evil\\x1b[2J:443')), view('--names').join('\n'));
});

test('a version 1 capture reports every flow under (none) by cgroup, unit, container and pod, and by name under its address', () => {
  for (const by of ['cgroup', 'unit', 'container']) assert.deepEqual(csv(SAMPLE, by).map((r) => r[0]), ['(none)'], by);
  assert.deepEqual(csv(SAMPLE, 'pod').map((r) => r.slice(0, 2)), [['(none)', '(none)']]);
  assert.deepEqual(csv(SAMPLE, 'name'), csv(SAMPLE, 'host'));
  const json = JSON.parse(tcptop(['report', '--by', 'unit', '--by', 'name', '--json', SAMPLE]).stdout) as { rows: Record<string, unknown>[] };
  assert.ok(json.rows.length > 0 && json.rows.every((r) => r.unit === '(none)' && typeof r.name === 'string'), JSON.stringify(json.rows[0]));
});
