// The kernel probe: the only module that loads the native addon (bpf/index.js, imported as #bpf).
// Checks options, tries the probe chain, and turns the addon's errors into one-line messages.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { FlowCounters, type Drain } from './counters';
import { currentMountPoints } from './mounts';
import { layoutDifferences } from './snapshot';
import { eventPathsOf, type EventPaths } from './stats';
import { findTracefs, kretprobeMisses, MAX_RETPROBE_INSTANCES } from './tracefs';

export type { Drain, EventPaths };

export type ProbeKind = 'tracepoint' | 'fentry' | 'kprobe';

export interface ProbeOptions {
  probe: ProbeKind | 'auto';
  /** Count only this process (tgid). */
  pid?: number;
  /** Count only sockets of this family. */
  family?: 4 | 6;
  /** Count only processes in this cgroup v2 directory or below it. */
  cgroupPath?: string;
  /**
   * Instances of each kretprobe (kprobe probe only): how many calls of one function may be in
   * flight at once and still be seen returning. Default and most: 4096. Fewer only to test misses.
   */
  retprobeInstances?: number;
  /** False: flows' cgroup ids are not noted (they read 0, unknown). Only the bench's reference turns it off. */
  recordCgroup?: boolean;
}

export interface Probe {
  readonly kind: ProbeKind;
  drain(): Drain;
  /** Which way the programs counted each event since attach (cumulative). */
  paths(): EventPaths;
  close(): void;
}

/** Why a probe could not be opened; message is one line: `operation: cause (remedy)`. */
export class ProbeError extends Error {
  code: string;
  errno?: number;
  op: string;
  /** libbpf's first warning, where there was one (verifier and loader details). */
  detail?: string;
  /** The message without its remedy: `operation: cause`. */
  readonly reason: string;

  constructor(op: string, cause: string, remedy: string | undefined, code: string, errno?: number) {
    const oneLine = (s: string) => s.replace(/\s*\n\s*/g, ' ');
    super(oneLine(`${op}: ${cause}${remedy ? ` (${remedy})` : ''}`));
    this.name = 'ProbeError';
    this.reason = oneLine(`${op}: ${cause}`);
    this.op = op;
    this.code = code;
    if (errno !== undefined) this.errno = errno;
  }
}

/** The chain `auto` tries, in order. */
export const PROBE_CHAIN: readonly ProbeKind[] = ['tracepoint', 'fentry', 'kprobe'];

const KERNEL_BTF = '/sys/kernel/btf/vmlinux';
const CGROUP2_SUPER_MAGIC = 0x63677270;
const PACKAGES = 'install clang, libbpf-dev and bpftool';
/** How to build the addon from source: tcptop's install step does, in a checkout or an installed package. */
const BUILD_HINT = `${PACKAGES}, then run npm run install in a checkout of tcptop, or npm rebuild tcptop (-g if global)`;
const PRIVILEGE_HINT = 'run as root, or grant CAP_BPF and CAP_PERFMON';

type Handle = object;

/** What the addon's open() takes. Every field is required; the strings are null for none. */
export interface AddonOpenOptions {
  kind: ProbeKind;
  /** Count only this process (tgid); 0 for all. */
  pid: number;
  /** Count only sockets of this family; 0 for both. */
  family: 0 | 4 | 6;
  cgroupPath: string | null;
  /** Slots of the kernel's flow table. */
  maxSlots: number;
  /** Where kprobe_events is, for the kprobe probe's kretprobes. */
  tracefs: string | null;
  /** Instances of each kretprobe (the kernel's maxactive). */
  retprobeInstances: number;
  /** Note each flow's cgroup v2 id when its slot is made. */
  recordCgroup: boolean;
}

interface Addon {
  /** Opens and loads the programs of one probe kind, attaching nothing. */
  open(options: AddonOpenOptions): Handle;
  attach(handle: Handle): ProbeKind;
  /** The tracefs events (group tcptop) made for the kretprobes; none for the other kinds. */
  events(handle: Handle): string[];
  /**
   * Copies the used slots out (a snapshot: bpf/tcptop.h) and frees the closed ones, whose counts are final:
   * each closed slot is in one drain only. Fills `reuse` when it is large enough, else returns a new, larger buffer.
   */
  drain(handle: Handle, reuse?: Buffer): Buffer;
  /** Events counted since load by direction and way: rx home, cached, lookup, lost, then the same for tx. */
  paths(handle: Handle): number[];
  close(handle: Handle): void;
  /** Where the fields of the snapshot lie, as the C compiler laid them out. */
  layout: unknown;
  defaultSlots: number;
}
/** What the addon throws: message `op: strerror`, plus these. */
interface AddonError extends Error {
  code: string;
  errno: number;
  op: string;
  detail?: string;
}

