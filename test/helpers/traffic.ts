// Loopback traffic of known sizes for the kernel tests: in this process, or from child processes
// with known pids and process names (comm). Loopback only: 127.0.0.0/8 and ::1.
import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

/** One end of a connection as the application saw it. */
export interface End {
  laddr: string;
  lport: number;
  raddr: string;
  rport: number;
}

export interface TransferResult {
  client: End;
  server: End;
  /** Bytes the client sent and the server read. */
  up: number;
  /** Bytes the server sent and the client read. */
  down: number;
}

export interface TransferOptions {
  /** Address the server listens on ('::' listens dual-stack). */
  listen: string;
  /** Address the client connects to. */
  connect: string;
  /** Address the client binds to. */
  localAddress?: string;
  up: number;
  down: number;
}

/** A payload whose bytes are not all equal, so a short read cannot pass for a full one. */
export function payload(size: number): Buffer {
  const b = Buffer.alloc(size);
  for (let i = 0; i < size; i++) b[i] = (i * 131) & 0xff;
  return b;
}

function endOf(s: net.Socket): End {
  return { laddr: s.localAddress!, lport: s.localPort!, raddr: s.remoteAddress!, rport: s.remotePort! };
}

/** Reads a socket to its end; resolves with the byte count. */
function readAll(s: net.Socket): Promise<number> {
  return new Promise((resolve, reject) => {
    let n = 0;
    s.on('data', (d: Buffer) => (n += d.length));
    s.once('end', () => resolve(n));
    s.once('error', reject);
  });
}

function closed(s: net.Socket): Promise<void> {
  return new Promise((resolve) => (s.destroyed && s.closed ? resolve() : s.once('close', () => resolve())));
}

/**
 * A server that, per connection, reads until the peer's end, then answers `down` bytes and ends.
 * Resolves each accepted connection's result through `accepted`.
 */
export async function startServer(listen: string, down: number): Promise<{ port: number; accepted: Promise<{ end: End; read: number }>[]; close(): Promise<void> }> {
  const accepted: Promise<{ end: End; read: number }>[] = [];
  const sockets: net.Socket[] = [];
  // half-open: the answer goes out after the client's end has been read
  const server = net.createServer({ allowHalfOpen: true }, (s) => {
    sockets.push(s);
    const end = endOf(s);
    accepted.push(
      readAll(s).then(async (read) => {
        await new Promise<void>((r) => s.end(payload(down), () => r()));
        await closed(s);
        return { end, read };
      }),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port: 0, host: listen, ipv6Only: false }, () => resolve());
  });
  return {
    port: (server.address() as net.AddressInfo).port,
    accepted,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** One connection in this process: the client sends `up` bytes and ends, the server answers `down`. */
export async function transfer(opts: TransferOptions): Promise<TransferResult> {
  const server = await startServer(opts.listen, opts.down);
  try {
    const client = net.connect({ port: server.port, host: opts.connect, localAddress: opts.localAddress });
    await new Promise<void>((resolve, reject) => {
      client.once('connect', () => resolve());
      client.once('error', reject);
    });
    const clientEnd = endOf(client);
    const received = readAll(client);
    client.end(payload(opts.up));
    const down = await received;
    await closed(client);
    while (server.accepted.length === 0) await new Promise((r) => setImmediate(r));
    const { end, read } = await server.accepted[0];
    if (read !== opts.up || down !== opts.down) throw new Error(`transfer: moved ${read}/${down}, wanted ${opts.up}/${opts.down}`);
    return { client: clientEnd, server: end, up: read, down };
  } finally {
    await server.close();
  }
}

let linkDir: string | undefined;

/**
 * A path that runs `executable` under the name `name`: the kernel takes a task's comm from the
 * name it was executed by, so a symlink gives a child a known comm (at most 15 characters).
 */
export function namedExecutable(executable: string, name: string): string {
  if (name.length > 15) throw new Error(`comm ${name} is longer than 15 characters`);
  if (!linkDir) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tcptop-peers-'));
    process.once('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
    linkDir = dir;
  }
  const link = path.join(linkDir, name);
  if (!fs.existsSync(link)) fs.symlinkSync(fs.realpathSync(executable), link);
  return link;
}

/** The real python3 binary (not a wrapper script, which would exec under another name). */
export function python3(): string {
  return execFileSync('python3', ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' }).trim();
}

/** A child process that waits for `go()`, does its traffic, prints one JSON line and exits. */
export interface Peer<T> {
  child: ChildProcess;
  pid: number;
  comm: string;
  /** Lets the child start its traffic (after e.g. moving it into a cgroup). */
  go(): void;
  /** The child's JSON result, once it has exited 0. */
  result: Promise<T>;
}

const running = new Set<ChildProcess>();

/** Ends every peer still running (a test that failed half-way would otherwise keep the process alive). */
export async function stopPeers(): Promise<void> {
  await Promise.all(
    [...running].map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          child.once('exit', () => resolve());
          child.kill();
        }),
    ),
  );
}

