// The full-screen replay with --names and --wide in a real pseudo-terminal: remote hosts by the names the capture
// holds, the UNIT column from each flow's cgroup, long and hostile names escaped and cut so the columns stay in place.
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { test } from 'node:test';
import { SAMPLE_HEADER } from '../../fixtures/generate';
import { frameFlowsOf, type FlowBytes } from '../../src/capture/types';
import { CaptureWriter } from '../../src/capture/writer';
import { tempDir } from '../helpers/tmp';
import { Pane, tmuxSkip } from '../helpers/tmux';

const skip = tmuxSkip();

const PATHS: Record<number, string> = {
  21: '/system.slice/payments-api.service',
  22: '/system.slice/a-unit-name-longer-than-the-column.service',
};

/** Two frames of three flows: two remote hosts named (one name longer than the column, one hostile), one not. */
function capture(file: string): void {
  const w = CaptureWriter.create(file, SAMPLE_HEADER, { cgroupPaths: (ids) => ids.map((id) => PATHS[id]) });
  const row = (lport: number, raddr: string, cgroup: number, kb: number): FlowBytes & { cgroup: number } =>
    ({ pid: 7, comm: 'svc', family: 4, laddr: '10.1.1.1', lport, raddr, rport: 443, cgroup, rxBytes: kb * 1024, txBytes: 1024 });
  const rows = [row(1000, '10.9.8.7', 21, 30), row(1001, '10.9.8.6', 22, 20), row(1002, '10.9.8.5', 0, 10)];
  for (let i = 1; i <= 2; i++) {
    const flows = frameFlowsOf(rows);
    flows.flows.forEach((f, k) => (f.cgroup = rows[k].cgroup));
    w.append({ wallUs: SAMPLE_HEADER.startWallUs + i * 1e6, monoUs: 5e9 + i * 1e6, intervalUs: 1e6,
      loadavg: { load1: 0, load5: 0, load15: 0, running: 1, tasks: 1, lastPid: 1, raw: '0.00 0.00 0.00 1/1 1' }, lost: { events: 0, rxBytes: 0, txBytes: 0 } }, flows);
  }
  w.addNames([
    { addr: '10.9.8.7', name: 'a-very-long-name-of-the-ledger-database.corp.example', lookedUpUs: 1 },
    { addr: '10.9.8.6', name: 'evil\x1b[2J.example', lookedUpUs: 2 },
  ]);
  w.close(true);
}

/** The rows part of the screen: from the column header to the first empty line. */
function table(screen: string): string[] {
  const lines = screen.split('\n');
  const head = lines.findIndex((l) => l.startsWith('PID '));
  const end = lines.findIndex((l, i) => i > head && l.trim() === '');
  return lines.slice(head, end).map((l) => l.trimEnd());
}

test('replay --names --wide on a terminal: names from the capture in RADDR, the UNIT column, every column in place', { skip }, async (t) => {
  const file = path.join(tempDir(t), 'named.db');
  capture(file);
  for (const [flags, want] of [
    [['--names', '--wide'], [
      'PID     COMM         UNIT                     LADDR                 RADDR                  RX_KB  TX_KB',
      '7       svc          payments-api.service     10.1.1.1:1000         a-very-long-name…:443     30      1',
      '7       svc          a-unit-name-longer-than… 10.1.1.1:1001         evil\\x1b[2J.exam…:443     20      1',
      '7       svc          -                        10.1.1.1:1002         10.9.8.5:443              10      1',
    ]],
    // without them, the capture's names and cgroups stay off the screen
    [[], [
      'PID     COMM         LADDR                 RADDR                  RX_KB  TX_KB',
      '7       svc          10.1.1.1:1000         10.9.8.7:443              30      1',
      '7       svc          10.1.1.1:1001         10.9.8.6:443              20      1',
      '7       svc          10.1.1.1:1002         10.9.8.5:443              10      1',
    ]],
  ] as const) {
    const pane = new Pane(['replay', ...flags, file], { width: 110, height: 20 });
    try {
      const screen = await pane.waitFor((s) => s.includes('frame 1 of 2') && table(s).length === 4);
      assert.deepEqual(table(screen), want, flags.join(' '));
      // RX_KB and TX_KB end where their header does on every row, whatever the names' lengths
      const [head, ...rows] = table(screen);
      for (const r of rows) assert.equal(r.length, head.length, r);
      assert.doesNotMatch(screen, /\x1b/);
      pane.send(['q'], true);
      assert.match(await pane.waitFor((s) => s.includes('EXITED')), /EXITED 0/);
    } finally {
      pane.close();
    }
  }
});
