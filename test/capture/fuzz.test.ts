// Mutates the sample capture a thousand ways and reads each result as every command would: each must
// either read or fail with a CaptureError (one line for the user), never crash, throw anything else, or hang.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { CaptureReader } from '../../src/capture/reader';
import { CaptureError } from '../../src/errors';
import { rebin, type FrameFlows } from '../../src/replay/frames';
import { infoJson, infoText } from '../../src/info/info';
import { displayZone } from '../../src/time/zone';
import { renderFrame } from '../../src/view/classic';
import { SAMPLE } from '../helpers/paths';
import { tempDir } from '../helpers/tmp';

const COUNT = Number(process.env.TCPTOP_FUZZ_COUNT ?? 1000);

function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

function mutate(orig: Buffer, rand: () => number): Buffer {
  const b = Buffer.from(orig);
  const pageSize = 4096;
  const pages = Math.floor(b.length / pageSize);
  const kind = Math.floor(rand() * 6);
  switch (kind) {
    case 0: // a few random bytes anywhere past the file header
      for (let i = 0, n = 1 + Math.floor(rand() * 8); i < n; i++) b[100 + Math.floor(rand() * (b.length - 100))] = Math.floor(rand() * 256);
      return b;
    case 1: // a burst of bytes inside one page
    {
      const at = pageSize + Math.floor(rand() * (b.length - pageSize - 64));
      for (let i = 0; i < 64; i++) b[at + i] = Math.floor(rand() * 256);
      return b;
    }
    case 2: // a page zeroed
    {
      const p = 1 + Math.floor(rand() * (pages - 1));
      b.fill(0, p * pageSize, (p + 1) * pageSize);
      return b;
    }
    case 3: // two pages swapped
    {
      const p = 1 + Math.floor(rand() * (pages - 1));
      const q = 1 + Math.floor(rand() * (pages - 1));
      const tmp = Buffer.from(b.subarray(p * pageSize, (p + 1) * pageSize));
      b.copy(b, p * pageSize, q * pageSize, (q + 1) * pageSize);
      tmp.copy(b, q * pageSize);
      return b;
    }
    case 4: // cut short anywhere
      return b.subarray(0, Math.floor(rand() * b.length));
    default: // a byte of the database header (page size, counts, versions, ids)
      b[16 + Math.floor(rand() * 84)] = Math.floor(rand() * 256);
      return b;
  }
}

/** What replay and info do with a capture, in process. */
function readLikeTheCommands(file: string): void {
  const r = CaptureReader.open(file);
  try {
    const span = r.span();
    const totals = span ? r.totals(span.firstSeq, span.lastSeq) : null;
    const zone = displayZone(r.meta, false);
    infoText({ file, meta: r.meta, span, totals }, zone);
    JSON.stringify(infoJson({ file, meta: r.meta, span, totals }));
    if (!span) return;
    const frames = function* (): Generator<FrameFlows> {
      for (const frame of r.frames(span.firstSeq, span.lastSeq)) yield { frame, flows: r.flowBytes(frame.seq) };
    };
    for (const bin of rebin(frames(), 2)) renderFrame({ clock: '00:00:00', loadavg: bin.last.loadavg.raw, flows: bin.flows }, { clear: false, summary: true, sort: 'all' });
  } finally {
    r.close();
  }
}

test(`${COUNT} mutations of a capture: each reads or is refused with a CaptureError`, { timeout: 300_000 }, (t) => {
  const dir = tempDir(t);
  const orig = fs.readFileSync(SAMPLE);
  const rand = rng(20261126);
  const outcomes = { read: 0, refused: 0 };
  for (let i = 0; i < COUNT; i++) {
    const file = path.join(dir, `m${i}.db`);
    fs.writeFileSync(file, mutate(orig, rand));
    // the monotonic clock: another test may step the wall clock meanwhile
    const t0 = performance.now();
    try {
      readLikeTheCommands(file);
      outcomes.read++;
    } catch (err) {
      if (!(err instanceof CaptureError)) {
        const kept = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tcptop-fuzz-')), `mutation-${i}.db`);
        fs.copyFileSync(file, kept);
        assert.fail(`mutation ${i} threw ${(err as Error)?.stack ?? String(err)} (kept as ${kept})`);
      }
      assert.doesNotMatch(err.message, /\n/, 'one line');
      outcomes.refused++;
    }
    const ms = Math.round(performance.now() - t0);
    assert.ok(ms < 5000, `mutation ${i} took ${ms} ms`);
    fs.rmSync(file);
  }
  t.diagnostic(`read ${outcomes.read}, refused ${outcomes.refused}`);
  // Both outcomes must occur, or the mutations are not reaching the reader.
  assert.ok(outcomes.read > 0 && outcomes.refused > 0, JSON.stringify(outcomes));
});
