import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { oneLine, tcptop } from '../helpers/cli';
import { SAMPLE } from '../helpers/paths';
import { prometheus, promtool, startPrometheus } from '../helpers/prometheus';
import { tempDir } from '../helpers/tmp';

const CAPTURE_ID = '20261120T140000Z-6f1c2a9e';

function exportOm(out: string, args: string[] = [], file = SAMPLE): string {
  const r = tcptop(['export', file, '--format', 'openmetrics', '-o', out, ...args]);
  assert.equal(r.stderr, '');
  assert.equal(r.status, 0);
  return fs.readFileSync(out, 'utf8');
}

interface HostTotals { [host: string]: { rx: number; tx: number } }

function reportTotals(args: string[] = []): HostTotals {
  const r = tcptop(['report', '--json', '--by', 'host', ...args, SAMPLE]);
  assert.equal(r.status, 0, r.stderr);
  const totals: HostTotals = {};
  for (const row of JSON.parse(r.stdout).rows) totals[row.host] = { rx: row.rx_bytes, tx: row.tx_bytes };
  return totals;
}

/** Parses sample lines: name, labels, value, time; checks the family order and that each series is together and ascending. */
function parse(text: string) {
  const lines = text.split('\n');
  assert.equal(lines.pop(), '');
  assert.equal(lines.pop(), '# EOF');
  const samples: { name: string; labels: Record<string, string>; value: number; time: number }[] = [];
  const families: string[] = [];
  const seenSeries = new Set<string>();
  let current = '';
  let lastTime = -Infinity;
  for (const l of lines) {
    if (l.startsWith('# TYPE ')) {
      families.push(l.split(' ')[2]);
      continue;
    }
    if (l.startsWith('#')) continue;
    const m = /^(\w+)\{(.*)\} (\d+) (\d+(?:\.\d+)?)$/.exec(l);
    assert.ok(m, l);
    assert.ok(m[1].startsWith(families[families.length - 1]), `${m[1]} in family ${families[families.length - 1]}`);
    const series = `${m[1]}{${m[2]}}`;
    if (series !== current) {
      assert.ok(!seenSeries.has(series), `series ${series} is split`);
      seenSeries.add(series);
      current = series;
      lastTime = -Infinity;
    }
    const time = Number(m[4]);
    assert.ok(time > lastTime, `${l} not after ${lastTime}`);
    lastTime = time;
    const labels = Object.fromEntries([...m[2].matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1], x[2]]));
    samples.push({ name: m[1], labels, value: Number(m[3]), time });
  }
  return { families, samples };
}

/** The last value of each series, summed per remote host. */
function lastPerHost(samples: ReturnType<typeof parse>['samples']): HostTotals {
  const last = new Map<string, { name: string; host: string; value: number }>();
  for (const s of samples) last.set(`${s.name}${JSON.stringify(s.labels)}`, { name: s.name, host: s.labels.remote, value: s.value });
  const totals: HostTotals = {};
  for (const { name, host, value } of last.values()) {
    totals[host] ??= { rx: 0, tx: 0 };
    totals[host][name === 'tcptop_received_bytes_total' ? 'rx' : 'tx'] += value;
  }
  return totals;
}

