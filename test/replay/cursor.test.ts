// The interactive view's cursor over the sample capture: its timeline, its bins and its series hold the
// generator's exact bytes.
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { test } from 'node:test';
import { SAMPLE_FRAMES, SAMPLE_HEADER, sampleFlows } from '../../fixtures/generate';
import { CaptureReader } from '../../src/capture/reader';
import { frameFlowsOf, flowKeyString, sumFlows } from '../../src/capture/types';
import { CaptureWriter } from '../../src/capture/writer';
import { CaptureCursor } from '../../src/replay/cursor';
import { SAMPLE } from '../helpers/paths';
import { tempDir } from '../helpers/tmp';

const bytes = (flows: { rxBytes: number; txBytes: number }[]): number => flows.reduce((s, f) => s + f.rxBytes + f.txBytes, 0);

test('the timeline has every frame of the range with its total bytes', () => {
  const reader = CaptureReader.open(SAMPLE);
  try {
    const c = new CaptureCursor(reader, 1, SAMPLE_FRAMES);
    assert.equal(c.frames, SAMPLE_FRAMES);
    assert.deepEqual(c.timeline.seqs, Array.from({ length: SAMPLE_FRAMES }, (_, i) => i + 1));
    assert.deepEqual(c.timeline.totals, Array.from({ length: SAMPLE_FRAMES }, (_, i) => bytes(sampleFlows(i + 1))));
    const part = new CaptureCursor(reader, 4, 6);
    assert.deepEqual(part.timeline.seqs, [4, 5, 6]);
    assert.equal(part.span().first.seq, 4);
  } finally {
    reader.close();
  }
});

test('a bin sums its frames per flow; the last bin may be short', () => {
  const reader = CaptureReader.open(SAMPLE);
  try {
    const c = new CaptureCursor(reader, 1, SAMPLE_FRAMES);
    const key = (f: Parameters<typeof flowKeyString>[0] & { rxBytes: number; txBytes: number }): string => `${flowKeyString(f)} ${f.rxBytes} ${f.txBytes}`;
    for (const factor of [1, 3, 5]) {
      for (let i = 0; i * factor < SAMPLE_FRAMES; i++) {
        const frames = Array.from({ length: Math.min(factor, SAMPLE_FRAMES - i * factor) }, (_, k) => i * factor + k + 1);
        const bin = c.bin(i, factor);
        assert.equal(bin.frames, frames.length);
        assert.equal(bin.first.seq, frames[0]);
        assert.equal(bin.last.seq, frames[frames.length - 1]);
        const want = sumFlows(frames.map(sampleFlows)).map(key).sort();
        assert.deepEqual(bin.flows.map(key).sort(), want, `factor ${factor} bin ${i}`);
      }
    }
  } finally {
    reader.close();
  }
});

test('a series is one flow set\'s bytes in every frame', () => {
  const reader = CaptureReader.open(SAMPLE);
  try {
    const c = new CaptureCursor(reader, 1, SAMPLE_FRAMES);
    const s = c.series((f) => f.comm === 'curl');
    for (let i = 1; i <= SAMPLE_FRAMES; i++) {
      const curl = sampleFlows(i).filter((f) => f.comm === 'curl');
      assert.equal(s.rx[i - 1], curl.reduce((a, f) => a + f.rxBytes, 0));
      assert.equal(s.tx[i - 1], curl.reduce((a, f) => a + f.txBytes, 0));
    }
  } finally {
    reader.close();
  }
});

test('a capture being recorded: names and cgroups stored after the reader first looked are read again, for flows read before too', (t) => {
  const file = path.join(tempDir(t), 'growing.db');
  const paths: Record<number, string> = { 31: '/system.slice/db.service', 32: '/system.slice/web.service' };
  const w = CaptureWriter.create(file, SAMPLE_HEADER, { cgroupPaths: (ids) => ids.map((id) => paths[id] ?? null) });
  /** Frame i: flow 1000 in cgroup 31 to 10.9.8.7, and from frame 2 on flow 1001 in cgroup 32 to 10.9.8.6. */
  const frame = (i: number) => {
    const rows = [{ pid: 7, comm: 'svc', family: 4 as const, laddr: '10.1.1.1', lport: 1000, raddr: '10.9.8.7', rport: 443, rxBytes: i, txBytes: 1 }];
    if (i >= 2) rows.push({ ...rows[0], lport: 1001, raddr: '10.9.8.6' });
    const flows = frameFlowsOf(rows);
    flows.flows.forEach((f) => (f.cgroup = f.lport === 1000 ? 31 : 32));
    w.append({ wallUs: SAMPLE_HEADER.startWallUs + i * 1e6, monoUs: 5e9 + i * 1e6, intervalUs: 1e6,
      loadavg: { load1: 0, load5: 0, load15: 0, running: 1, tasks: 1, lastPid: 1, raw: '0.00 0.00 0.00 1/1 1' }, lost: { events: 0, rxBytes: 0, txBytes: 0 } }, flows);
  };
  const shown = (flows: { lport: number; name?: string; cgroupPath?: string }[]) =>
    flows.map((f) => [f.lport, f.name, f.cgroupPath]).sort((a, b) => Number(a[0]) - Number(b[0]));
  frame(1);
  const reader = CaptureReader.open(file);
  try {
    const c = new CaptureCursor(reader, 1, null);
    assert.deepEqual(shown(c.bin(0, 1).flows), [[1000, undefined, '/system.slice/db.service']]);
    // the name is found after the flow's first frame and stored with the next, which brings a flow in a new cgroup
    w.addNames([{ addr: '10.9.8.7', name: 'ledger-db.example', lookedUpUs: 5 }]);
    frame(2);
    assert.equal(c.grow(), 1);
    assert.deepEqual(shown(c.bin(0, 1).flows), [[1000, 'ledger-db.example', '/system.slice/db.service']], 'the bin read before the name came');
    assert.deepEqual(shown(c.bin(1, 1).flows), [[1000, 'ledger-db.example', '/system.slice/db.service'], [1001, undefined, '/system.slice/web.service']]);
    // a name looked up again replaces the one before
    w.addNames([{ addr: '10.9.8.7', name: 'ledger-db-2.example', lookedUpUs: 9 }, { addr: '10.9.8.6', name: 'cache.example', lookedUpUs: 9 }]);
    frame(3);
    c.grow();
    assert.deepEqual(shown(c.bin(0, 3).flows), [[1000, 'ledger-db-2.example', '/system.slice/db.service'], [1001, 'cache.example', '/system.slice/web.service']]);
  } finally {
    reader.close();
    w.close(true);
  }
});
