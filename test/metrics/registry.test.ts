import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkListen, parseListen } from '../../src/metrics/listen';
import { ByteRegistry, type FlowDelta, type Health } from '../../src/metrics/registry';

const S = 1_000_000;
const flow = (comm: string, raddr: string, rport: number, lport: number, rx: number, tx: number, pid = 1): FlowDelta =>
  ({ pid, comm, family: 4, laddr: '127.0.0.1', lport, raddr, rport, rxBytes: rx, txBytes: tx });
const health: Health = { frames: 1, lostEvents: 0, lostRxBytes: 0, lostTxBytes: 0, flows: 0, lastDrainSeconds: 0.5, lastCommitSeconds: 0.25, probe: 'fentry', version: '0.1.0' };

test('counters add each frame\'s bytes: a flow that closes, or a reused slot with new ends, never takes bytes back', () => {
  const r = new ByteRegistry({ keys: ['comm', 'host'], expireUs: 0, maxSeries: 100 });
  r.addFrame(1 * S, [flow('curl', '10.0.0.5', 443, 40000, 100, 10), flow('curl', '10.0.0.5', 443, 40001, 5, 1)]);
  // The first connection closed; its slot now holds a new connection to the same host from another port.
  r.addFrame(2 * S, [flow('curl', '10.0.0.5', 443, 40002, 7, 3)]);
  r.addFrame(3 * S, []);
  r.addFrame(4 * S, [flow('curl', '::ffff:10.0.0.5', 443, 40003, 1, 1)]);
  assert.deepEqual([...r.totals()], [['{remote="10.0.0.5",comm="curl"}', [113, 15]]]);
});

test('an idle label set expires whole after --metrics-expire, and starts again from 0; 0 never expires', () => {
  const r = new ByteRegistry({ keys: ['comm'], expireUs: 10 * S, maxSeries: 100 });
  r.addFrame(0, [flow('a', '10.0.0.1', 80, 50000, 1, 1), flow('b', '10.0.0.1', 80, 50001, 1, 1)]);
  r.addFrame(10 * S, [flow('b', '10.0.0.1', 80, 50001, 1, 1)]);
  assert.equal(r.size, 2);
  r.addFrame(10 * S + 1, []);
  assert.deepEqual([...r.totals().keys()], ['{comm="b"}']);
  assert.equal(r.expired, 1);
  r.addFrame(11 * S, [flow('a', '10.0.0.1', 80, 50000, 4, 4)]);
  assert.deepEqual(r.totals().get('{comm="a"}'), [4, 4]);
  const never = new ByteRegistry({ keys: ['comm'], expireUs: 0, maxSeries: 100 });
  never.addFrame(0, [flow('a', '10.0.0.1', 80, 50000, 1, 1)]);
  never.addFrame(1e6 * S, []);
  assert.equal(never.size, 1);
});