export function startPeer<T>(executable: string, comm: string, args: string[]): Peer<T> {
  const child = spawn(namedExecutable(executable, comm), args, { stdio: ['pipe', 'pipe', 'pipe'] });
  running.add(child);
  child.once('exit', () => running.delete(child));
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const result = new Promise<T>((resolve, reject) => {
    child.once('error', reject);
    // 'close', not 'exit': the child's stdout may still be unread when it exits (seen in a loaded VM)
    child.once('close', (code) => {
      if (code === 0) resolve(JSON.parse(out.trim().split('\n').pop()!) as T);
      else reject(new Error(`${comm} exited with ${code}: ${err.trim()}`));
    });
  });
  result.catch(() => undefined); // reported where awaited
  return { child, pid: child.pid!, comm, go: () => child.stdin!.end('go\n'), result };
}

/** What a node client peer reports: its end of the connection and the bytes moved. */
export interface ClientReport extends End {
  sent: number;
  received: number;
}

// Waits for "go" on stdin, connects, sends UP bytes, ends, reads to the end, reports.
const NODE_CLIENT = `
const net = require('node:net');
const [host, port, up, local] = process.argv.slice(1);
process.stdin.once('data', () => {
  const c = net.connect({ host, port: Number(port), localAddress: local || undefined }, () => {
    const end = { laddr: c.localAddress, lport: c.localPort, raddr: c.remoteAddress, rport: c.remotePort };
    let received = 0;
    c.on('data', (d) => (received += d.length));
    c.on('end', () => c.end());
    c.on('close', () => { console.log(JSON.stringify({ ...end, sent: Number(up), received })); process.exit(0); });
    c.end(Buffer.alloc(Number(up), 7));
  });
});`;

/** A node child (comm `comm`) that sends `up` bytes to host:port and reads the answer. */
export function nodeClient(comm: string, host: string, port: number, up: number, localAddress = ''): Peer<ClientReport> {
  return startPeer<ClientReport>(process.execPath, comm, ['-e', NODE_CLIENT, host, String(port), String(up), localAddress]);
}

// What the python peers share: reading a socket to its end (read_to_end also closes it), and a report's ends.
const PY_COMMON = `
def read_all(s):
    received = 0
    while True:
        d = s.recv(65536)
        if not d:
            return received
        received += len(d)

def read_to_end(s):
    received = read_all(s)
    s.close()
    return received

def ends(l, r):
    return {'laddr': l[0], 'lport': l[1], 'raddr': r[0], 'rport': r[1]}
`;

// Waits for "go", then sends FILE's SIZE bytes with os.sendfile, half-closes, reads to the end.
const PY_SENDFILE = `
import json, os, socket, sys
${PY_COMMON}host, port, file = sys.argv[1], int(sys.argv[2]), sys.argv[3]
sys.stdin.readline()
s = socket.create_connection((host, port))
l, r = s.getsockname(), s.getpeername()
size = os.path.getsize(file)
with open(file, 'rb') as f:
    off = 0
    while off < size:
        off += os.sendfile(s.fileno(), f.fileno(), off, size - off)
s.shutdown(socket.SHUT_WR)
received = read_to_end(s)
print(json.dumps({**ends(l, r), 'sent': off, 'received': received}))
`;

/** A python child that sends `file` with sendfile(2) to host:port. */
export function sendfileClient(comm: string, host: string, port: number, file: string): Peer<ClientReport> {
  return startPeer<ClientReport>(python3(), comm, ['-c', PY_SENDFILE, host, String(port), file]);
}

/** What the peeking client reports: bytes peeked (never consumed) and bytes really read. */
export interface PeekReport extends ClientReport {
  peeked: number;
}

// Waits for "go", connects, half-closes at once, sleeps DELAY seconds, peeks PEEKS times at the
// answer, then reads it all.
const PY_PEEK = `
import json, socket, sys, time
${PY_COMMON}host, port, peeks, delay = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
sys.stdin.readline()
s = socket.create_connection((host, port))
l, r = s.getsockname(), s.getpeername()
s.shutdown(socket.SHUT_WR)
time.sleep(delay)
peeked = 0
for _ in range(peeks):
    peeked += len(s.recv(1000, socket.MSG_PEEK | socket.MSG_WAITALL))
received = read_to_end(s)
print(json.dumps({**ends(l, r), 'sent': 0, 'received': received, 'peeked': peeked}))
`;

