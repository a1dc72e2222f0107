// How the guest reports to the host over the serial console: one line per check, then a summary,
// each a marker and JSON, so kernel messages interleaved on the console cannot be mistaken for them.
import type { CheckResult } from './checks';

export const CHECK_MARK = '@@tcptop-vm-check ';
export const DONE_MARK = '@@tcptop-vm-done ';

export interface Summary {
  kernel: string;
  passed: number;
  /** Any fails the run. */
  failed: number;
  ms: number;
}

export function checkLine(r: CheckResult): string {
  return CHECK_MARK + JSON.stringify(r);
}

export function doneLine(s: Summary): string {
  return DONE_MARK + JSON.stringify(s);
}

/** The checks and the summary found in console output; lines that do not parse are ignored. */
export function parseConsole(text: string): { checks: CheckResult[]; done: Summary | null } {
  const checks: CheckResult[] = [];
  let done: Summary | null = null;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    try {
      const at = line.indexOf(CHECK_MARK);
      if (at >= 0) checks.push(JSON.parse(line.slice(at + CHECK_MARK.length)) as CheckResult);
      const d = line.indexOf(DONE_MARK);
      if (d >= 0) done = JSON.parse(line.slice(d + DONE_MARK.length)) as Summary;
    } catch {
      // a line cut by a kernel message: the check then counts as missing
    }
  }
  return { checks, done };
}
