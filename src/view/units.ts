// Numbers for people. Human units are rounded, so wherever they appear the exact count is shown or one
// step away (the JSON and CSV formats carry raw bytes).

const BYTE_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

/** 1536 → "1.5 KiB"; binary multiples, three significant figures at most. */
export function humanBytes(bytes: number): string {
  let v = bytes;
  let i = 0;
  while (Math.abs(v) >= 1024 && i < BYTE_UNITS.length - 1) {
    v /= 1024;
    i++;
  }
  if (i === 0) return `${v} B`;
  const digits = Math.abs(v) >= 100 ? 0 : Math.abs(v) >= 10 ? 1 : 2;
  return `${v.toFixed(digits)} ${BYTE_UNITS[i]}`;
}

export function humanRate(bytesPerSecond: number): string {
  return `${humanBytes(bytesPerSecond)}/s`;
}

/** 12345678 → "12,345,678": exact counts made readable. */
export function grouped(n: number): string {
  return Math.trunc(n).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** 3725 s → "1h02m05s"; 42.5 s → "42.5s". */
export function humanDuration(us: number): string {
  const s = us / 1e6;
  if (s < 60) return `${Math.round(s * 1000) / 1000}s`;
  const total = Math.round(s);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const sec = total % 60;
  const two = (n: number): string => String(n).padStart(2, '0');
  return h > 0 ? `${h}h${two(m)}m${two(sec)}s` : `${m}m${two(sec)}s`;
}

/**
 * Send and receive events no flow got, and their bytes. The kprobe probe also counts the returns it
 * missed, whose bytes it cannot know: its byte figures are then a floor, and say so.
 */
export function lostText(lost: { events: number; rxBytes: number; txBytes: number }, probe: string): string {
  const floor = probe === 'kprobe' ? 'at least ' : '';
  return `${grouped(lost.events)} events: ${floor}${grouped(lost.rxBytes)} bytes received, ${floor}${grouped(lost.txBytes)} bytes sent, in no flow`;
}
