// On this machine's kernel, through `tcptop record`: each probe either attaches and counts exact bytes
// (the same checks the VM runs, checks.ts) or fails with its exact one-line refusal and leaves no
// file; auto chooses the socket tracepoints where the kernel has them.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { oneLine, tcptop } from '../helpers/cli';
import { CLI, ROOT } from '../helpers/paths';
import { kernel } from '../helpers/kernel';
import { tempDir } from '../helpers/tmp';
import { probeChecks, type ProbeChoice } from './checks';


const [major, minor] = os.release().split('.').map(Number);
const hasSocketTracepoints = major > 6 || (major === 6 && minor >= 3);

// The same checks as in the VM run here, with a traffic generator built for this host.
const checkDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tcptop-host-kernel-'));
process.on('exit', () => fs.rmSync(checkDir, { recursive: true, force: true }));
const traffic = path.join(checkDir, 'tcptop-traffic');
const built = kernel.skip
  ? undefined
  : spawnSync('cc', ['-O2', '-static', '-pthread', '-o', traffic, path.join(ROOT, 'test/kernels/traffic.c')], { encoding: 'utf8' });
const noCompiler = built && built.status !== 0 ? `cannot build traffic.c: ${built.error?.message ?? built.stderr.trim()}` : undefined;
const withTraffic = { skip: kernel.skip || (noCompiler && process.env.CI !== 'true' ? noCompiler : false) };

// What each refusal must say, exactly: the step that failed, the cause and the remedy.
const REFUSAL: Record<'fentry' | 'kprobe', RegExp> = {
  fentry: /^tcptop: load fentry programs: operation not permitted \(this kernel refuses fentry programs even to root; use --probe auto\)$/,
  kprobe: /^tcptop: attach kprobe\/tcp_sendmsg: no such file or directory \(this kernel has no kprobes, or cannot probe that function; use --probe auto\)$/,
};

/** Whether the running kernel's own config says it was built without kprobes (null: no config to read). */
function builtWithoutKprobes(): boolean | null {
  try {
    const config = zlib.gunzipSync(fs.readFileSync('/proc/config.gz')).toString();
    return /^# CONFIG_KPROBES is not set$/m.test(config);
  } catch {
    return null;
  }
}

for (const kind of ['fentry', 'kprobe'] as const) {
  test(`record --probe ${kind} here: exact bytes where it attaches, else the exact refusal and no file`, withTraffic, async (t) => {
    assert.equal(noCompiler, undefined);
    const file = path.join(tempDir(t), 'capture.db');
    const r = tcptop(['record', '-o', file, '-c', '1', '-i', '0.2', '--probe', kind]);
    if (kind === 'kprobe' && builtWithoutKprobes()) assert.equal(r.status, 1, 'a kernel built without CONFIG_KPROBES must refuse kprobes');
    if (r.status === 0) {
      // It attaches here: the whole set of byte checks the VM runs, for this probe.
      for (const c of probeChecks(kind, kind, { traffic, tmp: checkDir, tcptop: [process.execPath, CLI] })) await t.test(c.name, () => c.run());
      return;
    }
    assert.equal(r.status, 1, r.stderr);
    assert.match(oneLine(r), REFUSAL[kind]);
    assert.equal(r.stdout, '');
    assert.equal(fs.existsSync(file), false, 'a refused probe left a capture file');
  });
}

// The tracepoints (auto must choose them where they exist).
const tracepoints = {
  skip: withTraffic.skip ||
    (!hasSocketTracepoints ? `Linux ${os.release()} has no socket tracepoints (>= 6.3); run-vm-tests checks the other probes` : false),
};

for (const probe of ['auto', 'tracepoint'] as ProbeChoice[]) {
  test(`record --probe ${probe} here: the tracepoints, exact bytes per flow`, tracepoints, async (t) => {
    assert.equal(noCompiler, undefined);
    for (const c of probeChecks(probe, 'tracepoint', { traffic, tmp: checkDir, tcptop: [process.execPath, CLI] })) await t.test(c.name, () => c.run());
  });
}
