// The classes of addresses anonymization must keep, and the blocks it draws pseudonyms from. Pure functions.
import { isMapped } from '../capture/address';

export type AddressClass = 'loopback' | 'unspecified' | 'private' | 'public';

/** Private as anonymization keeps it: RFC 1918, shared (CGNAT) and link-local space, IPv6 ULA and link-local. */
export function classify(b: Uint8Array): AddressClass {
  if (b.length === 4) {
    if (b[0] === 127) return 'loopback';
    if (b.every((x) => x === 0)) return 'unspecified';
    return v4Block(b) ? 'private' : 'public';
  }
  if (isMapped(b)) return classify(b.subarray(12));
  if (b.subarray(0, 15).every((x) => x === 0)) return b[15] === 1 ? 'loopback' : b[15] === 0 ? 'unspecified' : 'public';
  if ((b[0] & 0xfe) === 0xfc || (b[0] === 0xfe && (b[1] & 0xc0) === 0x80)) return 'private';
  return 'public';
}

export interface Block {
  /** First address, as a 32-bit number, and how many addresses the block holds. */
  base: number;
  size: number;
}

const v4 = (a: number, b: number, c: number, d: number, bits: number): Block => ({ base: ((a << 24) >>> 0) + (b << 16) + (c << 8) + d, size: 2 ** (32 - bits) });

/** The private IPv4 blocks. */
export const PRIVATE_V4: Block[] = [v4(10, 0, 0, 0, 8), v4(172, 16, 0, 0, 12), v4(192, 168, 0, 0, 16), v4(100, 64, 0, 0, 10), v4(169, 254, 0, 0, 16)];

/** The private IPv4 block an address is in, if any. */
export function v4Block(b: Uint8Array): Block | null {
  const n = toNumber(b);
  return PRIVATE_V4.find((blk) => n >= blk.base && n < blk.base + blk.size) ?? null;
}

export function toNumber(b: Uint8Array): number {
  return ((b[0] << 24) >>> 0) + (b[1] << 16) + (b[2] << 8) + b[3];
}

export function fromNumber(n: number): Uint8Array {
  return Uint8Array.of((n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
}
