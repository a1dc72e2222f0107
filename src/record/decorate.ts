// What the live views add to a frame's rows with --names and --wide: each remote host's name, once looked up, and
// each flow's cgroup path (for its unit), both from the recorder's caches.
import { frameRows, type FlowBytes, type FrameFlows } from '../capture/types';
import type { CgroupPaths } from './cgroups';
import type { NameLookups } from './names';

/** The frame's rows with the names and cgroup paths known so far. `walk`: look up cgroup ids not cached yet. */
export function decoratedRows(flows: FrameFlows, names: NameLookups | null, cgroups: CgroupPaths | null, walk: boolean): FlowBytes[] {
  const rows = frameRows(flows);
  if (cgroups) {
    const ids = rows.map((_, i) => flows.flows[i].cgroup ?? 0);
    const paths = walk ? cgroups.paths(ids.filter((id) => id !== 0)) : null;
    let k = 0;
    rows.forEach((r, i) => {
      if (ids[i] === 0) return;
      const path = paths ? paths[k++] : cgroups.known(ids[i]);
      if (typeof path === 'string') r.cgroupPath = path;
    });
  }
  if (names) {
    rows.forEach((r) => {
      const name = names.nameOf(r.raddr);
      if (name !== undefined) r.name = name;
    });
  }
  return rows;
}
