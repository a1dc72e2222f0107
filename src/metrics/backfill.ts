// A capture as OpenMetrics samples for backfilling: per series, its cumulative bytes at the end of each step,
// from a 0 at the start of the step it first moved bytes in to the step its last flow ended in. Pure: the
// steps' times and the per-step sums come in, text goes out, a series at a time.
import { secondsText } from './exposition';

/** Where each step of the export lies on the wall clock, µs; NaN for a step with no frames (a gap). */
export interface StepTimes {
  start: Float64Array;
  end: Float64Array;
}

/** Builds StepTimes from frames in order: step = (seq - fromSeq) / framesPerStep. */
export class StepTimesBuilder {
  private start: number[] = [];
  private end: number[] = [];

  constructor(private readonly fromSeq: number, private readonly framesPerStep: number) {}

  add(seq: number, wallUs: number, intervalUs: number): void {
    const step = Math.floor((seq - this.fromSeq) / this.framesPerStep);
    while (this.start.length <= step) {
      this.start.push(NaN);
      this.end.push(NaN);
    }
    if (Number.isNaN(this.start[step])) this.start[step] = wallUs - intervalUs;
    this.end[step] = wallUs;
  }

  result(): StepTimes {
    return { start: Float64Array.from(this.start), end: Float64Array.from(this.end) };
  }
}

/**
 * The sample lines of one family: `rows` are [series, step, bytes] ordered by series then step, one per step
 * a series had samples in. Each series' lines are together, their times ascending; a time that is not after
 * the series' previous one (the wall clock stepped back) is left out, the next line carrying the sum.
 */
export function* familySamples(sampleName: string, labelsOf: (series: number) => string, steps: StepTimes,
  rows: Iterable<readonly [number, number, number]>): Generator<string> {
  let series = -1;
  let labels = '';
  let total = 0;
  let lastStep = -1;
  let lastMs = -Infinity;
  let out: string[] = [];
  const emit = (us: number, value: number): void => {
    if (Number.isNaN(us)) return;
    const ms = Math.round(us / 1000);
    if (ms <= lastMs) return;
    lastMs = ms;
    out.push(`${sampleName}${labels} ${value} ${secondsText(us)}\n`);
  };
  for (const [s, step, bytes] of rows) {
    if (s !== series) {
      if (out.length) yield out.join('');
      out = [];
      series = s;
      labels = labelsOf(s);
      total = 0;
      lastMs = -Infinity;
      emit(steps.start[step], 0);
    } else {
      // Steps without samples of this series between two with: it was open and idle, its sum unchanged.
      for (let k = lastStep + 1; k < step; k++) emit(steps.end[k], total);
    }
    total += bytes;
    lastStep = step;
    emit(steps.end[step], total);
    if (out.length >= 4096) {
      yield out.join('');
      out = [];
    }
  }
  if (out.length) yield out.join('');
}

/** A capture's id in a label: its start (UTC) and the recording boot's id, the same for the same file. */
export function captureId(startWallUs: number, bootId: string): string {
  const t = new Date(Math.floor(startWallUs / 1000)).toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  const boot = bootId.replace(/[^0-9a-f]/gi, '').slice(0, 8).toLowerCase();
  return boot ? `${t}-${boot}` : t;
}
