// The npm package as a production host gets it: `npm run package` builds the tarball, which installs into an
// empty prefix with no network and no toolchain (clang, bpftool, libbpf.so, libelf.so and the headers hidden
// in a mount namespace), and records exact bytes there with its prebuilt addon.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { once } from 'node:events';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { CaptureReader } from '../../src/capture/reader';
import { printed } from '../helpers/cli';
import { kernel } from '../helpers/kernel';
import { ROOT } from '../helpers/paths';
import { nodeClient, startServer } from '../helpers/traffic';

const version = (JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const tarball = path.join(ROOT, 'release', `tcptop-${version}.tgz`);
const ARCHES = ['x64', 'arm64'];
const prebuild = (arch: string) => path.join(ROOT, 'bpf', 'prebuilds', `linux-${arch}`, 'tcptop-bpf.napi.glibc.node');

function run(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): SpawnSyncReturns<string> {
  const r = spawnSync(cmd, args, { cwd: opts.cwd ?? ROOT, env: { ...process.env, ...opts.env }, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.error) throw r.error;
  return r;
}

function ok(r: SpawnSyncReturns<string>, what: string): string {
  assert.equal(r.status, 0, `${what} failed:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

let work = '';
before(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'tcptop-install-'));
  // the test runs from dist/, which a TypeScript build would wipe: package what `npm test` just built
  ok(run(path.join(ROOT, 'scripts/package'), ['--no-build', 'tgz']), 'scripts/package');
});
after(() => fs.rmSync(work, { recursive: true, force: true }));

test('package: npm pack ships dist/src, the docs, the addon sources and its prebuilds, nothing of bpf/build, tests, benches or fixtures', () => {
  const [pack] = JSON.parse(ok(run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts']), 'npm pack --dry-run')) as [{ files: { path: string }[] }];
  const files = pack.files.map((f) => f.path);
  for (const arch of ARCHES) assert.ok(files.includes(`bpf/prebuilds/linux-${arch}/tcptop-bpf.napi.glibc.node`), `linux-${arch} prebuild`);
  for (const f of ['bin/tcptop', 'dist/src/cli.js', 'bpf/index.js', 'bpf/install.js', 'bpf/binding.gyp', 'bpf/tcptop.bpf.c', 'bpf/src/addon.c', 'README.md']) {
    assert.ok(files.includes(f), f);
  }
  const stray = files.filter((f) => /^(bpf\/build\/|test\/|bench\/|fixtures\/|dist\/(test|bench|fixtures)\/|release\/|node_modules\/)|\.skel\.h$|\.o$|\.db$/.test(f));
  assert.deepEqual(stray, []);
});

test('package: the prebuilt addons need nothing but libc, and each is built for its architecture', () => {
  const machine: Record<string, string> = { x64: 'Advanced Micro Devices X86-64', arm64: 'AArch64' };
  for (const arch of ARCHES) {
    const header = ok(run('readelf', ['-hd', prebuild(arch)]), 'readelf');
    assert.match(header, new RegExp(`Machine:\\s+${machine[arch]}`), arch);
    const needed = [...header.matchAll(/\(NEEDED\)\s+Shared library: \[(.+)\]/g)].map((m) => m[1]);
    assert.deepEqual(needed.filter((lib) => !/^(libc\.so\.6|ld-linux-[\w-]+\.so\.\d)$/.test(lib)), [], `linux-${arch} needs ${needed.join(', ')}`);
  }
  if (process.arch === 'x64') {
    const libs = ok(run('ldd', [prebuild('x64')]), 'ldd');
    const names = libs.split('\n').map((l) => l.trim().split(/\s/)[0]).filter(Boolean);
    assert.deepEqual(names.filter((n) => !/^(linux-vdso\.so\.1|libc\.so\.6|\/lib64\/ld-linux-x86-64\.so\.2)$/.test(n)), [], libs);
  }
});

// Run as `sh -c HIDE sh SCRATCH CMD ARGS...` inside `unshare -m`: takes the compilers, assemblers, linkers,
// make and bpftool out of every PATH directory, and the libbpf and libelf shared objects out of the library
// directory, with overlay whiteouts (SCRATCH holds the overlays' upper layers); covers the compilers' own
// directories and /usr/include with empty ones; checks that none is left, then execs CMD. Without a
// compiler no source build can happen unnoticed, the addon's or better-sqlite3's.
const HIDE = String.raw`set -eu
scratch=$1 && shift
mkdir -p "$scratch" && mount -t tmpfs none "$scratch"
tools='^(cc|c\+\+|c89-gcc|c99-gcc|cpp(-[0-9]+)?|as|ld|ld\.(bfd|gold)|make|tcc|bpftool|(.*-)?(gcc|g\+\+|clang|clang\+\+|clang-cpp)(-[0-9]+)?|.*-linux-gnu-(as|ld|cpp)(-[0-9]+)?)$'
n=0
# DIR NAME-REGEX: an overlay over DIR in which no entry whose name matches exists
hide() {
  n=$((n + 1))
  mkdir -p "$scratch/$n/upper" "$scratch/$n/work"
  for f in $(ls "$1" | grep -E "$2" || true); do mknod "$scratch/$n/upper/$f" c 0 0; done
  mount -t overlay overlay -o "lowerdir=$1,upperdir=$scratch/$n/upper,workdir=$scratch/$n/work" "$1"
}
for dir in $(echo "$PATH" | tr ':' '\n' | while read -r d; do [ -d "$d" ] && readlink -f "$d"; done | sort -u); do hide "$dir" "$tools"; done
for dir in /usr/lib/gcc /usr/lib/gcc-cross /usr/lib/llvm-* /usr/include; do [ ! -d "$dir" ] || mount -t tmpfs none "$dir"; done
libs=$(dirname "$(readlink -f "$(ldconfig -p | awk '/libc\.so\.6 /{print $NF; exit}')")")
hide "$libs" '^lib(bpf|elf)[.-]'
for tool in cc gcc c++ g++ clang make ld as bpftool x86_64-linux-gnu-gcc aarch64-linux-gnu-gcc; do
  ! command -v "$tool" >/dev/null || { echo "hide: $tool still visible" >&2; exit 97; }
done
! ls "$libs" | grep -E '^lib(bpf|elf)[.-]' >&2 || { echo "hide: libbpf or libelf still visible" >&2; exit 97; }
[ ! -e /usr/include/bpf/libbpf.h ] || { echo "hide: libbpf headers still visible" >&2; exit 97; }
exec "$@"`;

/** `cmd` in a mount namespace without the toolchain, and with no network unless `net`. */
function hidden(cmd: string[], net = true): [string, string[]] {
  return ['unshare', ['-m', ...(net ? [] : ['-n']), '--', 'sh', '-c', HIDE, 'sh', path.join(work, 'hide'), ...cmd]];
}

/** prebuild-install's local prebuild for better-sqlite3, made from the project's own build (see the test below). */
function sqlitePrebuild(dir: string): string {
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'node_modules/better-sqlite3/package.json'), 'utf8')) as { version: string };
  const name = `better-sqlite3-v${pkg.version}-node-v${process.versions.modules}-${process.platform}-${process.arch}.tar.gz`;
  fs.mkdirSync(path.join(dir, 'build/Release'), { recursive: true });
  fs.copyFileSync(path.join(ROOT, 'node_modules/better-sqlite3/build/Release/better_sqlite3.node'), path.join(dir, 'build/Release/better_sqlite3.node'));
  ok(run('tar', ['-czf', path.join(dir, name), 'build'], { cwd: dir }), 'tar');
  return dir;
}

let prefix = '';
/** The package installed once, offline, into an empty prefix in the environment HIDE makes: the prefix. */
function installed(): string {
  if (prefix) return prefix;
  // npm ci fetched the dependencies' tarballs but not their registry documents, which an install from a
  // tarball resolves against: one install with the network fills npm's cache with those.
  ok(run('npm', ['install', '-g', '--prefix', path.join(work, 'warm'), '--ignore-scripts', '--no-audit', '--no-fund', '--prefer-offline', tarball]), 'warm-up install');
  // better-sqlite3 downloads its binary from GitHub (prebuild-install) or compiles SQLite: neither works
  // offline without a compiler, so its documented local prebuild is handed over, as a mirror would.
  const env = { npm_config_better_sqlite3_local_prebuilds: sqlitePrebuild(path.join(work, 'sqlite')) };
  const into = path.join(work, 'prefix');
  ok(run(...hidden(['npm', 'install', '-g', '--prefix', into, '--offline', '--no-audit', '--no-fund', tarball], false), { env }), 'offline install without toolchain');
  assert.ok(!fs.existsSync(path.join(into, 'lib/node_modules/tcptop/bpf/build')), 'nothing was compiled: the prebuild loaded');
  return (prefix = into);
}

test('package: installs offline into an empty prefix on a host without clang, bpftool, libbpf.so or libelf.so, and records exact bytes there', kernel, async () => {
  const prefix = installed();
  const server = await startServer('127.0.0.1', 54_321);
  const peer = nodeClient('inst-node', '127.0.0.1', server.port, 123_457);
  const file = path.join(work, 'installed.db');
  const [cmd, args] = hidden([path.join(prefix, 'bin/tcptop'), 'record', '-o', file, '-i', '0.5', '-p', String(peer.pid), '--no-resolve']);
  const child = spawn(cmd, args, { cwd: work });
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  const exited = once(child, 'exit');
  await printed(child);
  peer.go();
  const report = await peer.result;
  await server.close();
  child.kill('SIGINT');
  const [code] = (await exited) as [number | null];
  assert.equal(code, 0, err);

  const r = CaptureReader.open(file);
  try {
    const span = r.span()!;
    let rx = 0;
    let tx = 0;
    for (const f of r.frames(span.firstSeq, span.lastSeq)) {
      for (const fb of r.flowBytes(f.seq)) {
        if (fb.lport !== report.lport || fb.rport !== report.rport) continue;
        assert.deepEqual([fb.pid, fb.comm], [peer.pid, 'inst-node']);
        rx += fb.rxBytes;
        tx += fb.txBytes;
      }
    }
    assert.deepEqual({ tx, rx }, { tx: 123_457, rx: 54_321 });
  } finally {
    r.close();
  }
});

test('package: where the addon is absent or does not load, the installed package replays, reports, shows info and exports as a checkout does, and record says why in one line', () => {
  // a copy of the installed package, its prebuild for this host removed, then replaced by one that cannot load
  const copy = path.join(work, 'no-addon');
  ok(run('cp', ['-a', installed(), copy]), 'copy the installed package');
  const addon = path.join(copy, 'lib/node_modules/tcptop/bpf/prebuilds', `linux-${process.arch}`, 'tcptop-bpf.napi.glibc.node');
  const sample = path.join(ROOT, 'fixtures/sample.db');
  const cases: [string, () => void, RegExp][] = [
    ['absent', () => fs.rmSync(addon), /^tcptop: load bpf addon: not built \(install clang, libbpf-dev and bpftool, then run /],
    // the checkout's own build links libbpf.so.1, which HIDE takes away
    ['not loadable', () => fs.copyFileSync(path.join(ROOT, 'bpf/build/Release/tcptop_bpf.node'), addon), /^tcptop: load bpf addon: libbpf\.so\.1: cannot open shared object file: No such file or directory \(install libbpf1 and libelf1, or install clang/],
  ];
  for (const [what, damage, why] of cases) {
    damage();
    // each side runs in a directory of its own, so that export's relative output path prints the same
    const [mine, theirs] = ['installed', 'checkout'].map((who) => fs.mkdtempSync(path.join(work, `${who}-`)));
    for (const args of [['replay', '-C', sample], ['report', sample], ['info', sample], ['export', '--format', 'openmetrics', '-o', 'out.om', sample]]) {
      const r = run(...hidden([path.join(copy, 'bin/tcptop'), ...args], false), { cwd: mine });
      assert.equal(r.status, 0, `${what}: ${args[0]}: ${r.stderr}`);
      const checkout = ok(run(process.execPath, [path.join(ROOT, 'bin/tcptop'), ...args], { cwd: theirs }), `checkout ${args[0]}`);
      assert.equal(r.stdout, checkout, `${what}: ${args[0]} prints what the checkout prints`);
    }
    assert.equal(fs.readFileSync(path.join(mine, 'out.om'), 'utf8'), fs.readFileSync(path.join(theirs, 'out.om'), 'utf8'), `${what}: export`);
    const file = path.join(work, 'none.db');
    const r = run(...hidden([path.join(copy, 'bin/tcptop'), 'record', '-o', file, '-c', '1'], false));
    assert.equal(r.status, 1, `${what}: ${r.stderr}`);
    assert.equal(r.stderr.trimEnd().split('\n').length, 1, `${what}: one line: ${r.stderr}`);
    assert.match(r.stderr, why, what);
    assert.equal(fs.existsSync(file), false, `${what}: no capture file`);
  }
});
