// `tcptop export FILE --format openmetrics`: a capture as OpenMetrics 1.0 text for
// `promtool tsdb create-blocks-from openmetrics`. The live endpoint's metric names and labels, plus `host`
// (the recording host) and `capture` (which capture), so backfilled series never merge with scraped ones.
// Streams: SQLite sums each family per series and step in order, and lines are written as they come.
import * as fs from 'node:fs';
import type { CaptureReader } from '../capture/reader';
import type { Flow } from '../capture/types';
import { CaptureError, describeErrno, UsageError } from '../errors';
import { captureId, familySamples, StepTimesBuilder } from '../metrics/backfill';
import { familyHeader, labelText, sampleName } from '../metrics/exposition';
import { labelNames, labelValues, normalizeKeys, type LabelKey } from '../metrics/labels';
import { BYTE_FAMILIES } from '../metrics/families';
import type { SeqRange } from '../time/range';

export interface OpenMetricsExport {
  series: number;
  samples: number;
  frames: number;
  firstUs: number;
  lastUs: number;
}

/** Frames per step: --step must be a whole number of the capture's intervals. */
export function framesPerStep(stepUs: number, intervalUs: number): number {
  const n = Math.round(stepUs / intervalUs);
  if (n < 1 || Math.abs(n * intervalUs - stepUs) > 1) {
    const s = (us: number): string => `${us / 1e6}s`;
    throw new UsageError(`--step: ${s(stepUs)} is not a whole number of frames (the capture's interval is ${s(intervalUs)}): use ${s(intervalUs)}, ${s(2 * intervalUs)}, ${s(3 * intervalUs)} ...`);
  }
  return n;
}

/** Writes the range of the capture to `out` (mode 0600, never through a symlink; an existing file only with force). */
export function exportOpenMetrics(reader: CaptureReader, range: SeqRange, keys: readonly LabelKey[], stepUs: number | undefined,
  out: string, force: boolean): OpenMetricsExport {
  const k = stepUs === undefined ? 1 : framesPerStep(stepUs, reader.meta.intervalUs);
  const steps = new StepTimesBuilder(range.fromSeq, k);
  let frames = 0;
  let firstUs = NaN;
  let lastUs = NaN;
  for (const f of reader.frames(range.fromSeq, range.toSeq)) {
    steps.add(f.seq, f.wallUs, f.intervalUs);
    if (frames++ === 0) firstUs = f.wallUs - f.intervalUs;
    lastUs = f.wallUs;
  }
  const times = steps.result();
  const labelKeys = normalizeKeys(keys);
  const names = ['host', 'capture', ...labelNames(labelKeys)];
  const fixed = [reader.meta.hostname, captureId(reader.meta.startWallUs, reader.meta.bootId)];
  // Series are numbered by their label values; their label text is kept, one string per series.
  const numbers = new Map<string, number>();
  const texts: string[] = [];
  const seriesOf = (f: Flow): number => {
    const values = [...fixed, ...labelValues(labelKeys, f)];
    const key = values.join('\0');
    let n = numbers.get(key);
    if (n === undefined) {
      n = texts.length;
      numbers.set(key, n);
      texts.push(labelText(names, values));
    }
    return n;
  };
  const sink = new FileSink(out, force);
  let samples = 0;
  const series = new Set<number>();
  try {
    for (const fam of BYTE_FAMILIES) {
      sink.write(familyHeader(fam.header, true));
      const name = sampleName(fam.header);
      const rows = reader.seriesSteps(range.fromSeq, range.toSeq, k, fam.column, seriesOf);
      const counted = (function* () {
        for (const r of rows) {
          series.add(r[0]);
          yield r;
        }
      })();
      for (const chunk of familySamples(name, (s) => texts[s], times, counted)) {
        samples += countLines(chunk);
        sink.write(chunk);
      }
    }
    sink.write('# EOF\n');
    sink.close();
  } catch (err) {
    sink.abandon();
    throw err;
  }
  return { series: series.size, samples, frames, firstUs, lastUs };
}

function countLines(s: string): number {
  let n = 0;
  for (let i = s.indexOf('\n'); i >= 0; i = s.indexOf('\n', i + 1)) n++;
  return n;
}

/** A new file written in large chunks; removed when the export fails. */
class FileSink {
  private fd: number;
  private buf: string[] = [];
  private size = 0;

  constructor(private readonly path: string, force: boolean) {
    const c = fs.constants;
    try {
      this.fd = fs.openSync(path, c.O_WRONLY | c.O_CREAT | c.O_TRUNC | c.O_NOFOLLOW | (force ? 0 : c.O_EXCL), 0o600);
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      if (e.code === 'EEXIST') throw new UsageError(`-o/--output: ${path} exists (add --force to replace it)`);
      throw new CaptureError(path, `cannot create: ${describeErrno(err)}`, 1);
    }
  }

  write(s: string): void {
    this.buf.push(s);
    this.size += s.length;
    if (this.size >= 1 << 20) this.flush();
  }

  close(): void {
    this.flush();
    fs.closeSync(this.fd);
  }

  abandon(): void {
    try {
      fs.closeSync(this.fd);
    } catch {
      // already closed
    }
    fs.rmSync(this.path, { force: true });
  }

  private flush(): void {
    if (!this.buf.length) return;
    try {
      fs.writeSync(this.fd, this.buf.join(''));
    } catch (err) {
      throw new CaptureError(this.path, `cannot write: ${describeErrno(err)}`, 1);
    }
    this.buf = [];
    this.size = 0;
  }
}
