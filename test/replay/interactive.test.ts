// The interactive replay view in a real pseudo-terminal: every key, against golden screens of the sample
// capture (80×24, times in its recorder's zone); resizing; colour; and the terminal restored on every way out.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { after, before, describe, test } from 'node:test';
import { GOLDEN, ROOT, SAMPLE } from '../helpers/paths';
import { Pane, tmuxSkip } from '../helpers/tmux';

const skip = tmuxSkip();
const rel = path.relative(ROOT, SAMPLE);
const SCREENS = path.join(GOLDEN, 'interactive');
const update = process.env.UPDATE_GOLDEN === '1';

/** Waits for the golden screen `name`; UPDATE_GOLDEN=1 instead waits for the screen to change and settle, and saves it. */
async function expectScreen(pane: Pane, name: string, previous: string): Promise<string> {
  const file = path.join(SCREENS, `${name}.txt`);
  if (update) {
    let last = await pane.waitFor((s) => s !== previous && s.includes('web-1'));
    for (;;) {
      await new Promise((r) => setTimeout(r, 300));
      const now = pane.screen();
      if (now === last) break;
      last = now;
    }
    fs.mkdirSync(SCREENS, { recursive: true });
    fs.writeFileSync(file, last);
    return last;
  }
  const want = fs.readFileSync(file, 'utf8');
  try {
    return await pane.waitFor(want);
  } catch (err) {
    assert.equal((err as { actual: string }).actual, want, `screen ${name}`);
    throw err;
  }
}

/** Each step: the keys sent, then the golden screen they must lead to. */
const STEPS: [string, string[], boolean?][] = [
  ['right', ['Right']],
  ['t', ['t'], true],
  ['left', ['Left']],
  ['T', ['T'], true],
  ['pgdn', ['NPage']],
  ['pgup', ['PPage']],
  ['end', ['End']],
  ['home', ['Home']],
  ['jump-prompt', ['j'], true],
  ['jump-typed', ['15:00:05'], true],
  ['jump-clock', ['Enter']],
  ['jump-offset-start', ['b+3s'], true],
  ['jump-offset-start-enter', ['Enter']],
  ['jump-offset-end', ['j-2s'], true],
  ['jump-offset-end-enter', ['Enter']],
  ['jump-iso', ['j2026-11-20T14:00:09Z'], true],
  ['jump-iso-enter', ['Enter']],
  ['jump-bad', ['jnoon'], true],
  ['jump-bad-enter', ['Enter']],
  ['home-again', ['Home']],
  ['rebin-2', ['+'], true],
  ['rebin-3', ['+'], true],
  ['rebin-3-right', ['Right']],
  ['rebin-2-back', ['-'], true],
  ['rebin-1-back', ['-'], true],
  ['sort-received', ['s'], true],
  ['sort-sent', ['s'], true],
  ['sort-total', ['s'], true],
  ['group-host', ['g'], true],
  ['group-comm', ['g'], true],
  ['group-pid', ['g'], true],
  ['group-port', ['g'], true],
  ['group-flows', ['g'], true],
  ['filter-prompt', ['/'], true],
  ['filter-typed', ['3300'], true],
  ['filter-pid', ['Enter']],
  ['filter-comm', ['/nginx'], true],
  ['filter-comm-enter', ['Enter']],
  ['filter-host', ['/127.0.0.1'], true],
  ['filter-host-enter', ['Enter']],
  ['filter-cleared', ['/'], true],
  ['filter-cleared-enter', ['Enter']],
  ['ipv4', ['4'], true],
  ['ipv4-off', ['4'], true],
  ['ipv6', ['6'], true],
  ['ipv6-off', ['6'], true],
  ['chart-first-row', ['Enter']],
  ['chart-back', ['Escape']],
  ['chart-third-row', ['Down', 'Down', 'Enter']],
  ['chart-third-back', ['Escape']],
  ['chart-second-row', ['Up', 'Enter']],
  ['chart-second-back', ['Escape']],
  ['help', ['?'], true],
  ['help-back', ['x'], true],
];

