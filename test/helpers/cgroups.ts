// Cgroups for the tests of each flow's cgroup: made under the cgroup2 mount, removed when the test ends.
import * as fs from 'node:fs';
import * as path from 'node:path';

/** Makes the cgroups under the cgroup2 mount; removes them (deepest first) when the test ends. */
export function makeCgroups(t: { after(fn: () => void): void }, root: string, rels: string[]): void {
  const made: string[] = [];
  t.after(() => {
    for (const dir of made.reverse()) {
      // a process still in it goes back to the root first
      try {
        for (const pid of fs.readFileSync(path.join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean)) {
          fs.writeFileSync(path.join(root, 'cgroup.procs'), pid);
        }
        fs.rmdirSync(dir);
      } catch {
        // already gone
      }
    }
  });
  for (const rel of rels) {
    let dir = root;
    for (const part of rel.split('/').filter(Boolean)) {
      dir = path.join(dir, part);
      if (!fs.existsSync(dir)) {
        fs.mkdirSync(dir);
        made.push(dir);
      }
    }
  }
}
