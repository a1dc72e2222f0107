// The checks run inside the VM (started by its /init, see run-vm-tests). Outside the VM this file
// does nothing: `node --test dist/test/` runs every file under dist/test, this one included.
// In a VM without Node, run-vm-tests builds this file into a single executable (the guest runner)
// that tests tcptop's single executable; it then also runs the node peers (`-e SCRIPT ARGS`).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CLI } from '../helpers/paths';
import { probeChecks, refusalCheck, runChecks, type ProbeChoice } from './checks';
import type { ProbeKind } from '../../src/record/probe';
import { checkLine, doneLine } from './protocol';

const say = (line: string) => fs.writeSync(1, `${line}\n`);

async function main(probes: ProbeChoice[], autoKind: ProbeKind, refused: ProbeKind[], traffic: string, tcptop: string[]): Promise<number> {
  const t0 = Date.now();
  const tmp = fs.mkdtempSync('/tmp/tcptop-vm-');
  say(`guest: linux ${os.release()} ${os.arch()}, node ${process.version}, ${os.cpus().length} cpus, tcptop ${tcptop.map((a) => path.basename(a)).join(' ')}; probes ${probes.join(', ')} (auto must choose ${autoKind})` +
    (refused.length ? `, ${refused.join(', ')} must be refused` : ''));
  const env = { traffic, tmp, tcptop };
  const checks = [...refused.map((k) => refusalCheck(k, env)), ...probes.flatMap((p) => probeChecks(p, p === 'auto' ? autoKind : p, env))];
  const results = await runChecks(checks, (r) => {
    say(`${r.ok ? 'ok' : 'not ok'} - ${r.name} (${r.ms} ms)${r.error ? `\n    ${r.error.replace(/\n/g, '\n    ')}` : ''}`);
    say(checkLine(r));
  });
  const failed = results.filter((r) => !r.ok).length;
  say(doneLine({ kernel: os.release(), passed: results.length - failed, failed, ms: Date.now() - t0 }));
  return failed ? 1 : 0;
}

/** As `node -e SCRIPT ARGS` runs SCRIPT: what the node peers of the checks are, where there is no node. */
function runScript(script: string, args: string[]): void {
  process.argv = [process.execPath, ...args];
  // eslint-disable-next-line @typescript-eslint/no-implied-eval
  new Function('require', script)(require);
}

const probes = process.env.TCPTOP_VM_PROBES;
const scriptAt = process.argv.indexOf('-e');
if (scriptAt > 0 && require('node:sea').isSea()) {
  runScript(process.argv[scriptAt + 1], process.argv.slice(scriptAt + 2));
} else if (probes) {
  main(
    probes.split(',') as ProbeChoice[],
    (process.env.TCPTOP_VM_AUTO ?? 'fentry') as ProbeKind,
    (process.env.TCPTOP_VM_REFUSED ?? '').split(',').filter((k) => k !== '') as ProbeKind[],
    process.env.TCPTOP_VM_TRAFFIC ?? '/usr/local/bin/tcptop-traffic',
    process.env.TCPTOP_VM_TCPTOP ? [process.env.TCPTOP_VM_TCPTOP] : [process.execPath, CLI],
  ).then(
    (code) => process.exit(code),
    (err: unknown) => {
      say(`guest: ${err instanceof Error ? err.stack : String(err)}`);
      process.exit(2);
    },
  );
}
