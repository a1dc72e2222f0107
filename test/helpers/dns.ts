// A DNS server for the tests of remote names: Debian's dnsmasq on loopback, answering only the PTR records a test gives.
import { spawn, type ChildProcess } from 'node:child_process';
import * as dgram from 'node:dgram';
import { promises as dns } from 'node:dns';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function freeUdpPort(): Promise<number> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  const port = s.address().port;
  s.close();
  return port;
}

/** dnsmasq on 127.0.0.1 answering only the PTR records given; ready when it answers one. */
export async function dnsServer(t: { after(fn: () => unknown): void }, ptr: Record<string, string>): Promise<string> {
  const port = await freeUdpPort();
  const args = ['--no-daemon', `--port=${port}`, '--listen-address=127.0.0.1', '--bind-interfaces', '--no-resolv', '--no-hosts', '--pid-file=',
    ...Object.entries(ptr).map(([addr, name]) => `--ptr-record=${addr.split('.').reverse().join('.')}.in-addr.arpa,${name}`)];
  const child: ChildProcess = spawn('/usr/sbin/dnsmasq', args, { stdio: 'ignore' });
  t.after(() => child.kill());
  const r = new dns.Resolver({ timeout: 200, tries: 1 });
  r.setServers([`127.0.0.1:${port}`]);
  const [addr, name] = Object.entries(ptr)[0];
  for (let i = 0; ; i++) {
    try {
      if ((await r.reverse(addr))[0] === name) return `127.0.0.1:${port}`;
    } catch {
      if (i > 50) throw new Error('dnsmasq did not answer');
    }
    await sleep(100);
  }
}

