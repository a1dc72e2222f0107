// --metrics-listen ADDR:PORT: where the endpoint listens. Loopback unless another address is asked for
// explicitly with --metrics-listen-any. Pure.
import { isIP } from 'node:net';
import { UsageError } from '../errors';

export interface ListenAddress {
  host: string;
  port: number;
}

/** `127.0.0.1:9100`, `[::1]:9100`, `localhost:9100`; port 0 takes any free port. */
export function parseListen(text: string): ListenAddress {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(text.trim());
  const host = m ? (m[1] ?? m[2]) : '';
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535 || (host !== 'localhost' && isIP(host) === 0)) {
    throw new UsageError(`--metrics-listen: invalid address '${text}' (expected ADDR:PORT with an IP address or localhost, such as 127.0.0.1:9100 or [::1]:9100)`);
  }
  return { host, port };
}

export function isLoopback(host: string): boolean {
  if (host === 'localhost' || host === '::1') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(host);
  return mapped !== null && mapped[1].startsWith('127.');
}

/** Refuses an address other than loopback unless it was asked for explicitly. */
export function checkListen(addr: ListenAddress, any: boolean): ListenAddress {
  if (!any && !isLoopback(addr.host)) {
    throw new UsageError(`--metrics-listen: ${addr.host} is not a loopback address: the endpoint shows process names and addresses; add --metrics-listen-any to serve it there`);
  }
  return addr;
}
