// Checks the bytes of an anonymized export for what must not be in it: the original addresses in text form and
// the hostname. Pure: bytes and needles in, the first needle found out.
import { formatAddress, isMapped, parseAddress } from '../capture/address';
import { classify } from './address';

/** Characters an address's text form is made of: every occurrence of one lies within a run of them. */
const ADDRESS_CHAR = new Uint8Array(256);
for (const ch of '0123456789abcdefABCDEF:.') ADDRESS_CHAR[ch.charCodeAt(0)] = 1;

/** The text forms of the non-loopback addresses among `addresses`, lower case, mapped ones with their IPv4 too. */
export function addressTexts(addresses: Iterable<string>): Set<string> {
  const texts = new Set<string>();
  for (const a of addresses) {
    const b = parseAddress(a);
    if (b && (classify(b) === 'loopback' || classify(b) === 'unspecified')) continue;
    texts.add(a.toLowerCase());
    if (b) texts.add(formatAddress(b));
    if (b && isMapped(b)) texts.add(formatAddress(b.subarray(12)));
  }
  return texts;
}

/**
 * The first of `texts` found anywhere in `data`, or null. One pass over the bytes: only the runs of address
 * characters are looked into, and every substring of a run is looked up, so the cost does not grow with the
 * number of addresses.
 */
export function findAddressText(data: Uint8Array, texts: ReadonlySet<string>): string | null {
  if (texts.size === 0) return null;
  let longest = 0;
  for (const t of texts) longest = Math.max(longest, t.length);
  for (let i = 0; i < data.length;) {
    if (!ADDRESS_CHAR[data[i]]) {
      i++;
      continue;
    }
    let end = i;
    while (end < data.length && ADDRESS_CHAR[data[end]]) end++;
    if (end - i >= 2) {
      const run = Buffer.from(data.buffer, data.byteOffset + i, end - i).toString('latin1').toLowerCase();
      for (let a = 0; a < run.length; a++) {
        for (let b = a + 2; b <= Math.min(run.length, a + longest); b++) {
          const s = run.slice(a, b);
          if (texts.has(s)) return s;
        }
      }
    }
    i = end;
  }
  return null;
}

/** Whether `needle` occurs in `data`, in any letter case when it is text. */
export function containsText(data: Buffer, needle: string): boolean {
  if (needle === '') return false;
  const variants = new Set([needle, needle.toLowerCase(), needle.toUpperCase()]);
  return [...variants].some((v) => data.includes(Buffer.from(v, 'utf8')));
}
