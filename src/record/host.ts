// What the recorder reads from the machine besides the probe: who and where it is, the load, the clocks.
import * as fs from 'node:fs';
import * as os from 'node:os';
import { parseLoadavg } from '../capture/loadavg';
import type { LoadAvg } from '../capture/types';

export interface HostInfo {
  hostname: string;
  kernelRelease: string;
  bootId: string;
  timeZone: string | null;
  tzOffsetMinutes: number;
}

export function hostInfo(): HostInfo {
  let bootId = '';
  try {
    bootId = fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    // not Linux: monotonic times then cannot be tied to a boot, which only matters for comparing captures
  }
  let timeZone: string | null = null;
  try {
    timeZone = Intl.DateTimeFormat().resolvedOptions().timeZone ?? null;
  } catch {
    timeZone = null;
  }
  return { hostname: os.hostname(), kernelRelease: os.release(), bootId, timeZone, tzOffsetMinutes: -new Date().getTimezoneOffset() };
}

const LOADAVG = '/proc/loadavg';

/** /proc/loadavg now; its raw text is what the classic header prints. */
export function readLoadavg(): LoadAvg {
  const text = fs.readFileSync(LOADAVG, 'utf8');
  const l = parseLoadavg(text);
  if (!l) throw new Error(`${LOADAVG} has an unexpected shape: ${JSON.stringify(text.slice(0, 80))}`);
  return l;
}

/** CLOCK_MONOTONIC in microseconds: the clock the kernel's BPF timestamps use, and one that never steps. */
export function monoUs(): number {
  return Number(process.hrtime.bigint() / 1000n);
}

export function wallUs(): number {
  return Date.now() * 1000;
}
