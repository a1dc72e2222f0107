// The one result table `npm run bench` prints: a row per figure, with its target and whether it was met.

export type Result = 'pass' | 'FAIL' | 'info';

export interface Row {
  /** Which target of the benchmark the row checks (T1 ... T7, report), or where it belongs for info rows. */
  target: string;
  what: string;
  /** Send + receive events per second during the measurement, where there was a load. */
  rate?: number;
  figure: string;
  goal: string;
  result: Result;
}

export function check(ok: boolean): Result {
  return ok ? 'pass' : 'FAIL';
}

/** A row for a scenario that could not run: it counts as missed. */
export function notRun(target: string, what: string, why: string, goal = ''): Row {
  return { target, what, figure: `not run: ${why}`, goal, result: 'FAIL' };
}

export function grouped(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

export function formatTable(rows: readonly Row[]): string {
  const cells = [['', 'measured', 'events/s', 'figure', 'target', 'result'],
    ...rows.map((r) => [r.target, r.what, r.rate === undefined ? '' : `${(r.rate / 1000).toFixed(0)}k`, r.figure, r.goal, r.result])];
  const widths = cells[0].map((_, i) => Math.max(...cells.map((c) => c[i].length)));
  const line = (c: string[]) => c.map((s, i) => (i === 2 ? s.padStart(widths[i]) : s.padEnd(widths[i]))).join('  ').trimEnd();
  const rule = widths.map((w) => '-'.repeat(w)).join('  ');
  return [line(cells[0]), rule, ...cells.slice(1).map(line)].join('\n');
}
