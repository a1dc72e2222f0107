// The Prometheus text format and OpenMetrics 1.0, as text: names, escaping, family headers, sample lines.
// Pure functions; the endpoint and the export write what they return.

/** Label values come from process names and addresses, which anyone can choose: escaped per the format. */
export function escapeLabelValue(v: string): string {
  return v.replace(/[\\"\n]/g, (c) => (c === '\\' ? '\\\\' : c === '"' ? '\\"' : '\\n'));
}

/** HELP text escapes backslash and newline (not quotes). */
export function escapeHelp(v: string): string {
  return v.replace(/[\\\n]/g, (c) => (c === '\\' ? '\\\\' : '\\n'));
}

/** `{a="x",b="y"}`, or '' for no labels. */
export function labelText(names: readonly string[], values: readonly string[]): string {
  if (names.length === 0) return '';
  let s = '{';
  for (let i = 0; i < names.length; i++) s += `${i ? ',' : ''}${names[i]}="${escapeLabelValue(values[i])}"`;
  return `${s}}`;
}

export type MetricType = 'counter' | 'gauge' | 'info';

export interface FamilyHeader {
  /** The family name: for a counter without `_total`, for an info metric without `_info`. */
  name: string;
  type: MetricType;
  help: string;
  /** OpenMetrics unit, a suffix of the name (`bytes`, `seconds`). */
  unit?: string;
}

/**
 * A family's header lines. OpenMetrics names the counter family without `_total` and has `# UNIT`; the
 * Prometheus text format names it with `_total` and has no info type (an info metric is a gauge there).
 */
export function familyHeader(h: FamilyHeader, openMetrics: boolean): string {
  if (openMetrics) {
    let s = `# TYPE ${h.name} ${h.type}\n`;
    if (h.unit) s += `# UNIT ${h.name} ${h.unit}\n`;
    return `${s}# HELP ${h.name} ${escapeHelp(h.help)}\n`;
  }
  const name = sampleName(h);
  return `# HELP ${name} ${escapeHelp(h.help)}\n# TYPE ${name} ${h.type === 'info' ? 'gauge' : h.type}\n`;
}

/** The name its samples carry: `_total` on a counter, `_info` on an info metric. */
export function sampleName(h: FamilyHeader): string {
  return h.type === 'counter' ? `${h.name}_total` : h.type === 'info' ? `${h.name}_info` : h.name;
}

/** A timestamp in seconds, exact to the millisecond Prometheus keeps: 1764000000.25 for 1764000000250000 µs. */
export function secondsText(us: number): string {
  const ms = Math.round(us / 1000);
  const s = Math.floor(ms / 1000);
  const frac = ms - s * 1000;
  return frac === 0 ? String(s) : `${s}.${String(frac).padStart(3, '0').replace(/0+$/, '')}`;
}

/** A number as both formats write it: integers exactly, others as JavaScript prints them. */
export function valueText(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

export const OPENMETRICS_CONTENT_TYPE = 'application/openmetrics-text; version=1.0.0; charset=utf-8';
export const TEXT_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** Whether a scraper's Accept header asks for OpenMetrics. */
export function wantsOpenMetrics(accept: string | undefined): boolean {
  return accept !== undefined && /application\/openmetrics-text/i.test(accept);
}
