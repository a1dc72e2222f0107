// What `tcptop info` says about a capture, built from plain data so it can be checked against known values.
import { isoFromUs as iso, type CaptureMeta } from '../capture/meta';
import type { Span, Totals } from '../capture/reader';
import { dateTimeOf, zoneLabel, type DisplayZone } from '../time/zone';
import { printable } from '../view/printable';
import { grouped, humanBytes, humanDuration, lostText } from '../view/units';

export interface InfoReport {
  file: string;
  meta: CaptureMeta;
  span: Span | null;
  totals: Totals | null;
}

/** The machine-readable form: raw numbers, ISO times in UTC. */
export function infoJson(r: InfoReport): unknown {
  const m = r.meta;
  return {
    file: r.file,
    schema_version: m.schemaVersion,
    tool_version: m.toolVersion,
    hostname: m.hostname,
    kernel_release: m.kernelRelease,
    boot_id: m.bootId,
    start_time: iso(m.startWallUs),
    tz_offset_minutes: m.tzOffsetMinutes,
    time_zone: m.timeZone,
    interval_seconds: m.intervalUs / 1e6,
    probe: m.probe,
    command_line: m.commandLine,
    filters: m.filters,
    ended_cleanly: m.endedCleanly,
    end_time: m.endWallUs === null ? null : iso(m.endWallUs),
    complete_from: m.completeFromWallUs === null ? null : iso(m.completeFromWallUs),
    extra: m.other,
    frames: r.span?.frames ?? 0,
    first_frame: r.span ? { seq: r.span.firstSeq, time: iso(r.span.first.wallUs) } : null,
    last_frame: r.span ? { seq: r.span.lastSeq, time: iso(r.span.last.wallUs) } : null,
    flows: r.totals?.flows ?? 0,
    rx_bytes: r.totals?.rxBytes ?? 0,
    tx_bytes: r.totals?.txBytes ?? 0,
    lost: r.totals?.lost ?? { events: 0, rxBytes: 0, txBytes: 0 },
  };
}

/** The text form: one fact per line, exact byte counts with a rounded human figure beside them. */
export function infoText(r: InfoReport, zone: DisplayZone): string {
  const m = r.meta;
  const lines: [string, string][] = [
    ['capture', r.file],
    ['format', `tcptop capture version ${m.schemaVersion}, written by tcptop ${m.toolVersion}`],
    ['host', `${m.hostname}, kernel ${m.kernelRelease}, boot id ${m.bootId}`],
    ['probe', m.probe],
    ['interval', `${m.intervalUs / 1e6} s`],
    ['command', m.commandLine.join(' ')],
    ['filters', describeFilters(m.filters)],
    ['time zone', zoneLabel(zone, m.startWallUs / 1000)],
  ];
  if (r.span && r.totals) {
    const s = r.span;
    const startUs = s.first.wallUs - s.first.intervalUs;
    lines.push(
      ['span', `${dateTimeOf(zone, startUs)} to ${dateTimeOf(zone, s.last.wallUs)} (${humanDuration(s.last.monoUs - s.first.monoUs + s.first.intervalUs)})`],
      ['frames', `${grouped(s.frames)} (seq ${s.firstSeq} to ${s.lastSeq})`],
      ['flows', grouped(r.totals.flows)],
      ['received', bytesLine(r.totals.rxBytes)],
      ['sent', bytesLine(r.totals.txBytes)],
    );
    const lost = r.totals.lost;
    lines.push(['not counted', lost.events === 0
      ? 'nothing (every event was attributed to a flow)'
      : lostText(lost, m.probe)]);
  } else {
    lines.push(['frames', '0 (nothing recorded yet)']);
  }
  if (m.completeFromWallUs !== null) {
    lines.push(['complete from', `${dateTimeOf(zone, m.completeFromWallUs)} (older frames were dropped to stay within --max-size or --max-duration)`]);
  }
  lines.push(['ended', m.endedCleanly
    ? `cleanly${m.endWallUs === null ? '' : ` at ${dateTimeOf(zone, m.endWallUs)}`}`
    : 'not cleanly: still recording, or the recorder was killed (frames committed before that are all here)']);
  for (const [k, v] of Object.entries(m.other)) lines.push([printable(k.replace(/_/g, ' ')), v]);
  const width = Math.max(...lines.map(([k]) => k.length));
  // Every value may hold text from the file (host, kernel, command line, paths): escaped as one line each.
  return lines.map(([k, v]) => `${k.padEnd(width)}  ${printable(v)}\n`).join('');
}

function bytesLine(n: number): string {
  return `${grouped(n)} bytes (${humanBytes(n)})`;
}

function describeFilters(f: CaptureMeta['filters']): string {
  const parts: string[] = [];
  if (f.pid !== undefined) parts.push(`pid ${f.pid}`);
  if (f.family !== undefined) parts.push(`IPv${f.family} only`);
  if (f.cgroup !== undefined) parts.push(`cgroup ${f.cgroup}`);
  return parts.length ? parts.join(', ') : 'none (all TCP traffic)';
}
