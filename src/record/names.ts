// Names of remote addresses, looked up in the background while recording: /etc/hosts first, then reverse DNS,
// with a bounded cache, a short timeout and a rate limit. The sampling path only hands addresses over (a set
// lookup each); answers are collected between frames. A lookup that fails or times out leaves the address alone.
import { promises as dns } from 'node:dns';
import * as fs from 'node:fs';
import { isIP } from 'node:net';
import { UsageError } from '../errors';
import type { FrameFlows } from '../capture/types';
import { hostOf } from '../report/group';

export interface NameRow {
  addr: string;
  name: string;
  lookedUpUs: number;
}

/** The names /etc/hosts gives addresses: the first name on the first line of each address. */
export function parseHosts(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const raw of text.split('\n')) {
    const [addr, name] = raw.replace(/#.*/, '').trim().split(/\s+/);
    if (addr && name && isIP(addr) && !out.has(addr)) out.set(addr, name);
  }
  return out;
}

/** `ADDR:PORT` or `[IPv6]:PORT` (or an address alone, port 53) as node:dns takes a server; a UsageError otherwise. */
export function parseResolver(text: string): string {
  const bad = () => new UsageError(`--resolver: '${text}' is not ADDR:PORT (an IP address and a port, e.g. 127.0.0.1:53 or [::1]:53)`);
  let addr = text;
  let port = '53';
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
  if (v6) [addr, port] = [v6[1], v6[2] ?? '53'];
  else if (isIP(text) !== 6) {
    const i = text.lastIndexOf(':');
    if (i >= 0) [addr, port] = [text.slice(0, i), text.slice(i + 1)];
  }
  if (!isIP(addr) || !/^\d{1,5}$/.test(port) || Number(port) < 1 || Number(port) > 65535) throw bad();
  return isIP(addr) === 6 ? `[${addr}]:${port}` : `${addr}:${port}`;
}

export interface NameOptions {
  /** The DNS server as ADDR:PORT; the system's when absent. */
  server?: string;
  /** How long one lookup may take before the address is left as it is. */
  timeoutMs?: number;
  /** Lookups started per second at most. */
  perSecond?: number;
  /** Lookups in flight at most. */
  inFlight?: number;
  /** Addresses remembered (named or not) at most; the oldest are forgotten first. */
  maxCache?: number;
  /** The text of /etc/hosts; read from the file when absent. */
  hosts?: string;
  /** Wall clock in microseconds. */
  wallUs?: () => number;
  /** The reverse lookup; node:dns's Resolver.reverse by default. */
  reverse?: (addr: string) => Promise<string[]>;
}

export class NameLookups {
  private readonly hosts: Map<string, string>;
  /** Addresses asked for (named, failed or pending), oldest first. */
  private readonly seen = new Map<string, true>();
  private readonly queue: string[] = [];
  private readonly ready: NameRow[] = [];
  /** Names found, for the live view; as bounded as the addresses remembered. */
  private readonly named = new Map<string, string>();
  private running = 0;
  private started: number[] = [];
  private timer: NodeJS.Timeout | null = null;
  private closed = false;
  private readonly resolver: dns.Resolver | null;
  private readonly reverse: (addr: string) => Promise<string[]>;
  private readonly timeoutMs: number;
  private readonly perSecond: number;
  private readonly inFlight: number;
  private readonly maxCache: number;
  private readonly wallUs: () => number;
  /** Lookups made, answered with a name, and failed or timed out. */
  readonly stats = { lookups: 0, named: 0, failed: 0 };

  constructor(opts: NameOptions = {}) {
    let hosts = opts.hosts;
    if (hosts === undefined) {
      try {
        hosts = fs.readFileSync('/etc/hosts', 'utf8');
      } catch {
        hosts = '';
      }
    }
    this.hosts = parseHosts(hosts);
    this.timeoutMs = opts.timeoutMs ?? 1000;
    this.perSecond = opts.perSecond ?? 50;
    this.inFlight = opts.inFlight ?? 8;
    this.maxCache = opts.maxCache ?? 65536;
    this.wallUs = opts.wallUs ?? (() => Date.now() * 1000);
    if (opts.reverse) {
      this.resolver = null;
      this.reverse = opts.reverse;
    } else {
      const r = new dns.Resolver({ timeout: this.timeoutMs, tries: 1 });
      if (opts.server) r.setServers([opts.server]);
      this.resolver = r;
      this.reverse = (addr) => r.reverse(addr);
    }
  }

  /** Hands over an address a flow has: looked up later, once, unless already. Cheap: a map lookup when known. */
  note(addr: string): void {
    if (this.closed || this.seen.has(addr)) return;
    if (this.seen.size >= this.maxCache) this.seen.delete(this.seen.keys().next().value!);
    this.seen.set(addr, true);
    const host = hostOf(addr);
    const fromHosts = this.hosts.get(host) ?? this.hosts.get(addr);
    if (fromHosts !== undefined) {
      this.found({ addr, name: fromHosts, lookedUpUs: this.wallUs() });
      return;
    }
    this.queue.push(addr);
    this.pump();
  }

  /** Notes the remote address of each of a frame's flows. */
  noteFrame(flows: FrameFlows): void {
    for (let i = 0; i < flows.count; i++) this.note(flows.flows[i].raddr);
  }

  /** The name found for an address, if any so far. */
  nameOf(addr: string): string | undefined {
    return this.named.get(addr);
  }

  private found(row: NameRow): void {
    if (this.named.size >= this.maxCache) this.named.delete(this.named.keys().next().value!);
    this.named.set(row.addr, row.name);
    this.ready.push(row);
  }

  /** The names found since the last call. */
  take(): NameRow[] {
    return this.ready.splice(0, this.ready.length);
  }

  /** Lookups waiting for their turn. */
  get waiting(): number {
    return this.queue.length;
  }

  /** Stops: pending lookups are dropped, answers still coming are ignored. */
  close(): void {
    this.closed = true;
    this.queue.length = 0;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.resolver?.cancel();
  }

  private pump(): void {
    if (this.timer || this.closed) return;
    const now = Date.now();
    this.started = this.started.filter((t) => now - t < 1000);
    while (this.queue.length > 0 && this.running < this.inFlight && this.started.length < this.perSecond) {
      this.started.push(now);
      this.lookup(this.queue.shift()!);
    }
    if (this.queue.length > 0 && this.running < this.inFlight) {
      // the rate limit: try again when the oldest start of the last second has aged out
      this.timer = setTimeout(() => {
        this.timer = null;
        this.pump();
      }, Math.max(1, 1000 - (now - this.started[0])));
      this.timer.unref();
    }
  }

  private lookup(addr: string): void {
    this.running++;
    this.stats.lookups++;
    let done = false;
    const finish = (name: string | null) => {
      if (done) return;
      done = true;
      clearTimeout(timeout);
      this.running--;
      if (name !== null && !this.closed) {
        this.stats.named++;
        this.found({ addr, name, lookedUpUs: this.wallUs() });
      } else if (name === null) this.stats.failed++;
      this.pump();
    };
    // node:dns's own timeout is per try; this one bounds the whole lookup
    const timeout = setTimeout(() => finish(null), this.timeoutMs);
    timeout.unref();
    this.reverse(hostOf(addr)).then((names) => finish(names.length > 0 && names[0] !== '' ? names[0] : null), () => finish(null));
  }
}
