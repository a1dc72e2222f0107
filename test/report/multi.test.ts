import assert from 'node:assert/strict';
import * as path from 'node:path';
import { test } from 'node:test';
import { SAMPLE_FRAMES, SAMPLE_HEADER, sampleFlows } from '../../fixtures/generate';
import { formatLoadavg } from '../../src/capture/loadavg';
import type { CaptureHeader } from '../../src/capture/meta';
import { CaptureWriter } from '../../src/capture/writer';
import { commonZone, sameHostOverlap } from '../../src/report/timeline';
import { oneLine, tcptop } from '../helpers/cli';
import { SAMPLE } from '../helpers/paths';
import { tempDir } from '../helpers/tmp';
import { frameFlowsOf } from '../../src/capture/types';

/** The sample's frames and flows, recorded by another host and/or shifted in time. */
function capture(file: string, header: Partial<CaptureHeader>, shiftUs = 0, scale = 1): string {
  const h = { ...SAMPLE_HEADER, ...header, startWallUs: SAMPLE_HEADER.startWallUs + shiftUs };
  const w = CaptureWriter.create(file, h, { force: true });
  for (let i = 1; i <= SAMPLE_FRAMES; i++) {
    const load = { load1: 0.5, load5: 0.48, load15: 0.4, running: 1, tasks: 412, lastPid: 9000 + i };
    w.append({ wallUs: h.startWallUs + i * 1_000_000 + 1000, monoUs: 5e12 + i * 1_000_000, intervalUs: 1_000_000, loadavg: { ...load, raw: formatLoadavg(load) },
      lost: { events: 0, rxBytes: 0, txBytes: 0 } }, frameFlowsOf(sampleFlows(i).map((f) => ({ ...f, rxBytes: f.rxBytes * scale, txBytes: f.txBytes * scale }))));
  }
  w.close(true, h.startWallUs + SAMPLE_FRAMES * 1_000_000 + 2000);
  return file;
}

function json(args: string[]) {
  const r = tcptop(['report', '--json', ...args]);
  assert.equal(r.stderr, '');
  assert.equal(r.status, 0);
  return JSON.parse(r.stdout);
}

const totals = (rows: { rx_bytes: number; tx_bytes: number }[]) => rows.reduce((a, r) => [a[0] + r.rx_bytes, a[1] + r.tx_bytes], [0, 0]);

test('several hosts on one timeline: --by rechost gives each capture\'s totals, and --by rechost --by host answers "who talked to X most"', (t) => {
  const dir = tempDir(t);
  const web2 = capture(path.join(dir, 'web-2.db'), { hostname: 'web-2' }, 0, 2);
  const one = json(['--by', 'host', SAMPLE]);
  const two = json(['--by', 'host', web2]);
  const both = json(['--by', 'rechost', SAMPLE, web2]);
  assert.deepEqual(both.rows.map((r: { rechost: string }) => r.rechost), ['web-2', 'web-1']);
  assert.deepEqual(totals([both.rows[1]]), totals(one.rows));
  assert.deepEqual(totals([both.rows[0]]), totals(two.rows));
  assert.equal(both.hostname, 'web-1, web-2');
  const window = ['--from', '15:00:03', '--to', '15:00:08'];
  const who = json(['--by', 'rechost', '--by', 'host', ...window, SAMPLE, web2]);
  const to = (rows: { host: string; rechost?: string; rx_bytes: number; tx_bytes: number }[], host: string) => rows.filter((r) => r.host === host);
  const first = json(['--by', 'host', ...window, SAMPLE]);
  const second = json(['--by', 'host', ...window, web2]);
  assert.deepEqual(totals(to(who.rows, '198.51.100.23').filter((r) => r.rechost === 'web-1')), totals(to(first.rows, '198.51.100.23')));
  assert.deepEqual(totals(to(who.rows, '198.51.100.23').filter((r) => r.rechost === 'web-2')), totals(to(second.rows, '198.51.100.23')));
  assert.equal(who.rows.find((r: { host: string }) => r.host === '198.51.100.23').rechost, 'web-2');
  assert.equal(who.frames, first.frames);
});

test('captures of one host one after the other add up; overlapping ones are refused with one line', (t) => {
  const dir = tempDir(t);
  const later = capture(path.join(dir, 'later.db'), {}, 60_000_000);
  const r = json([SAMPLE, later]);
  assert.deepEqual(totals(r.rows), totals(json([SAMPLE]).rows).map((n) => 2 * n));
  const overlapping = capture(path.join(dir, 'overlap.db'), {}, 5_000_000);
  for (const files of [[SAMPLE, overlapping], [SAMPLE, SAMPLE]]) {
    const bad = tcptop(['report', ...files]);
    assert.equal(bad.status, 2);
    assert.match(oneLine(bad), /^tcptop: .* are captures of the same host \(web-1\) that overlap in time: report them separately/);
  }
});

test('several captures: different zones need --utc, offsets are refused, intervals must match', (t) => {
  const dir = tempDir(t);
  const utcHost = capture(path.join(dir, 'utc.db'), { hostname: 'db-1', timeZone: 'UTC', tzOffsetMinutes: 0 });
  const bad = tcptop(['report', SAMPLE, utcHost]);
  assert.match(oneLine(bad), /^tcptop: the captures were recorded in different time zones \(Europe\/Berlin in .*, UTC in .*\): add --utc/);
  const ok = json(['--utc', '--by', 'rechost', '--from', '14:00:00', '--to', '14:00:05', SAMPLE, utcHost]);
  assert.equal(ok.rows.length, 2);
  assert.match(oneLine(tcptop(['report', '--utc', '--from', '+5s', SAMPLE, utcHost])), /^tcptop: --from: an offset needs one capture/);
  const slow = capture(path.join(dir, 'slow.db'), { hostname: 'db-2', intervalUs: 2_000_000 });
  assert.match(oneLine(tcptop(['report', SAMPLE, slow])), /^tcptop: the captures have different intervals/);
  assert.match(oneLine(tcptop(['report', '--utc', '--from', '16:00', SAMPLE, utcHost])), /no frames in the range asked for \(the captures span/);
});

test('overlap and zone rules as plain functions', () => {
  const s = (file: string, host: string, startUs: number, endUs: number) => ({ file, host, startUs, endUs });
  assert.equal(sameHostOverlap([s('a', 'h', 0, 10), s('b', 'h', 10, 20), s('c', 'g', 5, 15)]), null);
  assert.deepEqual(sameHostOverlap([s('a', 'h', 0, 10), s('b', 'g', 0, 10), s('c', 'h', 9, 20)])?.map((x) => x.file), ['a', 'c']);
  assert.deepEqual(sameHostOverlap([s('a', 'h', 0, 100), s('b', 'h', 10, 20), s('c', 'h', 30, 40)])?.map((x) => x.file), ['a', 'b']);
  const m = (file: string, timeZone: string | null, tzOffsetMinutes: number) => ({ file, timeZone, tzOffsetMinutes });
  assert.deepEqual(commonZone([m('a', 'Europe/Berlin', 60), m('b', 'Europe/Berlin', 60)], false), { timeZone: 'Europe/Berlin', offsetMinutes: 60 });
  assert.equal(commonZone([m('a', 'Europe/Berlin', 60), m('b', null, 0)], true).timeZone, 'UTC');
  assert.throws(() => commonZone([m('a', null, 60), m('b', null, 0)], false), /UTC\+60m in a, UTC\+0m in b/);
});
