// Child process of test/capture/hostile.test.ts: makes each hostile capture from index START on, in DIR, reads
// it as the commands do and prints one JSON line per case. A separate process, so that a read that never returns
// (SQLite holds the thread) is ended by the test's timeout instead of hanging the suite.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { compare, hostileCases, type HostileCase, type Snapshot } from './hostile-captures';
import { SAMPLE } from './paths';
import { readLikeEveryCommand, type Outcome } from './read-capture';

export interface CaseResult {
  i: number;
  kind: string;
  name: string;
  /** null when the reader did what the case expects; otherwise what went wrong. */
  wrong: string | null;
  outcome: 'read' | 'refused on open' | 'refused while reading';
  message?: string;
  ms: number;
}

/** What the sample reads as: the baseline every case is compared with. */
export function sampleSnapshot(): Snapshot {
  const o = readLikeEveryCommand(SAMPLE);
  if (!('read' in o)) throw new Error(`the sample does not read: ${o.refused}`);
  return o.read;
}

export function judge(c: HostileCase, file: string, o: Outcome, orig: Snapshot): string | null {
  const dir = path.dirname(file);
  const e = c.expect;
  if ('refused' in o) {
    if (o.refused.includes('\n')) return `more than one line: ${o.refused}`;
    if (!o.refused.startsWith(`${file}: `)) return `does not name the file: ${o.refused}`;
    if ('open' in e) {
      if (!o.atOpen) return `refused only while reading, not on open: ${o.refused}`;
      return e.open.test(o.refused) ? null : `refused with ${o.refused}, expected ${e.open}`;
    }
    if ('refused' in e) return e.refused.test(o.refused) ? null : `refused with ${o.refused}, expected ${e.refused}`;
    if ('refusedOrSame' in e || 'refusedOrSameAs' in e) return null;
    return `refused a capture it should read: ${o.refused}`;
  }
  if ('reads' in e) return e.reads(o.read, orig);
  if ('refusedOrSame' in e || 'refusedOrSameAs' in e) {
    let want = orig;
    if ('refusedOrSameAs' in e) {
      const base = readLikeEveryCommand(e.refusedOrSameAs(dir));
      if (!('read' in base)) return `the undamaged capture does not read: ${base.refused}`;
      want = base.read;
    }
    const diff = compare(o.read, want, true);
    return diff === null ? null : `read something else than the file holds: ${diff}`;
  }
  return `read without complaint a capture it should refuse (${'open' in e ? e.open : e.refused})`;
}

if (require.main === module) {
  const [dir, start] = process.argv.slice(2);
  const orig = sampleSnapshot();
  const cases = hostileCases(orig);
  process.stdout.write(`${JSON.stringify({ total: cases.length })}\n`);
  for (let i = Number(start); i < cases.length; i++) {
    const c = cases[i];
    const file = c.make(dir);
    // Announced before reading, so the parent knows which case a hang is in.
    process.stdout.write(`${JSON.stringify({ start: i })}\n`);
    const t0 = performance.now();
    let o: Outcome;
    let result: CaseResult;
    try {
      o = readLikeEveryCommand(file);
      const ms = Math.round(performance.now() - t0);
      result = {
        i, kind: c.kind, name: c.name, wrong: judge(c, file, o, orig), ms,
        outcome: 'read' in o ? 'read' : o.atOpen ? 'refused on open' : 'refused while reading',
        message: 'refused' in o ? o.refused.slice(file.length + 2, file.length + 200) : undefined,
      };
    } catch (err) {
      result = { i, kind: c.kind, name: c.name, wrong: `threw ${(err as Error)?.stack ?? String(err)}`, outcome: 'read', ms: Math.round(performance.now() - t0) };
    }
    process.stdout.write(`${JSON.stringify(result)}\n`);
    fs.rmSync(file, { force: true });
  }
}