/**
 * A python child that half-closes, waits `delayMs`, peeks at what host:port answers `peeks` times,
 * then reads it. With a delay the answer and the server's FIN arrive first, so the socket has
 * reached TCP_CLOSE (its local port unhashed) before it is read.
 */
export function peekingClient(comm: string, host: string, port: number, peeks: number, delayMs = 0): Peer<PeekReport> {
  return startPeer<PeekReport>(python3(), comm, ['-c', PY_PEEK, host, String(port), String(peeks), String(delayMs / 1000)]);
}

/** What a streaming peer reports: both ends of its own loopback connection and the bytes moved. */
export interface StreamReport {
  client: End;
  server: End;
  bytes: number;
}

// Waits for "go", then streams CHUNK-byte writes over its own loopback connection for MS ms.
const NODE_STREAM = `
const net = require('node:net');
const [ms, chunk] = process.argv.slice(1).map(Number);
process.stdin.once('data', () => {
  let got = 0, serverEnd;
  const server = net.createServer((s) => {
    serverEnd = { laddr: s.localAddress, lport: s.localPort, raddr: s.remoteAddress, rport: s.remotePort };
    s.on('data', (d) => (got += d.length));
    s.on('end', () => s.end());
  }).listen(0, '127.0.0.1', () => {
    const c = net.connect(server.address().port, '127.0.0.1', () => {
      const client = { laddr: c.localAddress, lport: c.localPort, raddr: c.remoteAddress, rport: c.remotePort };
      const buf = Buffer.alloc(chunk, 1);
      let sent = 0;
      const until = Date.now() + ms;
      const pump = () => {
        if (Date.now() >= until) return c.end();
        while (c.write(buf)) { sent += chunk; if (sent % (chunk * 64) === 0) return setImmediate(pump); }
        sent += chunk;
        c.once('drain', pump);
      };
      c.resume();
      c.on('close', () => { server.close(); console.log(JSON.stringify({ client, server: serverEnd, bytes: got, sent })); process.exit(0); });
      pump();
    });
  });
});`;

/** A node child that streams over a loopback connection of its own for `ms` milliseconds. */
export function streamingPeer(comm: string, ms: number, chunk: number): Peer<StreamReport> {
  return startPeer<StreamReport>(process.execPath, comm, ['-e', NODE_STREAM, String(ms), String(chunk)]);
}

/** What the forking client reports: its connection, and what it and its forked child each sent. */
export interface ForkReport extends ClientReport {
  childPid: number;
  childSent: number;
}

// Waits for "go", connects, forks: the child sends CHILD bytes on the shared socket and exits,
// then the parent sends PARENT bytes, half-closes and reads the answer.
const PY_FORK = `
import json, os, socket, sys
${PY_COMMON}host, port, child_bytes, parent_bytes = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
sys.stdin.readline()
s = socket.create_connection((host, port))
l, r = s.getsockname(), s.getpeername()
pid = os.fork()
if pid == 0:
    s.sendall(b'c' * child_bytes)
    os._exit(0)
os.waitpid(pid, 0)
s.sendall(b'p' * parent_bytes)
s.shutdown(socket.SHUT_WR)
received = read_to_end(s)
print(json.dumps({**ends(l, r), 'sent': parent_bytes, 'received': received, 'childPid': pid, 'childSent': child_bytes}))
`;

/** What the mixed-sockets peer reports: its one TCP connection, both ends, and what it moved otherwise. */
export interface MixedReport {
  client: End;
  server: End;
  tcpBytes: number;
  udpBytes: number;
  unixBytes: number;
}

// Waits for "go"; sends UDP datagrams to itself on loopback and bytes over a unix socket pair, both
// ways, and moves TCP_BYTES over one loopback TCP connection of its own.
const PY_MIXED = `
import json, socket, sys
${PY_COMMON}tcp_bytes = int(sys.argv[1])
sys.stdin.readline()
udp = 0
a, b = socket.socket(socket.AF_INET, socket.SOCK_DGRAM), socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
a.bind(('127.0.0.1', 0)); b.bind(('127.0.0.1', 0))
for i in range(20):
    a.sendto(b'u' * 1000, b.getsockname()); udp += len(b.recv(2000))
    b.sendto(b'v' * 700, a.getsockname()); udp += len(a.recv(2000))
ux = 0
u1, u2 = socket.socketpair()
for i in range(20):
    u1.sendall(b'w' * 1500); ux += len(u2.recv(4000))
    u2.sendall(b'x' * 500); ux += len(u1.recv(4000))
l = socket.socket(); l.bind(('127.0.0.1', 0)); l.listen(1)
c = socket.create_connection(l.getsockname()); s, _ = l.accept()
client, server = ends(c.getsockname(), c.getpeername()), ends(s.getsockname(), s.getpeername())
c.sendall(b't' * tcp_bytes); c.shutdown(socket.SHUT_WR)
got = read_to_end(s)
c.close()
print(json.dumps({'client': client, 'server': server, 'tcpBytes': got, 'udpBytes': udp, 'unixBytes': ux}))
`;

