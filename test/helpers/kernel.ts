// When the kernel tests can run: as root on Linux with BTF and the addon built. Elsewhere they skip and say
// why; with CI=true they never skip, so a broken probe or build fails CI instead of hiding.
import * as fs from 'node:fs';

function bpfUnavailable(): string | undefined {
  if (process.platform !== 'linux') return 'not linux';
  if (process.getuid?.() !== 0) return 'not root (the probe needs CAP_BPF and CAP_PERFMON)';
  try {
    require('#bpf');
  } catch {
    return 'the bpf addon is not built (npm run install)';
  }
  if (!fs.existsSync('/sys/kernel/btf/vmlinux')) return 'no kernel BTF';
  return undefined;
}

/** Why the kernel tests cannot run here, or undefined when they can. */
export const kernelUnavailable = bpfUnavailable();

/** Test options for a kernel test: skipped with the reason where BPF cannot run, unless CI=true. */
export const kernel = { skip: kernelUnavailable !== undefined && process.env.CI !== 'true' ? kernelUnavailable : false };