test('past --metrics-max-series, new label sets add into remote="other", and each label set folded is counted once', () => {
  const r = new ByteRegistry({ keys: ['host'], expireUs: 0, maxSeries: 2 });
  r.addFrame(S, [flow('x', '10.0.0.1', 80, 50000, 1, 0), flow('x', '10.0.0.2', 80, 50000, 2, 0), flow('x', '10.0.0.3', 80, 50000, 4, 0), flow('x', '10.0.0.4', 80, 50000, 8, 0)]);
  // 10.0.0.3 again, by another connection in the same frame and in the next ones: the same label set, not a new one
  r.addFrame(2 * S, [flow('x', '10.0.0.1', 80, 50000, 16, 0), flow('x', '10.0.0.3', 80, 50001, 32, 0), flow('x', '10.0.0.3', 80, 50002, 64, 0)]);
  r.addFrame(3 * S, [flow('x', '10.0.0.3', 80, 50001, 128, 0), flow('x', '10.0.0.5', 80, 50000, 256, 0)]);
  assert.deepEqual([...r.totals()], [['{remote="10.0.0.1"}', [17, 0]], ['{remote="10.0.0.2"}', [2, 0]], ['{remote="other"}', [4 + 8 + 32 + 64 + 128 + 256, 0]]]);
  assert.equal(r.folded, 3);
  assert.match(r.render(health, false), /^tcptop_series_folded_total 3$/m);
  assert.match(r.render(health, true), /^# TYPE tcptop_series_folded counter\n# HELP tcptop_series_folded label sets added into the other series [^\n]*\ntcptop_series_folded_total 3$/m);
});

test('a folded label set is counted again only once forgotten: idle for --metrics-expire, or pushed out by --metrics-max-series newer ones', () => {
  const r = new ByteRegistry({ keys: ['host'], expireUs: 10 * S, maxSeries: 1 });
  r.addFrame(0, [flow('x', '10.0.0.1', 80, 50000, 1, 0), flow('x', '10.0.0.2', 80, 50000, 1, 0)]);
  r.addFrame(5 * S, [flow('x', '10.0.0.1', 80, 50000, 1, 0), flow('x', '10.0.0.2', 80, 50000, 1, 0)]);
  assert.equal(r.folded, 1);
  // 10.0.0.2 idle from 5 s to 16 s: forgotten with the other series, then folded (and counted) anew
  r.addFrame(16 * S, [flow('x', '10.0.0.1', 80, 50000, 1, 0)]);
  r.addFrame(17 * S, [flow('x', '10.0.0.1', 80, 50000, 1, 0), flow('x', '10.0.0.2', 80, 50000, 1, 0)]);
  assert.equal(r.folded, 2);
  // one folded label set remembered (the cap): 10.0.0.3 pushes 10.0.0.2 out, so 10.0.0.2 counts again
  r.addFrame(18 * S, [flow('x', '10.0.0.1', 80, 50000, 1, 0), flow('x', '10.0.0.3', 80, 50000, 1, 0)]);
  r.addFrame(19 * S, [flow('x', '10.0.0.1', 80, 50000, 1, 0), flow('x', '10.0.0.3', 80, 50000, 1, 0), flow('x', '10.0.0.2', 80, 50000, 1, 0)]);
  assert.equal(r.folded, 4);
  assert.deepEqual([...r.totals()], [['{remote="10.0.0.1"}', [6, 0]], ['{remote="other"}', [4, 0]]]);
});

test('exposition: process names escaped, no timestamps, the service port never the ephemeral one, OpenMetrics ends in # EOF', () => {
  const r = new ByteRegistry({ keys: ['comm', 'port'], expireUs: 0, maxSeries: 100 });
  r.addFrame(S, [flow('a"b\\c\nd', '10.0.0.1', 443, 51234, 3, 4)]);
  const text = r.render(health, false);
  assert.ok(text.includes('tcptop_received_bytes_total{port="443",comm="a\\"b\\\\c\\nd"} 3\n'), text);
  assert.ok(!text.includes('51234'));
  assert.ok(!text.includes('# EOF'));
  assert.match(text, /^tcptop_build_info\{version="0.1.0"\} 1$/m);
  assert.match(text, /^# TYPE tcptop_build_info gauge$/m);
  const om = r.render(health, true);
  assert.ok(om.endsWith('tcptop_build_info{version="0.1.0"} 1\n# EOF\n'));
  assert.ok(om.startsWith('# TYPE tcptop_received_bytes counter\n# UNIT tcptop_received_bytes bytes\n# HELP tcptop_received_bytes '));
  assert.match(om, /^tcptop_last_drain_seconds 0\.5$/m);
  assert.match(om, /^# UNIT tcptop_last_drain_seconds seconds$/m);
  assert.match(om, /^tcptop_probe_info\{probe="fentry"\} 1$/m);
  // Every sample line: name, optional labels, a value, nothing more (no timestamp).
  for (const l of om.split('\n').filter((x) => x && !x.startsWith('#'))) assert.match(l, /^[a-z_]+(\{.*\})? [0-9.e+-]+$/, l);
  // Families appear once each, each family's samples right after its header.
  const families = om.split('\n').filter((l) => l.startsWith('# TYPE ')).map((l) => l.split(' ')[2]);
  assert.equal(new Set(families).size, families.length);
});

test('--metrics-listen: loopback unless asked; one-line errors', () => {
  assert.deepEqual(parseListen('127.0.0.1:9100'), { host: '127.0.0.1', port: 9100 });
  assert.deepEqual(parseListen('[::1]:0'), { host: '::1', port: 0 });
  assert.deepEqual(checkListen(parseListen('localhost:9100'), false), { host: 'localhost', port: 9100 });
  assert.throws(() => checkListen(parseListen('0.0.0.0:9100'), false), /0\.0\.0\.0 is not a loopback address.*--metrics-listen-any/);
  assert.deepEqual(checkListen(parseListen('0.0.0.0:9100'), true), { host: '0.0.0.0', port: 9100 });
  for (const bad of ['9100', 'host.example:9100', '127.0.0.1:70000', '::1:9100']) assert.throws(() => parseListen(bad), /--metrics-listen: invalid address/);
});
