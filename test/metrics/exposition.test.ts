import assert from 'node:assert/strict';
import { test } from 'node:test';
import { escapeLabelValue, familyHeader, labelText, secondsText, wantsOpenMetrics } from '../../src/metrics/exposition';
import { labelNames, labelValues, normalizeKeys } from '../../src/metrics/labels';
import type { Flow } from '../../src/capture/types';

test('label values escape backslash, quote and newline, and nothing else', () => {
  assert.equal(escapeLabelValue('a\\b"c\nd\te'), 'a\\\\b\\"c\\nd\te');
  assert.equal(labelText(['comm', 'remote'], ['x"y\n', '10.0.0.5']), '{comm="x\\"y\\n",remote="10.0.0.5"}');
  assert.equal(labelText([], []), '');
});

test('family headers: OpenMetrics names the counter family without _total and gives its unit; the text format does not', () => {
  const h = { name: 'tcptop_received_bytes', type: 'counter' as const, unit: 'bytes', help: 'bytes\\in\nnow' };
  assert.equal(familyHeader(h, true), '# TYPE tcptop_received_bytes counter\n# UNIT tcptop_received_bytes bytes\n# HELP tcptop_received_bytes bytes\\\\in\\nnow\n');
  assert.equal(familyHeader(h, false), '# HELP tcptop_received_bytes_total bytes\\\\in\\nnow\n# TYPE tcptop_received_bytes_total counter\n');
  assert.equal(familyHeader({ name: 'tcptop_probe', type: 'info', help: 'p' }, false), '# HELP tcptop_probe_info p\n# TYPE tcptop_probe_info gauge\n');
});

test('timestamps are seconds, exact to the millisecond', () => {
  assert.equal(secondsText(1_764_000_000_000_000), '1764000000');
  assert.equal(secondsText(1_764_000_000_250_000), '1764000000.25');
  assert.equal(secondsText(1_764_000_000_001_499), '1764000000.001');
});

test('OpenMetrics only when the scraper asks for it', () => {
  assert.equal(wantsOpenMetrics('application/openmetrics-text; version=1.0.0,text/plain;version=0.0.4;q=0.5'), true);
  assert.equal(wantsOpenMetrics('text/plain'), false);
  assert.equal(wantsOpenMetrics(undefined), false);
});

test('labels: remote is the IPv4 form of a mapped address; port is the service port, never the ephemeral one', () => {
  const f: Flow = { id: 1, pid: 7, comm: 'curl', family: 6, laddr: '::ffff:127.0.0.1', lport: 39012, raddr: '::ffff:10.0.0.5', rport: 443 };
  const keys = normalizeKeys(['comm', 'port', 'host', 'comm']);
  assert.deepEqual(labelNames(keys), ['remote', 'port', 'comm']);
  assert.deepEqual(labelValues(keys, f), ['10.0.0.5', '443', 'curl']);
  const server: Flow = { ...f, lport: 8080, rport: 51000 };
  assert.deepEqual(labelValues(['port'], server), ['8080']);
});
