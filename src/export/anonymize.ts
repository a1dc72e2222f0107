// Pseudonyms for an anonymized export: each address always gets the same one within a file, in the same family
// and class (loopback kept as is, private to private, public to public), and none is or contains an address
// of the original. Pure: the caller gives every original address up front.
import type { CaptureHeader } from '../capture/meta';
import { formatAddress, isMapped, parseAddress } from '../capture/address';
import { classify, fromNumber, PRIVATE_V4, toNumber, v4Block, type Block } from './address';

const block = (a: number, b: number, c: number, d: number, bits: number): Block =>
  ({ base: toNumber(Uint8Array.of(a, b, c, d)), size: 2 ** (32 - bits) });

/** Public IPv4 pseudonyms: the documentation networks, then benchmarking and reserved space, so never a real host. */
const PUBLIC_V4: Block[] = [block(192, 0, 2, 0, 24), block(198, 51, 100, 0, 24), block(203, 0, 113, 0, 24), block(198, 18, 0, 0, 15), block(240, 0, 0, 0, 4)];

/** IPv6 pseudonyms: a prefix and a counter in the last 32 bits. */
const ULA_V6 = Uint8Array.of(0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
const LINK_LOCAL_V6 = Uint8Array.of(0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
const DOCUMENTATION_V6 = Uint8Array.of(0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);

/** Where each pool stands: the next block and offset to try. */
interface Cursor {
  blockIndex: number;
  offset: number;
}

export class Pseudonyms {
  /** The original addresses' texts (and the IPv4 inside a mapped one): no pseudonym may contain any of them. */
  private readonly forbidden = new Set<string>();
  private readonly used = new Set<string>();
  private readonly v4 = new Map<string, string>();
  private readonly other = new Map<string, string>();
  private readonly cursors = new Map<string, Cursor>();
  private readonly comms = new Map<string, string>();
  private readonly originalComms: Set<string>;

  constructor(addresses: Iterable<string>, comms: Iterable<string> = []) {
    for (const text of addresses) {
      const b = parseAddress(text);
      const cls = b ? classify(b) : 'public';
      if (cls === 'loopback' || cls === 'unspecified') continue;
      this.forbidden.add(text.toLowerCase());
      if (b) this.forbidden.add(formatAddress(b));
      if (b && isMapped(b)) this.forbidden.add(formatAddress(b.subarray(12)));
    }
    this.originalComms = new Set(comms);
  }

  /** The pseudonym of an address as a capture stores it. */
  address(text: string): string {
    const b = parseAddress(text);
    if (!b) return this.memo(this.other, text, () => this.next(text.includes(':') ? 'v6-public' : 'v4-public'));
    const cls = classify(b);
    if (cls === 'loopback' || cls === 'unspecified') return text;
    if (b.length === 4) return this.v4Of(b);
    if (isMapped(b)) return `::ffff:${this.v4Of(b.subarray(12))}`;
    const pool = cls === 'public' ? 'v6-public' : b[0] === 0xfe ? 'v6-link-local' : 'v6-ula';
    return this.memo(this.other, formatAddress(b), () => this.next(pool));
  }

  /** The pseudonym of a process name: proc-1, proc-2 ... in the order first asked for. */
  comm(name: string): string {
    return this.memo(this.comms, name, () => {
      for (let n = this.comms.size + 1; ; n++) {
        const p = `proc-${n}`;
        if (!this.originalComms.has(p) && !this.used.has(p)) {
          this.used.add(p);
          return p;
        }
      }
    });
  }

  /** IPv4 and the IPv4 inside a mapped address share one pseudonym, so dual-stack ends still group together. */
  private v4Of(b: Uint8Array): string {
    const own = v4Block(b);
    return this.memo(this.v4, formatAddress(b), () => this.next(own ? `v4-private-${own.base}` : 'v4-public', own));
  }

  private memo(map: Map<string, string>, key: string, make: () => string): string {
    let v = map.get(key);
    if (v === undefined) {
      v = make();
      map.set(key, v);
    }
    return v;
  }

  private next(pool: string, own: Block | null = null): string {
    const cursor = this.cursors.get(pool) ?? { blockIndex: 0, offset: 1 };
    this.cursors.set(pool, cursor);
    for (;;) {
      const candidate = this.candidate(pool, own, cursor);
      if (candidate === null) throw new Error(`no pseudonym left in ${pool}`);
      if (!this.used.has(candidate) && !this.containsOriginal(candidate)) {
        this.used.add(candidate);
        return candidate;
      }
    }
  }

  /** The pool's next address, advancing the cursor; null when the pool is used up. */
  private candidate(pool: string, own: Block | null, c: Cursor): string | null {
    if (pool.startsWith('v4')) {
      // A private address stays in its own block while it has room, then goes to 10/8.
      const blocks = pool === 'v4-public' ? PUBLIC_V4 : [own!, PRIVATE_V4[0]];
      while (c.blockIndex < blocks.length && c.offset >= blocks[c.blockIndex].size - 1) {
        c.blockIndex++;
        c.offset = 1;
      }
      if (c.blockIndex >= blocks.length) return null;
      return formatAddress(fromNumber(blocks[c.blockIndex].base + c.offset++));
    }
    if (c.offset > 0xffffffff) return null;
    const b = Uint8Array.from(pool === 'v6-public' ? DOCUMENTATION_V6 : pool === 'v6-ula' ? ULA_V6 : LINK_LOCAL_V6);
    b.set(fromNumber(c.offset++), 12);
    return formatAddress(b);
  }

  private containsOriginal(text: string): boolean {
    for (let i = 0; i < text.length; i++) {
      for (let j = i + 2; j <= text.length; j++) if (this.forbidden.has(text.slice(i, j))) return true;
    }
    return false;
  }
}

/** The header of an anonymized export: the hostname, command line and anything derived from them replaced. */
export function anonymizeHeader(h: CaptureHeader, bootId: string): CaptureHeader {
  const hostname = 'anonymized';
  return {
    ...h,
    hostname,
    // A custom kernel's release string can carry the host's name.
    kernelRelease: h.hostname ? h.kernelRelease.split(h.hostname).join(hostname) : h.kernelRelease,
    bootId,
    commandLine: ['(anonymized)'],
    filters: h.filters.cgroup === undefined ? h.filters : { ...h.filters, cgroup: '(anonymized)' },
  };
}

/** Parts of cgroup paths that say nothing about the host: the standard slices of systemd, the container runtimes and Kubernetes. */
const KEPT_CGROUP_PARTS = new Set(['system.slice', 'user.slice', 'machine.slice', 'init.scope', 'kubepods.slice', 'kubepods-burstable.slice',
  'kubepods-besteffort.slice', 'kubepods', 'burstable', 'besteffort', 'docker']);
const CONTAINER_SCOPE = /^(docker|cri-containerd|crio|libpod)-([0-9a-f]{64})\.scope$/;
const HEX64 = /^[0-9a-f]{64}$/;
const UID = '[0-9a-f]{8}([-_])[0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{12}';
const POD_SLICE = new RegExp(`^(kubepods(?:-(?:burstable|besteffort))?-pod)(${UID})\\.slice$`);
const POD_DIR = new RegExp(`^pod(${UID})$`);
const UNIT_SUFFIX = /\.(service|scope|slice|socket|mount)$/;

/**
 * Pseudonyms for cgroup paths, part by part, each part always the same one: the standard slices stay, container
 * ids and pod UIDs become other ids of the same shape, any other part `unit-N.service`, `slice-N.slice` or `cgroup-N`
 * (its systemd suffix kept). So `report --by unit|container|pod` still groups an anonymized capture as the original,
 * and no original part is left. Pure: the caller gives every original path up front.
 */
export class CgroupPseudonyms {
  private readonly originals = new Set<string>();
  private readonly parts = new Map<string, string>();
  private readonly ids = new Map<string, string>();
  private next = 1;

  constructor(paths: Iterable<string>) {
    for (const p of paths) for (const part of p.split('/')) if (part) this.originals.add(part);
  }

  /** The parts replaced so far: none of them may be left in the file. */
  replaced(): string[] {
    return [...this.parts.keys(), ...this.ids.keys()];
  }

  path(path: string): string {
    return `/${path.split('/').filter((p) => p !== '').map((p) => this.part(p)).join('/')}`;
  }

  private part(part: string): string {
    if (KEPT_CGROUP_PARTS.has(part)) return part;
    const scope = CONTAINER_SCOPE.exec(part);
    if (scope) return `${scope[1]}-${this.hex(scope[2])}.scope`;
    if (HEX64.test(part)) return this.hex(part);
    const slice = POD_SLICE.exec(part);
    if (slice) return `${slice[1]}${this.uid(slice[2], slice[3])}.slice`;
    const dir = POD_DIR.exec(part);
    if (dir) return `pod${this.uid(dir[1], dir[2])}`;
    let p = this.parts.get(part);
    if (p === undefined) {
      const suffix = UNIT_SUFFIX.exec(part)?.[1];
      const kind = suffix === undefined ? 'cgroup' : suffix === 'slice' ? 'slice' : 'unit';
      do p = `${kind}-${this.next++}${suffix === undefined ? '' : `.${suffix}`}`;
      while (this.originals.has(p));
      this.parts.set(part, p);
    }
    return p;
  }

  private hex(id: string): string {
    return this.memoId(id, (n) => n.toString(16).padStart(64, '0'));
  }

  private uid(uid: string, sep: string): string {
    return this.memoId(uid, (n) => ['00000000', '0000', '4000', '8000', n.toString(16).padStart(12, '0')].join(sep));
  }

  private memoId(id: string, make: (n: number) => string): string {
    let v = this.ids.get(id);
    if (v === undefined) {
      do v = make(this.next++);
      while (this.originals.has(v) || [...this.originals].some((o) => o.includes(v!)));
      this.ids.set(id, v);
    }
    return v;
  }
}

/** Pseudonyms for the names of remote hosts: host-1.invalid, host-2.invalid ... in the order first asked for. */
export class NamePseudonyms {
  private readonly names = new Map<string, string>();
  private readonly originals: Set<string>;
  private next = 1;

  constructor(names: Iterable<string>) {
    this.originals = new Set(names);
  }

  name(original: string): string {
    let v = this.names.get(original);
    if (v === undefined) {
      do v = `host-${this.next++}.invalid`;
      while (this.originals.has(v));
      this.names.set(original, v);
    }
    return v;
  }
}