describe('tcptop replay on a terminal', { skip }, () => {
  let pane: Pane;
  let tmp: string;
  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tcptop-interactive-'));
  });
  after(() => {
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  test('every key leads to its screen, and q gives the terminal back', async () => {
    pane = new Pane(['replay', rel]);
    try {
      let screen = await expectScreen(pane, 'start', '');
      for (const [name, keys, literal] of STEPS) {
        pane.send(keys, literal);
        screen = await expectScreen(pane, name, screen);
      }
      const raw = path.join(tmp, 'q.raw');
      pane.pipeTo(raw);
      pane.send(['q'], true);
      const after = await pane.waitFor((s) => s.includes('EXITED'));
      assert.match(after, /EXITED 0/);
      assert.doesNotMatch(after, /frame \d+ of/, 'the normal screen is back');
      restored(raw);
    } finally {
      pane.close();
    }
  });

  test('the cursor row is shown in inverse video and moves with the arrows', async () => {
    pane = new Pane(['replay', rel]);
    try {
      const inverseRow = (s: string): string | undefined => s.split('\n').find((l) => l.includes('\x1b[7m'));
      let s = await pane.waitFor((x) => inverseRow(x) !== undefined, 10_000, true);
      assert.match(inverseRow(s)!, /203\.0\.113\.7:51234/);
      pane.send(['Down']);
      s = await pane.waitFor((x) => /198\.51\.100\.23/.test(inverseRow(x) ?? ''), 10_000, true);
      pane.send(['Down', 'Down', 'Down']);
      // Past the IPv4 section into the IPv6 one.
      s = await pane.waitFor((x) => /::1:5201 +::1:46000/.test(inverseRow(x) ?? ''), 10_000, true);
      pane.send(['Up']);
      await pane.waitFor((x) => /127\.0\.0\.53:53/.test(inverseRow(x) ?? ''), 10_000, true);
    } finally {
      pane.close();
    }
  });

  test('space plays to the last interval and stops there; space again pauses', async () => {
    pane = new Pane(['replay', '--speed', '50', rel]);
    try {
      await pane.waitFor((s) => s.includes('replay: paused  15:00:00 to 15:00:01 (1 s)  frame 1 of 12'));
      pane.send([' '], true);
      await expectScreen(pane, 'played-to-end', '');
    } finally {
      pane.close();
    }
    pane = new Pane(['replay', '--speed', '0.001', rel]);
    try {
      await pane.waitFor((s) => s.includes('replay: paused  15:00:00 to 15:00:01 (1 s)  frame 1 of 12'));
      pane.send([' '], true);
      await pane.waitFor((s) => s.includes('replay: playing  15:00:00 to 15:00:01 (1 s)  frame 1 of 12'));
      pane.send([' '], true);
      await pane.waitFor((s) => s.includes('replay: paused  15:00:00 to 15:00:01 (1 s)  frame 1 of 12'));
    } finally {
      pane.close();
    }
  });

  test('a resized terminal is redrawn to its new size; the IPv6 columns widen', async () => {
    pane = new Pane(['replay', rel]);
    try {
      const first = await expectScreen(pane, 'start', '');
      pane.resize(110, 30);
      const wide = await expectScreen(pane, 'resized-110x30', first);
      pane.resize(80, 24);
      await expectScreen(pane, 'start', wide);
    } finally {
      pane.close();
    }
  });

  test('--from, an interval and -4 apply as in the classic replay', async () => {
    pane = new Pane(['replay', '--from', '15:00:06', '-4', rel, '2']);
    try {
      await expectScreen(pane, 'from-interval-ipv4', '');
    } finally {
      pane.close();
    }
  });

  test('-p PID starts with that process only, named as an exact pid filter', async () => {
    pane = new Pane(['replay', '-p', '3300', rel]);
    try {
      const s = await pane.waitFor((x) => x.includes('sort: total  rows: flows  filter: pid:3300'));
      const rows = s.split('\n').filter((l) => /^\d+ /.test(l));
      assert.deepEqual(rows.map((l) => l.split(/\s+/)[0]), ['3300']);
    } finally {
      pane.close();
    }
  });

  test('colour only without NO_COLOR', async () => {
    const colour = /\x1b\[(?:3[0-8]|9[0-7])[m;]/;
    pane = new Pane(['replay', rel], { env: { NO_COLOR: '' } });
    try {
      await pane.waitFor((s) => s.includes('frame 1 of 12') && colour.test(s), 10_000, true);
    } finally {
      pane.close();
    }
    pane = new Pane(['replay', rel]);
    try {
      const s = await pane.waitFor((x) => x.includes('frame 1 of 12'), 10_000, true);
      assert.doesNotMatch(s, colour);
    } finally {
      pane.close();
    }
  });

  test('Ctrl-C quits and gives the terminal back', async () => {
    pane = new Pane(['replay', rel]);
    try {
      await pane.waitFor((s) => s.includes('frame 1 of 12'));
      const raw = path.join(tmp, 'ctrl-c.raw');
      pane.pipeTo(raw);
      pane.send(['C-c']);
      const s = await pane.waitFor((x) => x.includes('EXITED'));
      assert.match(s, /EXITED 0/);
      restored(raw);
    } finally {
      pane.close();
    }
  });

  test('-f: the view follows a capture as it is recorded; paused, it stays while frames come; End returns to the newest', async () => {
    const file = path.join(tmp, 'growing.db');
    const writer = spawn(process.execPath, [path.join(__dirname, '../helpers/slow-writer.js'), file, '200'], { stdio: ['pipe', 'pipe', 'inherit'] });
    let said = '';
    writer.stdout.on('data', (d) => (said += d));
    const step = async (n: number): Promise<void> => {
      const want = said.split('\n').filter((l) => l.startsWith('frame ')).length + n;
      writer.stdin.write('\n'.repeat(n));
      for (const t0 = Date.now(); !said.includes(`frame ${want}\n`); await new Promise((r) => setTimeout(r, 10))) {
        if (Date.now() - t0 > 10_000) throw new Error(`the writer said ${said}`);
      }
    };
    const header = (mode: string, n: number, of: number) => (x: string): boolean =>
      new RegExp(`^${mode}  \\S+ to \\S+ \\(0\\.2 s\\)  frame ${n} of ${of}$`, 'm').test(x);
    try {
      await step(3);
      pane = new Pane(['replay', '-f', file]);
      try {
        await pane.waitFor(header('live', 3, 3));
        await step(2);
        await pane.waitFor(header('live', 5, 5));
        pane.send([' '], true);
        await pane.waitFor(header('live: paused', 5, 5));
        await step(1);
        await pane.waitFor(header('live: paused', 5, 6));
        pane.send(['Left']);
        await pane.waitFor(header('live: paused', 4, 6));
        pane.send(['End']);
        await pane.waitFor(header('live', 6, 6));
        // The chart of the first row (3302 iperf3, 3,000,037 bytes in each of frames 2 on) grows with the capture.
        pane.send(['Enter']);
        await pane.waitFor((x) => /── 3302 iperf3 127\.0\.0\.1:46010 127\.0\.0\.1:5201/.test(x) && x.includes('total 14.3 MiB'));
        await step(1);
        await pane.waitFor((x) => header('live', 7, 7)(x) && x.includes('total 17.2 MiB'));
        pane.send(['q'], true);
        await pane.waitFor((x) => x.includes('EXITED 0'));
      } finally {
        pane.close();
      }
    } finally {
      writer.stdin.end();
      await once(writer, 'exit');
    }
  });

  test('SIGTERM leaves the alternate screen and shows the cursor', async () => {
    pane = new Pane(['replay', rel]);
    try {
      await pane.waitFor((s) => s.includes('frame 1 of 12'));
      const raw = path.join(tmp, 'term.raw');
      pane.pipeTo(raw);
      process.kill(pane.pid(), 'SIGTERM');
      await pane.waitFor((s) => s.includes('EXITED'));
      restored(raw);
    } finally {
      pane.close();
    }
  });

  test('a capture that goes bad under the view: the terminal is restored and one line says why', async () => {
    const file = path.join(tmp, 'doomed.db');
    fs.copyFileSync(SAMPLE, file);
    pane = new Pane(['replay', file]);
    try {
      await pane.waitFor((s) => s.includes('frame 1 of 12'));
      const raw = path.join(tmp, 'crash.raw');
      pane.pipeTo(raw);
      fs.writeFileSync(file, Buffer.alloc(fs.statSync(file).size, 0x55));
      pane.send(['End']);
      const s = await pane.waitFor((x) => x.includes('EXITED'));
      assert.match(s.replace(/\n/g, ''), /tcptop: \S*doomed\.db: damaged capture: .*EXITED 2/);
      assert.doesNotMatch(s, /\n\s+at /, 'no stack trace');
      restored(raw);
    } finally {
      pane.close();
    }
  });

  test('-C, --no-interactive: the classic output on a terminal too', async () => {
    pane = new Pane(['replay', '--no-interactive', '--speed', '1000', rel, '1', '1']);
    try {
      const s = await pane.waitFor((x) => x.includes('EXITED'));
      assert.match(s, /^15:00:01 loadavg: /m);
    } finally {
      pane.close();
    }
    pane = new Pane(['replay', '-C', '--speed', '1000', rel, '1', '1']);
    try {
      const s = await pane.waitFor((x) => x.includes('EXITED'));
      assert.match(s, /^15:00:01 loadavg: /m);
    } finally {
      pane.close();
    }
  });
});

/** The raw output ends the view as a terminal needs: the alternate screen left, the cursor shown, after the last frame. */
function restored(raw: string): void {
  const out = fs.readFileSync(raw, 'latin1');
  const leave = out.lastIndexOf('\x1b[?1049l');
  assert.ok(leave >= 0, `the alternate screen is left: ${JSON.stringify(out.slice(-200))}`);
  assert.ok(out.lastIndexOf('\x1b[?25h') >= 0 && out.lastIndexOf('\x1b[?25h') < leave + 10, 'the cursor is shown');
  assert.ok(out.lastIndexOf('\x1b[?2026h') < leave, 'no frame after leaving');
  assert.ok(out.lastIndexOf('\x1b[?25l') < out.lastIndexOf('\x1b[?25h'), 'not hidden again');
}
