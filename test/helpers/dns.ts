// A DNS server for the tests of remote names: Debian's dnsmasq on loopback, answering only the PTR records a test gives.
import { spawn, type ChildProcess } from 'node:child_process';
import * as dgram from 'node:dgram';
import * as net from 'node:net';
import { promises as dns } from 'node:dns';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A loopback port free for both UDP and TCP: dnsmasq listens on both, and exits if either is taken. */
async function freePort(): Promise<number> {
  for (;;) {
    const tcp = net.createServer();
    await new Promise<void>((r) => tcp.listen(0, '127.0.0.1', () => r()));
    const port = (tcp.address() as net.AddressInfo).port;
    const udp = dgram.createSocket('udp4');
    const free = await new Promise<boolean>((r) => {
      udp.once('error', () => r(false));
      udp.bind(port, '127.0.0.1', () => r(true));
    });
    if (free) udp.close();
    await new Promise<void>((r) => tcp.close(() => r()));
    if (free) return port;
  }
}

/** dnsmasq on 127.0.0.1 answering only the PTR records given; ready when it answers one. */
export async function dnsServer(t: { after(fn: () => unknown): void }, ptr: Record<string, string>): Promise<string> {
  const [addr, name] = Object.entries(ptr)[0];
  let said = '';
  // A port can be taken between choosing it and dnsmasq binding it: then dnsmasq exits, and another is chosen.
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    const args = ['--no-daemon', `--port=${port}`, '--listen-address=127.0.0.1', '--bind-interfaces', '--no-resolv', '--no-hosts', '--pid-file=',
      ...Object.entries(ptr).map(([a, n]) => `--ptr-record=${a.split('.').reverse().join('.')}.in-addr.arpa,${n}`)];
    const child: ChildProcess = spawn('/usr/sbin/dnsmasq', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr!.on('data', (d) => (said += d));
    t.after(() => child.kill());
    const r = new dns.Resolver({ timeout: 200, tries: 1 });
    r.setServers([`127.0.0.1:${port}`]);
    for (let i = 0; child.exitCode === null && child.signalCode === null; i++) {
      try {
        if ((await r.reverse(addr))[0] === name) return `127.0.0.1:${port}`;
      } catch {
        if (i > 100) throw new Error(`dnsmasq did not answer on port ${port}: ${said.trim()}`);
      }
      await sleep(100);
    }
  }
  throw new Error(`dnsmasq would not start: ${said.trim()}`);
}