/** A python child that moves bytes over UDP and a unix socket pair, and over one TCP connection. */
export function mixedSocketsPeer(comm: string, tcpBytes: number): Peer<MixedReport> {
  return startPeer<MixedReport>(python3(), comm, ['-c', PY_MIXED, String(tcpBytes)]);
}

/** One connection of the churning peer: its client's and server's ports, and the bytes each way. */
export interface ChurnConnection {
  cport: number;
  sport: number;
  up: number;
  down: number;
}

// Waits for "go"; then, in ROUNDS rounds, THREADS threads each open EACH loopback connections of their
// own one after another, move a known number of bytes both ways on each and close it, so that new
// sockets on several CPUs at once take flow slots while old ones free theirs. After each round it
// prints "round" and waits for a line on stdin before the next, so a reader can keep up.
const PY_CHURN = `
import json, socket, sys, threading
${PY_COMMON}threads, rounds, each = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
out = []
def work(t, r):
    l = socket.socket(); l.bind(('127.0.0.1', 0)); l.listen(8)
    mine = []
    for i in range(each):
        up, down = 1000 + (i * 37 + t * 11 + r * 5) % 5000, 1 + (i + r) % 50
        c = socket.create_connection(l.getsockname()); s, _ = l.accept()
        c.sendall(b'c' * up); c.shutdown(socket.SHUT_WR)
        got = read_all(s)
        s.sendall(b's' * down); s.close()
        mine.append({'cport': c.getsockname()[1], 'sport': l.getsockname()[1], 'up': got, 'down': read_to_end(c)})
    l.close()
    out.extend(mine)
for r in range(rounds):
    sys.stdin.readline()
    ts = [threading.Thread(target=work, args=(t, r)) for t in range(threads)]
    for t in ts: t.start()
    for t in ts: t.join()
    print('round', flush=True)
print(json.dumps(out))
`;

/**
 * The bytes each end of the churning peer's connections received and sent, by `lport>rport`, sorted by key. A
 * 4-tuple used by two connections adds up under its key, as it does in flows summed by their ends.
 */
export function churnEnds(conns: readonly ChurnConnection[]): Map<string, [number, number]> {
  const ends = new Map<string, [number, number]>();
  const add = (key: string, rx: number, tx: number) => {
    const e = ends.get(key) ?? [0, 0];
    ends.set(key, [e[0] + rx, e[1] + tx]);
  };
  for (const c of conns) {
    add(`${c.cport}>${c.sport}`, c.down, c.up);
    add(`${c.sport}>${c.cport}`, c.up, c.down);
  }
  return new Map([...ends].sort());
}

/** A python child whose threads open, use and close loopback connections in parallel, a round at a time. */
export interface ChurningPeer {
  pid: number;
  /** Runs the next round and resolves when it is done. */
  round(): Promise<void>;
  /** Every connection of every round, once the last round is done. */
  result: Promise<ChurnConnection[]>;
}

export function churningPeer(comm: string, threads: number, rounds: number, each: number): ChurningPeer {
  const peer = startPeer<ChurnConnection[]>(python3(), comm, ['-c', PY_CHURN, String(threads), String(rounds), String(each)]);
  let pending: (() => void) | undefined;
  let lines = '';
  peer.child.stdout!.on('data', (d: Buffer) => {
    lines += d.toString();
    for (let i = lines.indexOf('\n'); i >= 0; i = lines.indexOf('\n')) {
      if (lines.slice(0, i) === 'round') pending?.();
      lines = lines.slice(i + 1);
    }
  });
  return {
    pid: peer.pid,
    result: peer.result,
    round: () =>
      new Promise<void>((resolve, reject) => {
        pending = resolve;
        peer.result.catch(reject);
        peer.child.stdin!.write('go\n');
      }),
  };
}

/** A python child whose socket is shared with a forked child of its own: both send on it. */
export function forkingClient(comm: string, host: string, port: number, childBytes: number, parentBytes: number): Peer<ForkReport> {
  return startPeer<ForkReport>(python3(), comm, ['-c', PY_FORK, host, String(port), String(childBytes), String(parentBytes)]);
}
