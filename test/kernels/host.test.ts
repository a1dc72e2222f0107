// On this machine's kernel, through `tcptop record`: the probes it cannot run fail with one clear
// line and leave no file, and auto chooses the socket tracepoints, whose bytes are checked exactly
// with the same checks the VM runs for the other probes (checks.ts).
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CaptureReader } from '../../src/capture/reader';
import { oneLine, tcptop } from '../helpers/cli';
import { ROOT } from '../helpers/paths';
import { kernel } from '../helpers/kernel';
import { tempDir } from '../helpers/tmp';
import { probeChecks, type ProbeChoice } from './checks';


const [major, minor] = os.release().split('.').map(Number);
const hasSocketTracepoints = major > 6 || (major === 6 && minor >= 3);

// This project's machines refuse fentry even to root and are built without kprobes (KERNEL.md);
// elsewhere the step that failed must still be named, with a remedy.
const KNOWN_REFUSAL: Record<'fentry' | 'kprobe', RegExp> = {
  fentry: /^tcptop: load fentry programs: operation not permitted \(this kernel refuses fentry programs even to root; use --probe auto\)$/,
  kprobe: /^tcptop: attach kprobe\/tcp_sendmsg: no such file or directory \(this kernel has no kprobes, or cannot probe that function; use --probe auto\)$/,
};
const ANY_REFUSAL = /^tcptop: (load|attach|find|create) [^:()]+: [a-z][^()]* \([^()]+\)$/;

for (const kind of ['fentry', 'kprobe'] as const) {
  test(`record --probe ${kind} here: attaches it, or fails in one line naming the step and leaves no file`, kernel, (t) => {
    const file = path.join(tempDir(t), 'capture.db');
    const r = tcptop(['record', '-o', file, '-c', '1', '-i', '0.2', '--probe', kind]);
    if (r.status === 0) {
      t.diagnostic(`this kernel runs ${kind}: its exact bytes are checked by run-vm-tests`);
      const reader = CaptureReader.open(file);
      try {
        assert.equal(reader.meta.probe, kind);
      } finally {
        reader.close();
      }
      return;
    }
    assert.equal(r.status, 1, r.stderr);
    const line = oneLine(r);
    assert.ok(KNOWN_REFUSAL[kind].test(line) || ANY_REFUSAL.test(line), line);
    assert.equal(r.stdout, '');
    assert.equal(fs.existsSync(file), false, 'a refused probe left a capture file');
  });
}

// The same checks as in the VM, here for the tracepoints (auto must choose them).
const checkDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tcptop-host-kernel-'));
process.on('exit', () => fs.rmSync(checkDir, { recursive: true, force: true }));
const traffic = path.join(checkDir, 'tcptop-traffic');
const built = kernel.skip
  ? undefined
  : spawnSync('cc', ['-O2', '-static', '-pthread', '-o', traffic, path.join(ROOT, 'test/kernels/traffic.c')], { encoding: 'utf8' });
const noCompiler = built && built.status !== 0 ? `cannot build traffic.c: ${built.error?.message ?? built.stderr.trim()}` : undefined;
const tracepoints = {
  skip:
    kernel.skip ||
    (!hasSocketTracepoints ? `Linux ${os.release()} has no socket tracepoints (>= 6.3); run-vm-tests checks the other probes` : false) ||
    (noCompiler && process.env.CI !== 'true' ? noCompiler : false),
};

for (const probe of ['auto', 'tracepoint'] as ProbeChoice[]) {
  test(`record --probe ${probe} here: the tracepoints, exact bytes per flow`, tracepoints, async (t) => {
    assert.equal(noCompiler, undefined);
    for (const c of probeChecks(probe, 'tracepoint', { traffic, tmp: checkDir })) await t.test(c.name, () => c.run());
  });
}