let addon: Addon | undefined;

function loadAddon(): Addon {
  if (addon) return addon;
  let loaded: Addon;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    loaded = require('#bpf') as Addon;
  } catch (err) {
    throw addonLoadError(err as NodeJS.ErrnoException);
  }
  const moved = layoutDifferences(loaded.layout);
  if (moved.length > 0) {
    const err = new ProbeError('load bpf addon', 'built from other sources than this tcptop', 'run npm run install', 'EINVAL');
    err.detail = `snapshot layout: ${moved.join(', ')}`;
    throw err;
  }
  addon = loaded;
  return loaded;
}

/** The error for an addon that would not load: not built, or built but its libraries are missing. */
export function addonLoadError(err: NodeJS.ErrnoException): ProbeError {
  if (err.code === 'MODULE_NOT_FOUND') return new ProbeError('load bpf addon', 'not built', BUILD_HINT, 'ENOENT');
  const first = String(err.message).split('\n')[0];
  return new ProbeError('load bpf addon', lowerFirst(first), `install libbpf1 and libelf1, or ${BUILD_HINT}`, err.code ?? 'EINVAL');
}

function lowerFirst(s: string): string {
  return s.charAt(0).toLowerCase() + s.slice(1);
}

/** Whether this process may load and attach tracing programs (CAP_SYS_ADMIN, or CAP_BPF + CAP_PERFMON). */
function privileged(): boolean {
  try {
    const line = fs.readFileSync('/proc/self/status', 'utf8').match(/^CapEff:\s*([0-9a-f]+)$/m);
    if (!line) return process.getuid?.() === 0;
    const caps = BigInt(`0x${line[1]}`);
    const has = (bit: number) => (caps >> BigInt(bit)) & 1n;
    return has(21) === 1n || (has(38) === 1n && has(39) === 1n);
  } catch {
    return process.getuid?.() === 0;
  }
}

/** Where cgroup2 is mounted, for the hint; undefined (the hint goes without a path) when not found. */
function cgroup2Mount(): string | undefined {
  return currentMountPoints('cgroup2')[0];
}

function validate(opts: ProbeOptions): void {
  const bad = (what: string, remedy: string) => new ProbeError('open probe', what, remedy, 'EINVAL');
  if (opts.probe !== 'auto' && !PROBE_CHAIN.includes(opts.probe)) {
    throw bad(`unknown probe ${JSON.stringify(opts.probe)}`, 'use auto, tracepoint, fentry or kprobe');
  }
  if (opts.pid !== undefined && !(Number.isInteger(opts.pid) && opts.pid > 0 && opts.pid < 2 ** 31)) {
    throw bad(`invalid pid ${String(opts.pid)}`, 'give a process id above 0');
  }
  if (opts.family !== undefined && opts.family !== 4 && opts.family !== 6) {
    throw bad(`invalid family ${String(opts.family)}`, 'use 4 or 6');
  }
  const instances = opts.retprobeInstances;
  if (instances !== undefined && !(Number.isInteger(instances) && instances >= 1 && instances <= MAX_RETPROBE_INSTANCES)) {
    throw bad(`invalid kretprobe instances ${String(instances)}`, `give 1 to ${MAX_RETPROBE_INSTANCES}`);
  }
  if (opts.cgroupPath !== undefined) {
    const path = opts.cgroupPath;
    const mount = cgroup2Mount();
    const remedy = `give a directory under the cgroup2 mount${mount ? ` ${mount}` : ''}`;
    let isCgroup2Dir = false;
    try {
      isCgroup2Dir = fs.statSync(path).isDirectory() && fs.statfsSync(path).type === CGROUP2_SUPER_MAGIC;
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      throw new ProbeError(`open cgroup ${path}`, e.code === 'ENOENT' ? 'no such directory' : lowerFirst(e.message), remedy, e.code ?? 'EINVAL', e.errno === undefined ? undefined : -e.errno);
    }
    if (!isCgroup2Dir) throw new ProbeError(`open cgroup ${path}`, 'not a cgroup v2 directory', remedy, 'ENOTDIR');
  }
}

