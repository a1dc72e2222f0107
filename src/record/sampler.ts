// One frame per interval: drain the probe, read the load, stamp both clocks. The sources are passed in,
// so the sampler is tested with fakes and the interval arithmetic with no kernel and no sleeping.
import type { FrameFlows, FrameInput, LoadAvg } from '../capture/types';
import type { Drain } from './counters';

export interface Sources {
  monoUs(): number;
  wallUs(): number;
  loadavg(): LoadAvg;
  drain(): Drain;
}

/** One interval: the frame that closes it and its flows, as the writer appends them. */
export interface Interval {
  frame: FrameInput;
  flows: FrameFlows;
}

export class Sampler {
  private lastMonoUs: number;

  /** `startMonoUs`: when counting began (the probe attached); the first interval is measured from there. */
  constructor(private readonly src: Sources, startMonoUs: number) {
    this.lastMonoUs = startMonoUs;
  }

  /** Ends the current interval now. Time is read before the drain: bytes counted after it go to the next frame. */
  sample(): Interval {
    const mono = this.src.monoUs();
    const wall = this.src.wallUs();
    const drained = this.src.drain();
    const frame: FrameInput = {
      wallUs: wall,
      monoUs: mono,
      intervalUs: Math.max(1, mono - this.lastMonoUs),
      loadavg: this.src.loadavg(),
      lost: drained.lost,
    };
    this.lastMonoUs = mono;
    return { frame, flows: drained.flows };
  }
}

/** When the recording should end, from -d/-c; null means when stopped. */
export interface StopRule {
  count?: number;
  durationUs?: number;
}

/**
 * The monotonic deadline of frame `k` (1-based): multiples of the interval from the start, so timer lateness
 * never accumulates; a duration that is not a multiple ends with a shorter last frame.
 */
export function deadline(startMonoUs: number, intervalUs: number, k: number, stop: StopRule): number {
  const at = startMonoUs + k * intervalUs;
  return stop.durationUs === undefined ? at : Math.min(at, startMonoUs + stop.durationUs);
}

/** Whether frame `k` (1-based, just written) was the last. */
export function isLast(startMonoUs: number, intervalUs: number, k: number, stop: StopRule): boolean {
  if (stop.count !== undefined && k >= stop.count) return true;
  return stop.durationUs !== undefined && deadline(startMonoUs, intervalUs, k, stop) >= startMonoUs + stop.durationUs;
}
