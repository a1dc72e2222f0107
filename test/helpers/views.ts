// Reads the classic view back into numbers, so tests can check what was printed against known bytes.

export interface ViewRow {
  family: 4 | 6;
  pid: number;
  comm: string;
  local: string;
  remote: string;
  rxKb: number;
  txKb: number;
}

export interface ParsedView {
  clock: string | null;
  loadavg: string | null;
  rows: ViewRow[];
}

/** Splits -C output into views (each begins with the blank line -C prints) and parses their rows. */
export function parseViews(text: string): ParsedView[] {
  const lines = text.split('\n');
  if (!lines[0].startsWith('Tracing... Output every ')) throw new Error(`no banner: ${lines[0]}`);
  const views: ParsedView[] = [];
  let family: 4 | 6 = 4;
  let view: ParsedView | null = null;
  for (const line of lines.slice(1)) {
    const summary = /^(\d\d:\d\d:\d\d) loadavg: (.*)$/.exec(line);
    if (summary) {
      view = { clock: summary[1], loadavg: summary[2], rows: [] };
      views.push(view);
    } else if (line.startsWith('PID     COMM')) {
      family = line.includes('LADDR6') ? 6 : 4;
      if (!view || (family === 4 && view.rows.length > 0)) {
        view = { clock: null, loadavg: null, rows: [] };
        views.push(view);
      }
    } else if (/^\d/.test(line)) {
      const m = /^(\d+)\s+(.{12}) (\S+)\s+(\S+)\s+(\d+)\s+(\d+)$/.exec(line);
      if (!m || !view) throw new Error(`bad row: ${line}`);
      view.rows.push({ family, pid: Number(m[1]), comm: m[2].trimEnd(), local: m[3], remote: m[4], rxKb: Number(m[5]), txKb: Number(m[6]) });
    }
  }
  return views;
}