/** Why one probe kind failed, in the words of the operation that failed. */
function explain(err: AddonError, kind: ProbeKind): ProbeError {
  const cause = err.message.startsWith(`${err.op}: `) ? err.message.slice(err.op.length + 2).toLowerCase() : err.message;
  let out: ProbeError;
  if (err.op.startsWith('find tracepoint')) {
    out = new ProbeError(err.op, 'not in this kernel', 'needs linux 6.3 or later; try --probe fentry or kprobe', err.code, err.errno);
  } else if (err.op.startsWith('find kernel function')) {
    out = new ProbeError(err.op, "not in the kernel's btf", 'try --probe tracepoint', err.code, err.errno);
  } else if (err.op === 'read kernel btf') {
    out = new ProbeError(err.op, 'no kernel btf', 'use a kernel built with CONFIG_DEBUG_INFO_BTF=y', err.code, err.errno);
  } else if ((err.code === 'EPERM' || err.code === 'EACCES') && !privileged()) {
    out = new ProbeError(err.op, cause, PRIVILEGE_HINT, err.code, err.errno);
  } else if (err.code === 'EPERM' && err.op.startsWith('load')) {
    out = new ProbeError(err.op, cause, `this kernel refuses ${kind} programs even to root; use --probe auto`, err.code, err.errno);
  } else if (err.code === 'EACCES' && err.op.startsWith('load')) {
    out = new ProbeError(err.op, 'rejected by the verifier', 'TCPTOP_BPF_DEBUG=1 prints its log', err.code, err.errno);
  } else if (err.op === 'find tracefs') {
    out = new ProbeError(err.op, 'not mounted', 'kretprobes are made there; mount -t tracefs nodev /sys/kernel/tracing', err.code, err.errno);
  } else if (err.op.startsWith('create kretprobe event')) {
    out = new ProbeError(err.op, cause, "the kernel's reason is in tracefs's error_log", err.code, err.errno);
  } else if (kind === 'kprobe' && err.op.startsWith('attach') && err.code === 'ENOENT') {
    out = new ProbeError(err.op, cause, 'this kernel has no kprobes, or cannot probe that function; use --probe auto', err.code, err.errno);
  } else if (kind === 'fentry' && err.op.startsWith('attach') && err.code === 'ENOTSUPP') {
    // arm64 attaches fentry programs to kernel functions from Linux 6.4 on (ftrace direct calls)
    out = new ProbeError(err.op, 'not supported by this kernel', 'on arm64 fentry needs linux 6.4 or later; use --probe kprobe or auto', err.code, err.errno);
  } else if (err.code === 'ENOMEM' || err.code === 'E2BIG') {
    out = new ProbeError(err.op, cause, 'the flow table did not fit in kernel memory', err.code, err.errno);
  } else {
    out = new ProbeError(err.op, cause, undefined, err.code ?? 'EINVAL', err.errno);
  }
  if (err.detail) out.detail = err.detail;
  return out;
}

function isAddonError(err: unknown): err is AddonError {
  return err instanceof Error && typeof (err as AddonError).op === 'string' && typeof (err as AddonError).code === 'string';
}

/** The kretprobe events of a kprobe probe, and where their misses are listed. */
interface Retprobes {
  profile: string;
  events: string[];
}

class KernelProbe implements Probe {
  private readonly counters = new FlowCounters();
  private open = true;
  /** The last drain's buffer, filled again by the next. */
  private snapshot: Buffer | undefined;

  constructor(
    private readonly bpf: Addon,
    private readonly handle: Handle,
    readonly kind: ProbeKind,
    private readonly retprobes?: Retprobes,
  ) {}

  drain(): Drain {
    if (!this.open) throw new ProbeError('read flows', 'probe is closed', undefined, 'EBADF');
    this.snapshot = this.bpf.drain(this.handle, this.snapshot);
    return this.counters.apply(this.snapshot, this.retprobes ? missedCalls(this.retprobes) : 0);
  }

  paths(): EventPaths {
    if (!this.open) throw new ProbeError('read path counters', 'probe is closed', undefined, 'EBADF');
    return eventPathsOf(this.bpf.paths(this.handle));
  }

