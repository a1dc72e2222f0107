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
