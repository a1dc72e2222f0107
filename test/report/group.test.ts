import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Flow } from '../../src/capture/types';
import { compareKeys, FlowGroups, hostOf, keyColumns, servicePort } from '../../src/report/group';

const flow = (id: number, over: Partial<Flow> = {}): Flow => ({
  id, pid: 100, comm: 'curl', family: 4, laddr: '10.0.0.5', lport: 40000, raddr: '203.0.113.7', rport: 443, ...over,
});

test('a host is the remote address; an IPv4-mapped address counts as the IPv4 host', () => {
  assert.equal(hostOf('203.0.113.7'), '203.0.113.7');
  assert.equal(hostOf('::ffff:203.0.113.7'), '203.0.113.7');
  assert.equal(hostOf('::FFFF:10.1.2.3'), '10.1.2.3');
  assert.equal(hostOf('2001:db8::7'), '2001:db8::7');
  assert.equal(hostOf('::ffff:a00:1'), '::ffff:a00:1');
  assert.equal(hostOf('::1'), '::1');
});

test('the service port is the lower of the two ports, whichever end is the client', () => {
  assert.equal(servicePort(flow(1, { lport: 443, rport: 51234 })), 443);
  assert.equal(servicePort(flow(1, { lport: 39012, rport: 8080 })), 8080);
});

test('key columns follow --by in order, each once; flow is pid, comm and both ends', () => {
  assert.deepEqual(keyColumns(['host']).map((c) => c.name), ['host']);
  assert.deepEqual(keyColumns(['comm', 'host']).map((c) => c.name), ['comm', 'host']);
  assert.deepEqual(keyColumns(['flow']).map((c) => c.name), ['pid', 'comm', 'laddr', 'lport', 'raddr', 'rport']);
  assert.deepEqual(keyColumns(['comm', 'flow', 'pid']).map((c) => c.name), ['comm', 'pid', 'laddr', 'lport', 'raddr', 'rport']);
  assert.deepEqual(keyColumns(['port', 'pid']).map((c) => c.numeric), [true, true]);
});

test('flows with the same key share a group; each flow is looked up once; flows and hosts are counted', () => {
  const flows = new Map<number, Flow>([
    [1, flow(1)],
    [2, flow(2, { lport: 40001 })],
    [3, flow(3, { family: 6, laddr: '::ffff:10.0.0.5', raddr: '::ffff:203.0.113.7' })],
    [4, flow(4, { raddr: '198.51.100.1', comm: 'nginx' })],
  ]);
  const lookups: number[] = [];
  const lookup = (id: number): Flow => {
    lookups.push(id);
    return flows.get(id)!;
  };
  const byHost = new FlowGroups(['host']);
  assert.deepEqual([1, 2, 3, 4, 1, 3].map((id) => byHost.groupOf(id, lookup)), [0, 0, 0, 1, 0, 0]);
  assert.deepEqual(lookups, [1, 2, 3, 4]);
  assert.deepEqual(byHost.keys, [['203.0.113.7'], ['198.51.100.1']]);
  assert.equal(byHost.size, 2);
  assert.equal(byHost.flows, 4);
  assert.equal(byHost.hosts, 2);
  const byCommHost = new FlowGroups(['comm', 'raddr']);
  assert.deepEqual([1, 2, 3, 4].map((id) => byCommHost.groupOf(id, (i) => flows.get(i)!)), [0, 0, 1, 2]);
  assert.deepEqual(byCommHost.keys[1], ['curl', '::ffff:203.0.113.7']);
});

test('keys order numbers by value and text by code unit', () => {
  assert.ok(compareKeys([9], [10]) < 0);
  assert.ok(compareKeys(['b'], ['a']) > 0);
  assert.ok(compareKeys(['a', 2], ['a', 1]) > 0);
  assert.ok(compareKeys(['Z'], ['a']) < 0);
  assert.equal(compareKeys(['x', 1], ['x', 1]), 0);
});
