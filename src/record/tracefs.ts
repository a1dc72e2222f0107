// The kprobe probe's kretprobes live in tracefs (bpf/src/addon.c says why): where tracefs is, and
// what kprobe_profile says of them. A kretprobe's misses are calls it never saw return, so their
// bytes are unknown: the drain reports them as lost events without bytes.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { currentMountPoints, mountPoints } from './mounts';

/** The most instances kprobe_events gives a kretprobe (the kernel's KRETPROBE_MAXACTIVE_MAX). */
export const MAX_RETPROBE_INSTANCES = 4096;

/** The addon's buffer for the path (bpf/src/addon.c: TRACEFS_PATH_LEN). */
const MAX_PATH_LEN = 255;

/** The mount points of tracefs in the text of /proc/self/mounts, in order. */
export function tracefsMounts(mounts: string): string[] {
  return mountPoints(mounts, 'tracefs');
}

/**
 * Where kprobe events can be made: a mounted tracefs, else the usual places (under a mounted
 * debugfs, `tracing` mounts itself when looked at). Undefined when there is none.
 */
export function findTracefs(): string | undefined {
  // without /proc the usual places may still do
  const candidates = [...currentMountPoints('tracefs'), '/sys/kernel/tracing', '/sys/kernel/debug/tracing'];
  return candidates.find((dir) => dir.length <= MAX_PATH_LEN && fs.existsSync(path.join(dir, 'kprobe_events')));
}

/**
 * The misses of the named events summed, from the text of kprobe_profile (a line per event: name,
 * hits, misses; for a kretprobe the misses count the calls that found no free instance, or hit
 * while another kprobe ran). Undefined if one of the events is not listed: a miss count that cannot
 * be read must not pass for zero.
 */
export function kretprobeMisses(profile: string, events: readonly string[]): number | undefined {
  const misses = new Map<string, number>();
  for (const line of profile.split('\n')) {
    const fields = line.trim().split(/\s+/);
    if (fields.length === 3 && /^\d+$/.test(fields[2])) misses.set(fields[0], Number(fields[2]));
  }
  let sum = 0;
  for (const name of events) {
    const n = misses.get(name);
    if (n === undefined) return undefined;
    sum += n;
  }
  return sum;
}
