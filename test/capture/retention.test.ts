import Database from 'better-sqlite3';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { SAMPLE_HEADER } from '../../fixtures/generate';
import { CaptureReader } from '../../src/capture/reader';
import { frameFlowsOf, type FlowBytes, type FrameInput } from '../../src/capture/types';
import { framesToDrop } from '../../src/capture/retention';
import { CaptureWriter } from '../../src/capture/writer';
import { tempDir } from '../helpers/tmp';

const frame = (n: number): FrameInput => ({
  wallUs: 1_700_000_000_000_000 + n * 1e6, monoUs: 1e9 + n * 1e6, intervalUs: 1e6,
  loadavg: { load1: 0, load5: 0, load15: 0, running: 1, tasks: 1, lastPid: n, raw: `0.00 0.00 0.00 1/1 ${n}` },
  lost: { events: 0, rxBytes: 0, txBytes: 0 },
});

/** 100 flows a frame; a third of them are new each frame, so old flows stop appearing and can be dropped. */
function flows(n: number): FlowBytes[] {
  return Array.from({ length: 100 }, (_, i) => ({
    pid: 1000 + (i % 7), comm: 'svc', family: 4 as const, laddr: '10.0.0.1', lport: 8080,
    raddr: `10.1.${(i + n * 33) % 250}.${i}`, rport: 40000 + ((i * 7 + n) % 20000),
    rxBytes: 1 + ((n * 131 + i * 17) % 70000), txBytes: (n * 31 + i) % 3 === 0 ? 0 : 100 + i,
  }));
}

const sizeOf = (file: string) => ['', '-wal', '-shm'].reduce((s, x) => s + (fs.existsSync(file + x) ? fs.statSync(file + x).size : 0), 0);

test('framesToDrop brings the used size to 90% of the budget and keeps at least one frame', () => {
  assert.equal(framesToDrop(900, 1000, 10), 0);
  assert.equal(framesToDrop(1200, 1000, 12), 3);
  assert.equal(framesToDrop(10_000, 1000, 3), 2);
});

test('--max-size: the file never grows past the limit; the newest frames are kept, whole, and the file says from when', (t) => {
  const file = path.join(tempDir(t), 'ring.db');
  const max = 1 << 20;
  const w = CaptureWriter.create(file, SAMPLE_HEADER, { maxBytes: max });
  let largest = 0;
  for (let n = 1; n <= 1500; n++) {
    w.append(frame(n), frameFlowsOf(flows(n)));
    largest = Math.max(largest, sizeOf(file));
  }
  assert.ok(largest <= max, `grew to ${largest} bytes`);
  assert.ok(w.droppedFrames > 500, `dropped ${w.droppedFrames}`);
  w.close(true);
  assert.ok(fs.statSync(file).size <= max);
  const r = CaptureReader.open(file);
  const span = r.span()!;
  assert.equal(span.lastSeq, 1500);
  assert.equal(span.firstSeq, 1500 - span.frames + 1, 'the kept frames are the newest, without gaps');
  assert.equal(r.meta.completeFromWallUs, frame(span.firstSeq).wallUs - 1e6);
  // Every kept frame has exactly the flows and bytes written, and no sample points at a dropped flow.
  for (const seq of [span.firstSeq, span.firstSeq + 1, 1500]) {
    const got = r.flowBytes(seq).reduce((s, f) => s + f.rxBytes, 0);
    assert.equal(got, flows(seq).reduce((s, f) => s + f.rxBytes, 0), `frame ${seq}`);
  }
  r.totals(span.firstSeq, span.lastSeq);
  r.close();
});

test('--max-duration: only frames that ended within the window of the newest are kept', (t) => {
  const file = path.join(tempDir(t), 'age.db');
  const w = CaptureWriter.create(file, SAMPLE_HEADER, { maxAgeUs: 30e6 });
  for (let n = 1; n <= 100; n++) w.append(frame(n), frameFlowsOf(flows(n).slice(0, 5)));
  w.close(true);
  const r = CaptureReader.open(file);
  const span = r.span()!;
  assert.deepEqual([span.firstSeq, span.lastSeq], [70, 100]);
  assert.equal(r.meta.completeFromWallUs, frame(70).wallUs - 1e6);
  r.close();
});

test('retention prepares its statements once, not for every frame it drops', (t) => {
  const file = path.join(tempDir(t), 'prepared.db');
  const w = CaptureWriter.create(file, SAMPLE_HEADER, { maxAgeUs: 3e6, maxBytes: 8 << 20 });
  const same = flows(1).slice(0, 5);
  for (let n = 1; n <= 10; n++) w.append(frame(n), frameFlowsOf(same));
  const prepare = Database.prototype.prepare;
  let prepared = 0;
  Database.prototype.prepare = function (this: Database.Database, source: string) {
    prepared++;
    return prepare.call(this, source);
  } as typeof prepare;
  try {
    for (let n = 11; n <= 40; n++) w.append(frame(n), frameFlowsOf(same));
  } finally {
    Database.prototype.prepare = prepare;
  }
  assert.equal(w.droppedFrames, 36);
  assert.equal(prepared, 0);
  w.close(true);
});
