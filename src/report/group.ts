// Which flows add up together in a report: the group keys of --by, and each flow's group. Plain data in and out.
import { cgroupFacts, containerText, type CgroupFacts } from '../capture/cgroup';
import type { Flow } from '../capture/types';

export const GROUP_KEYS = ['host', 'laddr', 'raddr', 'port', 'pid', 'comm', 'flow', 'cgroup', 'unit', 'container', 'pod', 'name', 'rechost'] as const;
export type GroupKey = (typeof GROUP_KEYS)[number];

export type KeyValue = string | number;

/** One column of a group's identity: its name in CSV and JSON, and how a flow gives its value. */
export interface KeyColumn {
  name: string;
  numeric: boolean;
  of(f: Flow): KeyValue;
}

/** The remote address without the port; an IPv4-mapped address is the IPv4 host it stands for. */
export function hostOf(addr: string): string {
  const m = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(addr);
  return m ? m[1] : addr;
}

/** The service side of a connection: a client's ephemeral port is the higher of the two. */
export function servicePort(f: Flow): number {
  return Math.min(f.lport, f.rport);
}

/** A key's value where the capture does not say: no cgroup recorded (a version 1 capture), a path that shows no unit, ... */
export const UNKNOWN = '(none)';

const factsCache = new Map<string, CgroupFacts>();
/** The facts of a flow's cgroup path, worked out once per path. */
function factsOf(f: Flow): CgroupFacts {
  const path = f.cgroupPath;
  if (path === undefined) return {};
  let facts = factsCache.get(path);
  if (!facts) {
    if (factsCache.size >= 4096) factsCache.clear();
    facts = cgroupFacts(path);
    factsCache.set(path, facts);
  }
  return facts;
}

const COLUMNS: Record<string, KeyColumn> = {
  host: { name: 'host', numeric: false, of: (f) => hostOf(f.raddr) },
  laddr: { name: 'laddr', numeric: false, of: (f) => f.laddr },
  raddr: { name: 'raddr', numeric: false, of: (f) => f.raddr },
  port: { name: 'port', numeric: true, of: servicePort },
  pid: { name: 'pid', numeric: true, of: (f) => f.pid },
  comm: { name: 'comm', numeric: false, of: (f) => f.comm },
  lport: { name: 'lport', numeric: true, of: (f) => f.lport },
  rport: { name: 'rport', numeric: true, of: (f) => f.rport },
  cgroup: { name: 'cgroup', numeric: false, of: (f) => f.cgroupPath ?? UNKNOWN },
  unit: { name: 'unit', numeric: false, of: (f) => factsOf(f).unit ?? UNKNOWN },
  container: { name: 'container', numeric: false, of: (f) => containerText(factsOf(f)) ?? UNKNOWN },
  pod: { name: 'pod', numeric: false, of: (f) => factsOf(f).pod ?? UNKNOWN },
  qos: { name: 'qos', numeric: false, of: (f) => factsOf(f).qos ?? UNKNOWN },
  name: { name: 'name', numeric: false, of: (f) => f.name ?? hostOf(f.raddr) },
  // The recording host: set on flows read for a report (src/report/timeline.ts).
  rechost: { name: 'rechost', numeric: false, of: (f) => (f as Flow & { rechost?: string }).rechost ?? '' },
};

const KEY_COLUMNS: Record<GroupKey, string[]> = {
  host: ['host'],
  laddr: ['laddr'],
  raddr: ['raddr'],
  port: ['port'],
  pid: ['pid'],
  comm: ['comm'],
  flow: ['pid', 'comm', 'laddr', 'lport', 'raddr', 'rport'],
  cgroup: ['cgroup'],
  unit: ['unit'],
  container: ['container'],
  pod: ['pod', 'qos'],
  name: ['name'],
  rechost: ['rechost'],
};

/** The columns that identify a group for these keys, in the order given, each once. */
export function keyColumns(by: readonly GroupKey[]): KeyColumn[] {
  const names = [...new Set(by.flatMap((k) => KEY_COLUMNS[k]))];
  return names.map((n) => COLUMNS[n]);
}

/**
 * Numbers the groups as flows are met, and remembers each flow's group, so a sample costs one array read.
 * Also counts the distinct flows and remote hosts met, for the report's summary.
 */
export class FlowGroups {
  readonly columns: KeyColumn[];
  /** Each group's key values, by group number. */
  readonly keys: KeyValue[][] = [];
  private readonly numbers = new Map<string, number>();
  private readonly byFlow: number[] = [];
  private readonly hostSet = new Set<string>();
  private flowCount = 0;

  constructor(by: readonly GroupKey[]) {
    this.columns = keyColumns(by);
  }

  /** The group of flow `id`; `lookup` gives the flow the first time it is met. */
  groupOf(id: number, lookup: (id: number) => Flow): number {
    const known = this.byFlow[id];
    if (known !== undefined) return known;
    const flow = lookup(id);
    const key = this.columns.map((c) => c.of(flow));
    const text = key.join('\0');
    let g = this.numbers.get(text);
    if (g === undefined) {
      g = this.keys.length;
      this.numbers.set(text, g);
      this.keys.push(key);
    }
    this.byFlow[id] = g;
    this.flowCount++;
    this.hostSet.add(hostOf(flow.raddr));
    return g;
  }

  get size(): number {
    return this.keys.length;
  }

  get flows(): number {
    return this.flowCount;
  }

  get hosts(): number {
    return this.hostSet.size;
  }
}

/** Orders key tuples the same way everywhere: numbers by value, text by code unit, never by locale. */
export function compareKeys(a: readonly KeyValue[], b: readonly KeyValue[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const x = a[i];
    const y = b[i];
    if (x === y) continue;
    if (typeof x === 'number' && typeof y === 'number') return x - y;
    return String(x) < String(y) ? -1 : 1;
  }
  return a.length - b.length;
}
