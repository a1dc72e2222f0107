// The checks run inside the VM (started by its /init, see run-vm-tests). Outside the VM this file
// does nothing: `node --test dist/test/` runs every file under dist/test, this one included.
import * as fs from 'node:fs';
import * as os from 'node:os';
import { probeChecks, refusalCheck, runChecks, type ProbeChoice } from './checks';
import type { ProbeKind } from '../../src/record/probe';
import { checkLine, doneLine } from './protocol';

const say = (line: string) => fs.writeSync(1, `${line}\n`);

async function main(probes: ProbeChoice[], autoKind: ProbeKind, refused: ProbeKind[], traffic: string): Promise<number> {
  const t0 = Date.now();
  const tmp = fs.mkdtempSync('/tmp/tcptop-vm-');
  say(`guest: linux ${os.release()}, node ${process.version}, ${os.cpus().length} cpus; probes ${probes.join(', ')} (auto must choose ${autoKind})` +
    (refused.length ? `, ${refused.join(', ')} must be refused` : ''));
  const env = { traffic, tmp };
  const checks = [...refused.map((k) => refusalCheck(k, env)), ...probes.flatMap((p) => probeChecks(p, p === 'auto' ? autoKind : p, env))];
  const results = await runChecks(checks, (r) => {
    say(`${r.ok ? 'ok' : 'not ok'} - ${r.name} (${r.ms} ms)${r.error ? `\n    ${r.error.replace(/\n/g, '\n    ')}` : ''}`);
    say(checkLine(r));
  });
  const failed = results.filter((r) => !r.ok).length;
  say(doneLine({ kernel: os.release(), passed: results.length - failed, failed, ms: Date.now() - t0 }));
  return failed ? 1 : 0;
}

const probes = process.env.TCPTOP_VM_PROBES;
if (probes) {
  main(
    probes.split(',') as ProbeChoice[],
    (process.env.TCPTOP_VM_AUTO ?? 'fentry') as ProbeKind,
    (process.env.TCPTOP_VM_REFUSED ?? '').split(',').filter((k) => k !== '') as ProbeKind[],
    process.env.TCPTOP_VM_TRAFFIC ?? '/usr/local/bin/tcptop-traffic',
  ).then(
    (code) => process.exit(code),
    (err: unknown) => {
      say(`guest: ${err instanceof Error ? err.stack : String(err)}`);
      process.exit(2);
    },
  );
}
