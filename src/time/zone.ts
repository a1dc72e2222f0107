// Times of day as the operator saw them: in the recorder's time zone, or UTC on request.

/** Where to show times: the recorder's IANA zone when this machine knows it, else its fixed offset. */
export interface DisplayZone {
  timeZone: string | null;
  offsetMinutes: number;
}

export const UTC: DisplayZone = { timeZone: 'UTC', offsetMinutes: 0 };

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat | null {
  let f = formatters.get(timeZone);
  if (!f) {
    try {
      f = new Intl.DateTimeFormat('en-US', {
        timeZone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit',
        hour: '2-digit', minute: '2-digit', second: '2-digit',
      });
    } catch {
      return null;
    }
    formatters.set(timeZone, f);
  }
  return f;
}

export interface CivilTime {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

/** The zone's offset from UTC at this instant, in minutes. */
export function offsetAt(zone: DisplayZone, ms: number): number {
  const f = zone.timeZone ? formatter(zone.timeZone) : null;
  if (!f) return zone.offsetMinutes;
  const c = partsOf(f, ms);
  const asUtc = Date.UTC(c.year, c.month - 1, c.day, c.hour, c.minute, c.second);
  return Math.round((asUtc - Math.floor(ms / 1000) * 1000) / 60000);
}

export function civil(zone: DisplayZone, ms: number): CivilTime {
  const d = new Date(Math.floor(ms / 1000) * 1000 + offsetAt(zone, ms) * 60000);
  return {
    year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate(),
    hour: d.getUTCHours(), minute: d.getUTCMinutes(), second: d.getUTCSeconds(),
  };
}

/** The instant at which the zone's clock shows this civil time (the earlier one when a clock change repeats it). */
export function instantOf(zone: DisplayZone, c: CivilTime): number {
  const naive = Date.UTC(c.year, c.month - 1, c.day, c.hour, c.minute, c.second);
  let guess = naive - offsetAt(zone, naive) * 60000;
  guess = naive - offsetAt(zone, guess) * 60000;
  return guess;
}

function partsOf(f: Intl.DateTimeFormat, ms: number): CivilTime {
  const p: Record<string, number> = {};
  for (const part of f.formatToParts(new Date(ms))) if (part.type !== 'literal') p[part.type] = Number(part.value);
  return { year: p.year, month: p.month, day: p.day, hour: p.hour % 24, minute: p.minute, second: p.second };
}

const two = (n: number): string => String(n).padStart(2, '0');

/** HH:MM:SS, truncated to the second as strftime would print it. */
export function clockOf(zone: DisplayZone, wallUs: number): string {
  const c = civil(zone, wallUs / 1000);
  return `${two(c.hour)}:${two(c.minute)}:${two(c.second)}`;
}

/** YYYY-MM-DD HH:MM:SS in the zone. */
export function dateTimeOf(zone: DisplayZone, wallUs: number): string {
  const c = civil(zone, wallUs / 1000);
  return `${c.year}-${two(c.month)}-${two(c.day)} ${two(c.hour)}:${two(c.minute)}:${two(c.second)}`;
}

/** How to show times within [startUs, endUs]: the time of day alone when the range is within one day, else with the date. */
export function rangeClock(zone: DisplayZone, startUs: number, endUs: number): (wallUs: number) => string {
  const a = civil(zone, startUs / 1000);
  const b = civil(zone, endUs / 1000);
  const sameDay = a.year === b.year && a.month === b.month && a.day === b.day;
  return (us) => (sameDay ? clockOf(zone, us) : dateTimeOf(zone, us));
}

/** "+01:00" style offset. */
export function formatOffset(minutes: number): string {
  const sign = minutes < 0 ? '-' : '+';
  const m = Math.abs(minutes);
  return `${sign}${two(Math.floor(m / 60))}:${two(m % 60)}`;
}

/** How a zone is named to people: "Europe/Berlin (+01:00)" or "UTC+01:00". */
export function zoneLabel(zone: DisplayZone, atMs: number): string {
  const off = formatOffset(offsetAt(zone, atMs));
  if (zone.timeZone === 'UTC') return 'UTC';
  return zone.timeZone && formatter(zone.timeZone) ? `${zone.timeZone} (${off})` : `UTC${off}`;
}

/** The zone a capture's times are shown in: the recorder's, or UTC when asked. */
export function displayZone(meta: { timeZone: string | null; tzOffsetMinutes: number }, utc: boolean): DisplayZone {
  return utc ? UTC : { timeZone: meta.timeZone, offsetMinutes: meta.tzOffsetMinutes };
}
