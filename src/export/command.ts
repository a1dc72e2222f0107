// `tcptop export FILE -o OUT`: a new, self-contained capture of a time window, optionally anonymized, fit to
// attach to a bug report. The original is opened read-only, so a recorder still writing it is not disturbed.
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import { compactCapture } from '../capture/compact';
import { sideFiles } from '../capture/files';
import { isoFromUs as iso, type CaptureHeader } from '../capture/meta';
import { CaptureReader, SampleColumns, type Span } from '../capture/reader';
import type { Flow, FlowKey, Frame, KeyedFlow } from '../capture/types';
import { CaptureWriter } from '../capture/writer';
import { write } from '../cli/output';
import { printable } from '../view/printable';
import { toolVersion } from '../cli/program';
import { RANGE_OPTIONS, type CommandSpec } from '../cli/spec';
import { CaptureError, describeErrno, UsageError } from '../errors';
import { resolveRange, type SeqRange } from '../time/range';
import type { TimeSpec } from '../time/spec';
import { dateTimeOf, displayZone, type DisplayZone } from '../time/zone';
import { grouped } from '../view/units';
import { parseChoice, parseDuration } from '../cli/parse';
import { LABEL_KEYS, DEFAULT_LABEL_KEYS, type LabelKey } from '../metrics/labels';
import { exportOpenMetrics } from './openmetrics';
import { anonymizeHeader, CgroupPseudonyms, NamePseudonyms, Pseudonyms } from './anonymize';
import { TABLES } from '../capture/schema';
import { addressTexts, containsText, findAddressText } from './leaks';

export interface ExportOptions {
  output?: string;
  from?: TimeSpec;
  to?: TimeSpec;
  utc?: boolean;
  anonymize?: boolean;
  anonymizeComm?: boolean;
  force?: boolean;
  format?: ExportFormat;
  step?: number;
  by?: LabelKey[];
}