  close(): void {
    if (!this.open) return;
    this.open = false;
    this.bpf.close(this.handle);
  }
}

/** Calls whose return the kretprobes missed so far: their bytes are unknown, so they count as lost events. */
function missedCalls(r: Retprobes): number {
  let text: string;
  try {
    text = fs.readFileSync(r.profile, 'utf8');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new ProbeError('read kretprobe misses', lowerFirst(e.message), undefined, e.code ?? 'EIO', e.errno === undefined ? undefined : -e.errno);
  }
  const missed = kretprobeMisses(text, r.events);
  if (missed === undefined) throw new ProbeError('read kretprobe misses', `events ${r.events.join(', ')} not all in ${r.profile}`, undefined, 'ENOENT');
  return missed;
}

/**
 * The options for the addon's open(), checked: a missing or wrong-typed field is a TypeError naming it, here
 * rather than from C (which refuses them too, and never takes a default for them).
 */
export function checkOpenOptions(o: AddonOpenOptions): AddonOpenOptions {
  const fail = (name: string, what: string, value: unknown): never => {
    throw new TypeError(`open: options.${name} must be ${what}, not ${typeof value === 'string' ? JSON.stringify(value) : String(value)}`);
  };
  if (!PROBE_CHAIN.includes(o.kind)) fail('kind', '"tracepoint", "fentry" or "kprobe"', o.kind);
  for (const name of ['pid', 'maxSlots', 'retprobeInstances'] as const) {
    const v: unknown = o[name];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 0xffffffff) fail(name, 'an integer from 0 to 4294967295', v);
  }
  if (o.maxSlots < 1) fail('maxSlots', 'at least 1', o.maxSlots);
  if (o.family !== 0 && o.family !== 4 && o.family !== 6) fail('family', '0, 4 or 6', o.family);
  for (const name of ['cgroupPath', 'tracefs'] as const) {
    const v: unknown = o[name];
    if (v !== null && typeof v !== 'string') fail(name, 'a string or null', v);
  }
  if (typeof o.recordCgroup !== 'boolean') fail('recordCgroup', 'true or false', o.recordCgroup);
  return o;
}

function tryKind(bpf: Addon, kind: ProbeKind, opts: ProbeOptions): Probe {
  let handle: Handle | undefined;
  try {
    // only the kprobe probe makes events there (its kretprobes)
    const tracefs = kind === 'kprobe' ? findTracefs() : undefined;
    handle = bpf.open(checkOpenOptions({
      kind, pid: opts.pid ?? 0, family: opts.family ?? 0, cgroupPath: opts.cgroupPath ?? null, maxSlots: bpf.defaultSlots,
      tracefs: tracefs ?? null, retprobeInstances: opts.retprobeInstances ?? MAX_RETPROBE_INSTANCES, recordCgroup: opts.recordCgroup ?? true,
    }));
    const attached = bpf.attach(handle);
    const events = bpf.events(handle);
    const retprobes = tracefs && events.length > 0 ? { profile: path.join(tracefs, 'kprobe_profile'), events } : undefined;
    return new KernelProbe(bpf, handle, attached, retprobes);
  } catch (err) {
    if (handle) bpf.close(handle);
    if (isAddonError(err)) throw explain(err, kind);
    throw err;
  }
}

/** Opens and attaches a probe: the one asked for, or for 'auto' the first of the chain that works. */
export function openProbe(opts: ProbeOptions): Probe {
  validate(opts);
  const bpf = loadAddon();
  if (!fs.existsSync(KERNEL_BTF)) {
    throw new ProbeError('load bpf program', `no kernel btf (${KERNEL_BTF} is missing)`, 'use a kernel built with CONFIG_DEBUG_INFO_BTF=y', 'ENOENT');
  }
  if (opts.probe !== 'auto') return tryKind(bpf, opts.probe, opts);

  const failures: string[] = [];
  for (const kind of PROBE_CHAIN) {
    try {
      return tryKind(bpf, kind, opts);
    } catch (err) {
      if (!(err instanceof ProbeError)) throw err;
      // without privileges every kind fails alike: say so rather than list three refusals
      if ((err.code === 'EPERM' || err.code === 'EACCES') && !privileged()) throw err;
      failures.push(`${kind}: ${err.reason}`);
    }
  }
  throw new ProbeError('open probe', 'no probe available', failures.join('; '), 'ENOTSUP');
}
