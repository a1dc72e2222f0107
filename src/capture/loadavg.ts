import type { LoadAvg } from './types';

/** Parses the text of /proc/loadavg: "0.20 0.05 0.02 2/80 1981". Returns null when it is not of that shape. */
export function parseLoadavg(text: string): LoadAvg | null {
  const raw = text.replace(/\n+$/, '');
  const m = /^(\d+\.\d+) (\d+\.\d+) (\d+\.\d+) (\d+)\/(\d+) (\d+)$/.exec(raw);
  if (!m) return null;
  return {
    load1: Number(m[1]),
    load5: Number(m[2]),
    load15: Number(m[3]),
    running: Number(m[4]),
    tasks: Number(m[5]),
    lastPid: Number(m[6]),
    raw,
  };
}

/** The text the kernel would print for these fields (two decimals, as /proc/loadavg does). */
export function formatLoadavg(l: Omit<LoadAvg, 'raw'>): string {
  return `${l.load1.toFixed(2)} ${l.load5.toFixed(2)} ${l.load15.toFixed(2)} ${l.running}/${l.tasks} ${l.lastPid}`;
}