export const EXPORT_FORMATS = ['capture', 'openmetrics'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

/** Hostnames shorter than this are not searched for in the bytes: they would turn up in any binary data. */
const MIN_HOSTNAME_SCAN = 4;
/** Replaced cgroup path parts and host names shorter than this are not looked for (they could be any bytes). */
const MIN_TEXT_SCAN = 6;

export const exportCommand: CommandSpec<ExportOptions> = {
  name: 'export',
  summary: 'write a time window of a capture to a new self-contained capture, optionally anonymized, to share; or as OpenMetrics to backfill Prometheus',
  args: [{ name: 'file', description: 'capture file written by tcptop record (never modified, even while recording)' }],
  options: [
    { flags: '-o, --output <file>', description: 'the file to write (required; created mode 0600)' },
    { flags: '--format <format>', description: `${EXPORT_FORMATS.join('|')}: a capture file, or OpenMetrics text for promtool tsdb create-blocks-from openmetrics (default: capture)`, parse: parseChoice('--format', EXPORT_FORMATS) },
    { flags: '--step <duration>', description: 'openmetrics: one sample per series per step, a whole number of frames (default: the recorded interval)', parse: parseDuration('--step') },
    { flags: '--by <key>', description: `openmetrics: label the byte counters by ${LABEL_KEYS.join('|')}; repeat to combine (default: comm and host, as labels comm and remote)`, parse: parseChoice('--by', LABEL_KEYS), repeatable: true },
    RANGE_OPTIONS.from,
    RANGE_OPTIONS.to,
    { ...RANGE_OPTIONS.utc, description: "read --from/--to clock times as UTC instead of the recording host's time zone" },
    { flags: '--anonymize', description: 'replace addresses by consistent pseudonyms of the same kind, and the hostname and command line' },
    { flags: '--anonymize-comm', description: 'replace process names too (implies --anonymize)' },
    { flags: '--force', description: 'replace OUT if it exists' },
  ],
  examples: [
    'tcptop export incident.db -o share.db --from 14:02 --to 14:05',
    'tcptop export incident.db -o share.db --anonymize           # addresses, hostname, command line replaced',
    'tcptop export /var/lib/tcptop/now.db -o last-10m.db --from -10m   # while it is still being recorded',
    'tcptop export incident.db --format openmetrics -o incident.om   # then: promtool tsdb create-blocks-from openmetrics incident.om DIR',
  ],
  async run(args, opts) {
    const file = args[0] as string;
    const out = opts.output;
    if (!out) throw new UsageError('-o/--output: required (the capture file to write)');
    const anonymize = (opts.anonymize ?? false) || (opts.anonymizeComm ?? false);
    if ((opts.format ?? 'capture') === 'openmetrics') {
      if (anonymize) throw new UsageError(`${opts.anonymizeComm ? '--anonymize-comm' : '--anonymize'}: only with --format capture (export an anonymized capture, then export that as openmetrics)`);
      await write(fromWindow(file, out, opts, (w) => exportOpenMetricsText(w, out, opts)));
      return;
    }
    if (opts.step !== undefined) throw new UsageError('--step: only with --format openmetrics');
    if (opts.by !== undefined) throw new UsageError('--by: only with --format openmetrics');
    await write(fromWindow(file, out, opts, (src) => exportCapture(src, file, out, opts, anonymize)));
  },
};

/** A capture's window to export: the reader, its span, the display zone, and the frames that --from/--to select. */
interface Window {
  reader: CaptureReader;
  span: Span;
  zone: DisplayZone;
  range: SeqRange;
}

/** Opens FILE read-only, resolves --from/--to on it and hands the window to `exportTo`; the reader is closed after, whatever happens. */
function fromWindow<T>(file: string, out: string, opts: ExportOptions, exportTo: (w: Window) => T): T {
  const reader = CaptureReader.open(file);
  try {
    refuseSameFile(file, out);
    const span = reader.span();
    if (!span) throw new CaptureError(file, 'the capture has no frames yet (nothing to export)');
    const zone = displayZone(reader.meta, opts.utc ?? false);
    return exportTo({ reader, span, zone, range: resolveRange(reader, span, zone, opts.from, opts.to) });
  } finally {
    reader.close();
  }
}

/** The capture export; returns the summary line. */
function exportCapture({ reader, span, zone, range }: Window, file: string, out: string, opts: ExportOptions, anonymize: boolean): string {
  const flows = flowsIn(reader, range);
  const keyOf = flowKeys(flows, anonymize, opts.anonymizeComm ?? false, reader.meta.hostname);
  const cgroupPaths = flows.map((f) => (f.cgroup ? reader.cgroupPath(f.cgroup) : undefined)).filter((p): p is string => typeof p === 'string');
  const cgroups = anonymize ? new CgroupPseudonyms(cgroupPaths) : null;
  const raddrs = new Set(flows.map((f) => f.raddr));
  const nameRows = reader.nameRows().filter((r) => raddrs.has(r.addr));
  const names = anonymize ? new NamePseudonyms(nameRows.map((r) => r.name)) : null;
  const m = reader.meta;
  const header: CaptureHeader = {
    toolVersion: m.toolVersion, hostname: m.hostname, kernelRelease: m.kernelRelease, bootId: m.bootId,
    startWallUs: m.startWallUs, tzOffsetMinutes: m.tzOffsetMinutes, timeZone: m.timeZone, intervalUs: m.intervalUs,
    probe: m.probe, commandLine: m.commandLine, filters: m.filters,
  };
  const writer = CaptureWriter.create(out, anonymize ? anonymizeHeader(header, randomUUID()) : header, {
    force: opts.force, bulk: true,
    // the source's format: a version 1 capture has no cgroups and no names to carry
    formatVersion: reader.version === 1 ? 1 : undefined,
    cgroupPaths: (ids) => ids.map((id) => {
      const p = reader.cgroupPath(id);
      return typeof p === 'string' && cgroups ? cgroups.path(p) : p;
    }),
  });
  let closed = false;
  try {
    let first: Frame | null = null;
    let last: Frame | null = null;
    let frames = 0;
    const cols = new SampleColumns();
    // Keyed by the source's flow id, not by its values: two flows with the same ends (a port reused by a
    // later connection) stay two flows.
    const keyed = new Map<number, KeyedFlow>();
    for (const frame of reader.frames(range.fromSeq, range.toSeq)) {
      const n = reader.readFrameSamples(frame.seq, cols);
      const flowsOf: KeyedFlow[] = new Array(n);
      for (let i = 0; i < n; i++) {
        let flow = keyed.get(cols.flow[i]);
        if (!flow) {
          const key = keyOf.get(cols.flow[i]);
          if (!key) throw new CaptureError(file, `frame ${frame.seq} changed while it was exported`);
          flow = { ...key, id: String(cols.flow[i]) };
          keyed.set(cols.flow[i], flow);
        }
        flowsOf[i] = flow;
      }
      writer.append({ wallUs: frame.wallUs, monoUs: frame.monoUs, intervalUs: frame.intervalUs, loadavg: frame.loadavg, lost: frame.lost },
        { count: n, flows: flowsOf, rx: cols.rx, tx: cols.tx });
      first ??= frame;
      last = frame;
      frames++;
    }
    if (!first || !last) throw new CaptureError(file, 'the frames of the range went away while exporting');
    // an address as the exported flows have it: its pseudonym when anonymized
    const exported = new Map(flows.map((f) => [f.raddr, keyOf.get(f.id)!.raddr]));
    writer.addNames(nameRows.map((r) => (names ? { ...r, addr: exported.get(r.addr)!, name: names.name(r.name) } : r)));
    // Keys this version does not know may say anything about the host: an anonymized export leaves them out.
    if (!anonymize) for (const [k, v] of Object.entries(m.other)) writer.setMeta(k, v);
    if (m.completeFromWallUs !== null && range.fromSeq === span.firstSeq) writer.setMeta('complete_from_wall_us', String(m.completeFromWallUs));
    const sourceEnded = reader.endedCleanly();
    const notes: Record<string, string> = {
      export_time: new Date().toISOString(),
      export_from: iso(first.wallUs - first.intervalUs),
      export_to: iso(last.wallUs),
      export_source_frames: `${range.fromSeq}-${range.toSeq} of ${span.firstSeq}-${span.lastSeq}`,
      export_source_ended_cleanly: sourceEnded ? '1' : '0',
      export_anonymized: anonymize ? 'yes' : 'no',
      export_tool_version: toolVersion(),
    };
    if (anonymize) notes.export_anonymized_comm = opts.anonymizeComm ? 'yes' : 'no';
    for (const [k, v] of Object.entries(notes)) writer.setMeta(k, v);
    const endsWithSource = range.toSeq === span.lastSeq && sourceEnded && m.endWallUs !== null;
    writer.close(true, endsWithSource ? m.endWallUs! : last.wallUs);
    closed = true;
    compactCapture(out);
    if (anonymize) checkAnonymized(out, flows, m.hostname, [...(cgroups?.replaced() ?? []), ...nameRows.map((r) => r.name)]);
    return `exported ${grouped(frames)} frames (${dateTimeOf(zone, first.wallUs - first.intervalUs)} to ${dateTimeOf(zone, last.wallUs)}) `
      + `and ${grouped(flows.length)} flows to ${printable(out)}${anonymize ? `, anonymized${opts.anonymizeComm ? ' with process names' : ''}` : ''}\n`;
  } catch (err) {
    if (!closed) writer.close(false);
    removeCapture(out);
    throw err;
  }
}

/** The OpenMetrics export; returns the summary line. */
function exportOpenMetricsText({ reader, zone, range }: Window, out: string, opts: ExportOptions): string {
  const r = exportOpenMetrics(reader, range, opts.by ?? DEFAULT_LABEL_KEYS, opts.step, out, opts.force ?? false);
  return `exported ${grouped(r.series)} series (${grouped(r.samples)} samples) of ${grouped(r.frames)} frames `
    + `(${dateTimeOf(zone, r.firstUs)} to ${dateTimeOf(zone, r.lastUs)}) as OpenMetrics to ${printable(out)}\n`;
}

/** With --force the output would be removed first: never when it is the capture being read. */
function refuseSameFile(file: string, out: string): void {
  let a: fs.Stats;
  let b: fs.Stats;
  try {
    a = fs.statSync(file);
    b = fs.statSync(out);
  } catch {
    return;
  }
  if (a.dev === b.dev && a.ino === b.ino) throw new UsageError(`-o/--output: ${out} is the capture being exported (choose another name)`);
}

/** The flows with samples in the range, in id order: first met, first numbered when pseudonyms are made. */
function flowsIn(reader: CaptureReader, range: SeqRange): Flow[] {
  const ids = new Set<number>();
  const cols = new SampleColumns();
  for (let seq = range.fromSeq; seq <= range.toSeq; seq++) {
    const n = reader.readFrameSamples(seq, cols);
    for (let i = 0; i < n; i++) ids.add(cols.flow[i]);
  }
  return [...ids].sort((a, b) => a - b).map((id) => reader.flow(id));
}

/** Each flow's key as the export writes it: as recorded, or with pseudonyms. */
function flowKeys(flows: Flow[], anonymize: boolean, comms: boolean, hostname: string): Map<number, FlowKey> {
  const keys = new Map<number, FlowKey>();
  if (!anonymize) {
    for (const f of flows) keys.set(f.id, f);
    return keys;
  }
  if (!comms && hostname.length >= MIN_HOSTNAME_SCAN) {
    const named = flows.find((f) => f.comm.toLowerCase().includes(hostname.toLowerCase()));
    if (named) throw new UsageError(`--anonymize: the process name '${named.comm}' contains the hostname (add --anonymize-comm)`);
  }
  const p = new Pseudonyms(flows.flatMap((f) => [f.laddr, f.raddr]), flows.map((f) => f.comm));
  for (const f of flows) {
    keys.set(f.id, { pid: f.pid, comm: comms ? p.comm(f.comm) : f.comm, family: f.family, laddr: p.address(f.laddr), lport: f.lport,
      raddr: p.address(f.raddr), rport: f.rport, cgroup: f.cgroup });
  }
  return keys;
}

/**
 * The last line of defence: the finished file's bytes, free pages and all, must hold no original address or hostname,
 * nor any of `texts` (the cgroup path parts and host names replaced) long enough to be told apart from the format's own words.
 */
function checkAnonymized(out: string, flows: Flow[], hostname: string, texts: string[]): void {
  const data = fs.readFileSync(out);
  const found = findAddressText(data, addressTexts(flows.flatMap((f) => [f.laddr, f.raddr])));
  const text = texts.find((t) => t.length >= MIN_TEXT_SCAN && !TABLES.includes(t) && containsText(data, t));
  const leak = found !== null ? `the address ${found}` : hostname.length >= MIN_HOSTNAME_SCAN && containsText(data, hostname) ? `the hostname ${hostname}`
    : text !== undefined ? `'${printable(text)}'` : null;
  if (leak) throw new CaptureError(out, `anonymization check failed: ${leak} is still in the file (nothing was written; add --anonymize-comm if a process name holds it)`, 1);
}

/** Removes a capture and its SQLite side files; a symlink at the path is removed itself, never its target. */
function removeCapture(path: string): void {
  for (const p of [path, ...sideFiles(path)]) {
    try {
      fs.unlinkSync(p);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new CaptureError(p, `cannot remove the unfinished export: ${describeErrno(err)}`, 1);
    }
  }
}
