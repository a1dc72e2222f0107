// The probes this machine's kernel cannot run (fentry, kprobe) and auto's choice among them, on
// other kernels: run-vm-tests boots Debian's cloud kernels in qemu and runs guest.ts there. Each
// check of the guest becomes a subtest here. Skips only where the VM cannot be had, never in CI.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ROOT } from '../helpers/paths';
import { tempDir } from '../helpers/tmp';
import { parseConsole } from './protocol';

const RUNNER = path.join(ROOT, 'test/kernels/run-vm-tests');

function run(cmd: string, args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', reject);
    child.once('close', (status) => resolve({ status, stdout, stderr }));
  });
}

const tail = (text: string, lines = 40) => text.trimEnd().split('\n').slice(-lines).join('\n');

// 6.1 (bookworm's default): fentry and kprobe are all that count there, the tracepoints are missing.
// 6.12 (bookworm's newer kernel): all four, on a kernel without tcp_sendpage (sendfile goes through
// tcp_sendmsg since 6.5).
// The single executables (scripts/executable) in a VM whose initramfs has no Node: x64 on 6.1, and arm64 on
// Debian's arm64 6.1 cloud kernel under qemu-system-aarch64 (kprobe only: no socket tracepoints before 6.3, no
// fentry on arm64 before 6.4).
const KERNELS: { package: string; name: string; probes: string[]; refused: string[]; executable?: 'x64' | 'arm64' }[] = [
  { package: 'linux-image-cloud-amd64', name: "Debian's 6.1 cloud kernel", probes: ['fentry', 'kprobe', 'auto'], refused: ['tracepoint'] },
  { package: 'linux-image-6.12-cloud-amd64', name: "Debian's 6.12 cloud kernel", probes: ['tracepoint', 'fentry', 'kprobe', 'auto'], refused: [] },
  {
    package: 'linux-image-cloud-amd64', name: "Debian's 6.1 cloud kernel, by the x64 single executable without Node",
    probes: ['fentry', 'kprobe', 'auto'], refused: ['tracepoint'], executable: 'x64',
  },
  // arm64 attaches fentry programs to kernel functions from 6.4 on: on 6.1 record refuses them, auto takes kprobes
  {
    package: 'linux-image-cloud-arm64', name: "Debian's arm64 6.1 cloud kernel, by the arm64 single executable without Node",
    probes: ['kprobe', 'auto'], refused: ['tracepoint', 'fentry'], executable: 'arm64',
  },
];

/** The single executable for `arch`, built into `dir`; null with the reason where this machine cannot build it. */
async function executable(arch: 'x64' | 'arm64', dir: string): Promise<{ file: string | null; why: string }> {
  const prebuilt = path.join(ROOT, `bpf/prebuilds/linux-${arch}/tcptop-bpf.napi.glibc.node`);
  // a prebuilt addon older than its sources would test the program as it was, not as it is
  const sources = ['bpf/tcptop.bpf.c', 'bpf/tcptop.h', 'bpf/src/addon.c', 'bpf/binding.gyp', 'bpf/prebuild.sh', 'bpf/build-bpf.sh'].map((f) => fs.statSync(path.join(ROOT, f)).mtimeMs);
  if (!fs.existsSync(prebuilt) || fs.statSync(prebuilt).mtimeMs < Math.max(...sources)) {
    const b = await run('npm', ['run', '--silent', 'prebuilds', '--', arch]);
    if (b.status !== 0) return { file: null, why: `npm run prebuilds -- ${arch} failed: ${tail(b.stderr, 5)}` };
  }
  const file = path.join(dir, `tcptop-linux-${arch}`);
  const r = await run(path.join(ROOT, 'scripts/executable'), ['--arch', arch, '--out', file]);
  return r.status === 0 ? { file, why: '' } : { file: null, why: `scripts/executable --arch ${arch} failed: ${tail(r.stderr, 5)}` };
}

for (const k of KERNELS) {
  test(`${k.probes.join(', ')} on ${k.name} in a VM: exact bytes per flow`, { timeout: 900_000 }, async (t) => {
    const consoleLog = path.join(tempDir(t), 'console.log');
    const args = ['--kernel-package', k.package, '--console', consoleLog];
    if (k.executable) {
      const built = await executable(k.executable, tempDir(t));
      if (!built.file) {
        assert.notEqual(process.env.CI, 'true', `the VM tests must run in CI, but: ${built.why}`);
        t.skip(built.why);
        return;
      }
      args.push('--executable', built.file);
    }
    const r = await run(RUNNER, args);
    for (const line of r.stderr.split('\n')) if (/^run-vm-tests: (kernel|timing)/.test(line)) t.diagnostic(line);

    if (r.status === 77) {
      const why = r.stderr.match(/cannot run here: (.*)/)?.[1] ?? r.stderr.trim();
      assert.notEqual(process.env.CI, 'true', `the VM tests must run in CI, but: ${why}`);
      t.skip(why);
      return;
    }
    const text = fs.existsSync(consoleLog) ? fs.readFileSync(consoleLog, 'utf8') : '';
    const { checks, done } = parseConsole(text);
    assert.ok(done, `the guest did not finish (run-vm-tests exited ${r.status}):\n${tail(r.stderr)}\n--- console ---\n${tail(text)}`);
    for (const probe of k.probes) {
      assert.ok(checks.some((c) => c.name.startsWith(`record --probe ${probe}: attaches`)), `no checks of --probe ${probe} ran`);
    }
    for (const probe of k.refused) {
      assert.ok(checks.some((c) => c.name.startsWith(`record --probe ${probe}: refused`)), `no check that --probe ${probe} is refused ran`);
    }
    for (const c of checks) {
      await t.test(c.name, () => {
        if (!c.ok) assert.fail(c.error ?? 'failed');
      });
    }
    assert.equal(done.failed, 0, `${done.failed} checks failed on ${done.kernel}`);
    assert.equal(done.passed + done.failed, checks.length, 'a check line was lost on the console');
    assert.equal(r.status, 0, tail(r.stderr));
  });
}
