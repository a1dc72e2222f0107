// Cgroup v2 ids to paths. The kernel records the id of a flow's cgroup, which is the inode number of the cgroup's
// directory under the cgroup2 mount: the recorder walks that tree (bounded) into a cache of id -> path, and walks
// again only when an id is not in it, once for all the ids a frame met first. Runs when a frame is written, never
// per event.
import * as fs from 'node:fs';
import * as nodePath from 'node:path';
import { currentMountPoints } from './mounts';

/** The most cgroup directories one walk visits. */
export const MAX_CGROUP_DIRS = 100_000;

/** The directories under `root` (a cgroup2 mount), breadth first, at most maxDirs, by inode number. */
export function walkCgroups(root: string, maxDirs: number): Map<number, string> {
  const out = new Map<number, string>();
  const queue: string[] = ['/'];
  for (let i = 0; i < queue.length && out.size < maxDirs; i++) {
    const rel = queue[i];
    const dir = rel === '/' ? root : root + rel;
    let ino: bigint;
    try {
      ino = fs.statSync(dir, { bigint: true }).ino;
    } catch {
      continue; // removed while walking
    }
    if (ino <= BigInt(Number.MAX_SAFE_INTEGER)) out.set(Number(ino), rel);
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      continue;
    }
    for (const e of entries) if (e.isDirectory()) queue.push(rel === '/' ? `/${e.name}` : `${rel}/${e.name}`);
  }
  return out;
}

export class CgroupPaths {
  private cache = new Map<number, string>();
  /** Walks made so far (the first included). */
  walks = 0;

  constructor(readonly root: string, private readonly maxDirs = MAX_CGROUP_DIRS, private readonly walk = walkCgroups) {}

  /** The path of each id under the cgroup2 mount ('/' for its root), null for an id no longer there. */
  paths(ids: readonly number[]): (string | null)[] {
    if (ids.some((id) => !this.cache.has(id))) {
      this.cache = this.walk(this.root, this.maxDirs);
      this.walks++;
    }
    return ids.map((id) => this.cache.get(id) ?? null);
  }

  /** The path of an id as cached now, without walking: undefined when not known. */
  known(id: number): string | undefined {
    return this.cache.get(id);
  }

  /** Ids known now. */
  get size(): number {
    return this.cache.size;
  }
}

/** Where cgroup v2 is mounted (the unified hierarchy, /sys/fs/cgroup or /sys/fs/cgroup/unified), or null. */
export function cgroup2Root(): string | null {
  const dir = currentMountPoints('cgroup2')[0];
  return dir === undefined ? null : nodePath.resolve(dir);
}
