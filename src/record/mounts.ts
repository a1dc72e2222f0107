// /proc/self/mounts, read one way by everything that looks for a filesystem (tracefs, cgroup2).
import * as fs from 'node:fs';

export interface Mount {
  source: string;
  dir: string;
  type: string;
}

/** The kernel writes space, tab, newline and backslash in a field as octal escapes (`\040`, `\011`, `\012`, `\134`). */
function unescape(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

/** The mounts in the text of /proc/self/mounts, in order, their fields decoded. */
export function parseMounts(text: string): Mount[] {
  const out: Mount[] = [];
  for (const line of text.split('\n')) {
    const [source, dir, type] = line.split(' ');
    if (dir === undefined || type === undefined) continue;
    out.push({ source: unescape(source), dir: unescape(dir), type: unescape(type) });
  }
  return out;
}

/** Where filesystems of this type are mounted, in order, per the text of /proc/self/mounts. */
export function mountPoints(text: string, type: string): string[] {
  return parseMounts(text).filter((m) => m.type === type).map((m) => m.dir);
}

/** Where filesystems of this type are mounted now; none when /proc cannot be read. */
export function currentMountPoints(type: string): string[] {
  let text: string;
  try {
    text = fs.readFileSync('/proc/self/mounts', 'utf8');
  } catch {
    return [];
  }
  return mountPoints(text, type);
}
