// Turning a capture's frames into the views a replay prints: filter, re-bin, sum. Plain data in and out.
import { sumFlows, type Family, type FlowBytes, type Frame } from '../capture/types';
import { UsageError } from '../errors';

export interface FlowFilter {
  pid?: number;
  family?: Family;
}

export function matches(f: FlowBytes, filter: FlowFilter): boolean {
  return (filter.pid === undefined || f.pid === filter.pid) && (filter.family === undefined || f.family === filter.family);
}

/** A frame with its flows, the unit a replay groups. */
export interface FrameFlows {
  frame: Frame;
  flows: FlowBytes[];
}

/** Several consecutive frames summed: the interval the view covers and where it ends. */
export interface Bin {
  /** The last frame of the bin: its time and load average are what the classic tool printed then. */
  last: Frame;
  frames: number;
  intervalUs: number;
  flows: FlowBytes[];
}

/**
 * How many recorded frames make one re-binned interval. The new interval must be a whole multiple of the
 * recorded one, since frames cannot be split.
 */
export function rebinFactor(intervalSeconds: number, recordedUs: number): number {
  const factor = Math.round((intervalSeconds * 1e6) / recordedUs);
  if (factor < 1 || Math.abs(factor * recordedUs - intervalSeconds * 1e6) > 1) {
    const rec = recordedUs / 1e6;
    throw new UsageError(`interval: ${intervalSeconds} s is not a multiple of the recorded interval (${rec} s): use ${rec}, ${2 * rec}, ${3 * rec} ...`);
  }
  return factor;
}

/** Collects frames one at a time into bins of `factor` frames: for captures read whole or followed as they grow. */
export class Rebinner {
  private group: FrameFlows[] = [];

  constructor(private readonly factor: number) {}

  /** Adds a frame; returns the bin it completes, if it does. */
  push(f: FrameFlows): Bin | null {
    this.group.push(f);
    return this.group.length === this.factor ? this.take() : null;
  }

  /** The frames collected so far as a shorter bin, or null when there are none. */
  flush(): Bin | null {
    return this.group.length > 0 ? this.take() : null;
  }

  private take(): Bin {
    const group = this.group;
    this.group = [];
    return {
      last: group[group.length - 1].frame,
      frames: group.length,
      intervalUs: group.reduce((sum, g) => sum + g.frame.intervalUs, 0),
      flows: group.length === 1 ? group[0].flows : sumFlows(group.map((g) => g.flows)),
    };
  }
}

/** Groups every `factor` consecutive frames into one bin; a shorter last group is a bin too. */
export function* rebin(frames: Iterable<FrameFlows>, factor: number): Generator<Bin> {
  const bins = new Rebinner(factor);
  for (const f of frames) {
    const bin = bins.push(f);
    if (bin) yield bin;
  }
  const rest = bins.flush();
  if (rest) yield rest;
}
