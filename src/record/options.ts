// Options shared by the commands that attach the probe (record and the live tool), declared as data.
import { parseChoice, parsePid } from '../cli/parse';
import type { OptionSpec } from '../cli/spec';
import { TcptopError } from '../errors';
import { openProbe, PROBE_CHAIN, ProbeError, type Probe, type ProbeKind } from './probe';

export interface ProbeCliOptions {
  pid?: number;
  ipv4?: boolean;
  ipv6?: boolean;
  cgroup?: string;
  probe: ProbeKind | 'auto';
}

const PROBE_NAMES = ['auto', ...PROBE_CHAIN] as const;

export const PROBE_OPTIONS: OptionSpec[] = [
  { flags: '-p, --pid <pid>', description: 'trace this process only (filtered in the kernel)', parse: parsePid('-p/--pid') },
  { flags: '-4, --ipv4', description: 'trace IPv4 sockets only', conflicts: ['ipv6'] },
  { flags: '-6, --ipv6', description: 'trace IPv6 sockets only (including IPv4-mapped)', conflicts: ['ipv4'] },
  { flags: '--cgroup <path>', description: 'trace processes in this cgroup v2 directory only' },
  {
    flags: '--probe <probe>',
    description: 'auto: socket tracepoints (linux 6.3+), else fexit, else kprobes; or force one',
    parse: parseChoice('--probe', PROBE_NAMES),
    defaultValue: 'auto',
  },
];

export function filtersOf(o: ProbeCliOptions): { pid?: number; family?: 4 | 6; cgroup?: string } {
  return { pid: o.pid, family: o.ipv4 ? 4 : o.ipv6 ? 6 : undefined, cgroup: o.cgroup };
}

/** Attaches the probe; its errors are already one line with a remedy, and exit with status 1. */
export function attach(o: ProbeCliOptions): Probe {
  const f = filtersOf(o);
  try {
    return openProbe({ probe: o.probe, pid: f.pid, family: f.family, cgroupPath: f.cgroup });
  } catch (err) {
    if (err instanceof ProbeError) throw new TcptopError(err.message, 1);
    throw err;
  }
}
