// fixtures/real.db was recorded by the real probe while fixtures/record-real.ts made transfers of known
// sizes (fixtures/real.json): replay and info must show exactly those bytes, on any machine.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { CaptureReader } from '../../src/capture/reader';
import type { FlowBytes } from '../../src/capture/types';
import { tcptop } from '../helpers/cli';
import { GOLDEN, ROOT } from '../helpers/paths';
import type { End } from '../helpers/traffic';
import { parseViews } from '../helpers/views';

const REAL = path.join(ROOT, 'fixtures/real.db');
const manifest = JSON.parse(fs.readFileSync(path.join(ROOT, 'fixtures/real.json'), 'utf8')) as {
  pid: number; comm: string; transfers: { name: string; client: End; server: End; up: number; down: number }[];
};
const FAMILIES: Record<string, [4 | 6, 4 | 6]> = { ipv4: [4, 4], ipv6: [6, 6], 'dual-stack': [4, 6], 'two local addresses': [4, 4] };

const same = (f: FlowBytes, e: End) => f.laddr === e.laddr && f.lport === e.lport && f.raddr === e.raddr && f.rport === e.rport;

test('the real recording holds the exact bytes of every transfer made while it ran, at both ends', () => {
  const r = CaptureReader.open(REAL);
  assert.equal(r.meta.probe, 'tracepoint');
  assert.equal(r.meta.endedCleanly, true);
  const span = r.span()!;
  const all = [...r.frames(span.firstSeq, span.lastSeq)].flatMap((f) => r.flowBytes(f.seq));
  r.close();
  for (const t of manifest.transfers) {
    const [cf, sf] = FAMILIES[t.name];
    for (const [end, family, rx, tx] of [[t.client, cf, t.down, t.up], [t.server, sf, t.up, t.down]] as const) {
      const mine = all.filter((f) => same(f, end));
      assert.ok(mine.length > 0, `${t.name}: no flow for ${end.laddr}:${end.lport}`);
      assert.ok(mine.every((f) => f.pid === manifest.pid && f.comm === manifest.comm && f.family === family), t.name);
      assert.deepEqual([mine.reduce((s, f) => s + f.rxBytes, 0), mine.reduce((s, f) => s + f.txBytes, 0)], [rx, tx], `${t.name} ${end.lport}`);
    }
  }
});

test('replay of the real recording prints replay-real.txt, and each view shows its frame\'s bytes in KB', () => {
  const r = tcptop(['replay', '-C', REAL]);
  assert.equal(r.status, 0, r.stderr);
  const golden = path.join(GOLDEN, 'replay-real.txt');
  if (process.env.UPDATE_GOLDEN === '1') fs.writeFileSync(golden, r.stdout);
  assert.equal(r.stdout, fs.readFileSync(golden, 'utf8'));
  const views = parseViews(r.stdout);
  const reader = CaptureReader.open(REAL);
  const frames = [...reader.frames(1, 6)];
  assert.equal(views.length, frames.length);
  views.forEach((v, i) => {
    const want = reader.flowBytes(frames[i].seq).map((f) => `${f.laddr}:${f.lport} ${Math.floor(f.rxBytes / 1024)} ${Math.floor(f.txBytes / 1024)}`).sort();
    assert.deepEqual(v.rows.map((row) => `${row.local} ${row.rxKb} ${row.txKb}`).sort(), want);
  });
  reader.close();
  const info = JSON.parse(tcptop(['info', '--json', REAL]).stdout);
  const sum = manifest.transfers.reduce((s, t) => s + t.up + t.down, 0);
  assert.deepEqual([info.rx_bytes, info.tx_bytes], [sum, sum]);
});