test('openmetrics export: families in order, each series together and ascending, host and capture labels, totals equal the report', (t) => {
  const out = path.join(tempDir(t), 'sample.om');
  const text = exportOm(out);
  assert.match(text, /^# TYPE tcptop_received_bytes counter\n# UNIT tcptop_received_bytes bytes\n# HELP tcptop_received_bytes /);
  const { families, samples } = parse(text);
  assert.deepEqual(families, ['tcptop_received_bytes', 'tcptop_sent_bytes']);
  for (const s of samples) {
    assert.equal(s.labels.host, 'web-1');
    assert.equal(s.labels.capture, CAPTURE_ID);
    assert.deepEqual(Object.keys(s.labels), ['host', 'capture', 'remote', 'comm']);
  }
  assert.deepEqual(lastPerHost(samples), reportTotals());
  assert.equal(fs.statSync(out).mode & 0o777, 0o600);
  // The same file gives the same text.
  const again = path.join(path.dirname(out), 'again.om');
  assert.equal(exportOm(again), text);
});

test('openmetrics export: the sshd connection of frame 7 starts at 0 and ends at its bytes; --step resamples; --from/--to cut', (t) => {
  const dir = tempDir(t);
  const { samples } = parse(exportOm(path.join(dir, 'a.om')));
  const sshd = samples.filter((s) => s.labels.comm === 'sshd' && s.name === 'tcptop_sent_bytes_total');
  const t0 = Date.UTC(2026, 10, 20, 14, 0, 0) / 1000;
  // The fixture's frames end a few ms after each second, as a real recorder's do.
  assert.deepEqual(sshd.map((s) => [Math.round(s.time - t0), s.value]), [[6, 0], [7, 250_000]]);
  const stepped = parse(exportOm(path.join(dir, 'b.om'), ['--step', '3s'])).samples;
  assert.deepEqual(new Set(stepped.map((s) => Math.round(s.time - t0) % 3)), new Set([0]));
  assert.deepEqual(lastPerHost(stepped), reportTotals());
  const cut = parse(exportOm(path.join(dir, 'c.om'), ['--from', '15:00:03', '--to', '15:00:08'])).samples;
  assert.deepEqual(lastPerHost(cut), reportTotals(['--from', '15:00:03', '--to', '15:00:08']));
  const byPort = parse(exportOm(path.join(dir, 'd.om'), ['--by', 'port', '--by', 'pid'])).samples;
  assert.deepEqual(new Set(byPort.map((s) => Object.keys(s.labels).join(','))), new Set(['host,capture,port,pid']));
  assert.ok(byPort.every((s) => Number(s.labels.port) < 10_000), 'never an ephemeral port');
});

test('openmetrics export refuses bad input with one line', (t) => {
  const dir = tempDir(t);
  const out = path.join(dir, 'x.om');
  const bad: [string[], RegExp][] = [
    [['--format', 'openmetrics', '--step', '1.5s'], /^tcptop: --step: 1\.5s is not a whole number of frames/],
    [['--format', 'openmetrics', '--anonymize'], /^tcptop: --anonymize: only with --format capture/],
    [['--format', 'openmetrics', '--by', 'flow'], /^tcptop export: option '--by <key>' argument 'flow' is invalid|invalid value 'flow'/],
    [['--step', '2s'], /^tcptop: --step: only with --format openmetrics$/],
    [['--format', 'prom'], /invalid value 'prom'/],
  ];
  for (const [args, re] of bad) {
    const r = tcptop(['export', SAMPLE, '-o', out, ...args]);
    assert.notEqual(r.status, 0, args.join(' '));
    assert.match(oneLine(r), re);
    assert.equal(fs.existsSync(out), false);
  }
  fs.writeFileSync(out, 'keep');
  const r = tcptop(['export', SAMPLE, '--format', 'openmetrics', '-o', out]);
  assert.match(oneLine(r), /exists \(add --force to replace it\)$/);
  assert.equal(fs.readFileSync(out, 'utf8'), 'keep');
  exportOm(out, ['--force']);
});

test('backfill: promtool makes blocks of the export, and Prometheus on them gives the report\'s per-host totals', prometheus, async (t) => {
  const dir = tempDir(t);
  const om = path.join(dir, 'sample.om');
  const text = exportOm(om);
  const storage = path.join(dir, 'data');
  promtool(['tsdb', 'create-blocks-from', 'openmetrics', om, storage]);
  // promtool 2.42's dump reads the WAL too, which a directory of backfilled blocks has none of.
  fs.mkdirSync(path.join(storage, 'wal'));
  // The dump holds every sample written, with its exact value and millisecond time.
  const dump = promtool(['tsdb', 'dump', storage]).split('\n').filter((l) => l.startsWith('{'));
  const asDumped = (name: string, labels: Record<string, string>, value: number, time: number): string =>
    `${name} ${Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => `${k}=${v}`).join(',')} ${value} ${Math.round(time * 1000)}`;
  const fromDump = dump.map((l) => {
    const m = /^\{(.*)\} (\S+) (\d+)$/.exec(l);
    assert.ok(m, l);
    const labels = Object.fromEntries([...m[1].matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1], x[2]]));
    const name = labels.__name__;
    delete labels.__name__;
    return asDumped(name, labels, Number(m[2]), Number(m[3]) / 1000);
  });
  const { samples } = parse(text);
  assert.deepEqual(fromDump.sort(), samples.map((s) => asDumped(s.name, s.labels, s.value, s.time)).sort());
  const prom = await startPrometheus(t, storage);
  try {
    // At the capture's last sample: its frames end a few ms after the second.
    const end = Math.max(...samples.map((s) => s.time));
    const want = reportTotals();
    for (const [name, key] of [['tcptop_received_bytes_total', 'rx'], ['tcptop_sent_bytes_total', 'tx']] as const) {
      const result = await prom.query(`sum by (remote) (max_over_time(${name}{host="web-1",capture="${CAPTURE_ID}"}[20s]))`, end);
      const got = Object.fromEntries(result.map((r) => [r.metric.remote, Number(r.value[1])]));
      assert.deepEqual(got, Object.fromEntries(Object.entries(want).map(([h, v]) => [h, v[key]])), name);
    }
  } finally {
    await prom.stop();
  }
});
