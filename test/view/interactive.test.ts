// The interactive view's pure parts: keys decoded, the state machine, the screen as lines, the frame diff.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { SAMPLE_HEADER, sampleFlows } from '../../fixtures/generate';
import type { Frame } from '../../src/capture/types';
import { decodeKeys, type Key } from '../../src/view/interactive/keys';
import { render, sparkline, type ScreenData } from '../../src/view/interactive/render';
import { buildRows, filterMatches, type RowFlow } from '../../src/view/interactive/rows';
import { firstAtOrAfter, grown, initialState, reduceKey, tick, type KeyContext, type ViewState } from '../../src/view/interactive/state';
import { diffFrame, LEAVE, Terminal } from '../../src/view/interactive/terminal';
import { tempDir } from '../helpers/tmp';

const zone = { timeZone: 'Europe/Berlin', offsetMinutes: 60 };
const START = SAMPLE_HEADER.startWallUs;
const frame = (i: number): Frame => ({
  seq: i, wallUs: START + i * 1e6, monoUs: 1e9 + i * 1e6, intervalUs: 1e6,
  loadavg: { load1: 0.5, load5: 0.4, load15: 0.3, running: 1, tasks: 100, lastPid: 9000 + i, raw: `0.50 0.40 0.30 1/100 ${9000 + i}` },
  lost: { events: 0, rxBytes: 0, txBytes: 0 },
});
const flowsOf = (i: number): RowFlow[] => sampleFlows(i).map((f, id) => ({ ...f, id }));
const FRAMES = 12;
const wallUs = Array.from({ length: FRAMES }, (_, i) => START + (i + 1) * 1e6);
const monoUs = Array.from({ length: FRAMES }, (_, i) => 1e9 + (i + 1) * 1e6);

function data(s: ViewState, over: Partial<ScreenData> = {}): ScreenData {
  const i = s.pos + 1;
  return {
    host: 'web-1', zone, bin: { first: frame(i), last: frame(i), intervalUs: 1e6 }, rows: buildRows(flowsOf(i), s),
    wallUs, intervalUs: Array(FRAMES).fill(1e6), totals: Array.from({ length: FRAMES }, (_, k) => (k + 1) * 1000),
    recordedUs: 1e6, chart: null, color: false, ...over,
  };
}

function ctx(s: ViewState): KeyContext {
  const i = s.pos + 1;
  return {
    rows: buildRows(flowsOf(i), s), wallUs, monoUs, zone,
    span: { frames: FRAMES, firstSeq: 1, lastSeq: FRAMES, first: frame(1), last: frame(FRAMES) },
  };
}

function press(s: ViewState, ...keys: (Key | string)[]): ViewState {
  for (const k of keys) s = reduceKey(s, typeof k === 'string' && k.length === 1 ? { char: k } : (k as Key), ctx(s));
  return s;
}

const start = (): ViewState => initialState({ live: false, frames: FRAMES, factor: 1, startFrame: 0, sort: 'all' });

test('terminal input decodes to keys; unknown sequences are dropped whole', () => {
  assert.deepEqual(decodeKeys('\x1b[C\x1b[D\x1b[A\x1b[B\x1b[5~\x1b[6~\x1b[H\x1b[F\x1b[1~\x1b[4~'),
    ['right', 'left', 'up', 'down', 'pageup', 'pagedown', 'home', 'end', 'home', 'end']);
  assert.deepEqual(decodeKeys('j1\r\x1b\x7f\x03'), [{ char: 'j' }, { char: '1' }, 'enter', 'escape', 'backspace', 'ctrl-c']);
  assert.deepEqual(decodeKeys('\x1b[15~q'), [{ char: 'q' }]);
  assert.deepEqual(decodeKeys('\x1bOC'), ['right']);
});

test('stepping, paging, Home and End stay within the capture', () => {
  let s = start();
  assert.equal(s.pos, 0);
  assert.equal(s.playing, false);
  assert.equal(press(s, 'left').pos, 0);
  assert.equal(press(s, 'right', 't', 't', 'T').pos, 2);
  assert.equal(press(s, 'pagedown').pos, 10);
  assert.equal(press(s, 'pagedown', 'pagedown').pos, 11);
  assert.equal(press(s, 'end').pos, 11);
  assert.equal(press(s, 'end', 'pageup').pos, 1);
  s = press(s, 'end', 'home');
  assert.equal(s.pos, 0);
});

test('re-binning keeps the interval holding the first frame shown, and stays within 1 .. all frames', () => {
  let s = press(start(), 'right', 'right', 'right', 'right', 'right'); // frame 6 (index 5)
  s = press(s, '+');
  assert.deepEqual([s.factor, s.pos], [2, 2]); // frames 5-6
  s = press(s, '+');
  assert.deepEqual([s.factor, s.pos], [3, 1]); // frames 4-6
  s = press(s, '-', '-', '-', '-');
  assert.deepEqual([s.factor, s.pos], [1, 5], 'back where it was');
  s = press(start(), ...Array(20).fill('+'));
  assert.deepEqual([s.factor, s.pos], [12, 0]);
});

test('jumping takes the forms --from takes; a time it cannot read is one line, and the view stays', () => {
  const jump = (text: string): ViewState => press(start(), 'j', ...text, 'enter');
  assert.equal(jump('15:00:05').pos, 4);
  assert.equal(jump('+3s').pos, 2);
  assert.equal(jump('-2s').pos, 9);
  assert.equal(jump('2026-11-20T14:00:09Z').pos, 8);
  assert.equal(jump('23:00').pos, 11, 'after the capture: its last interval');
  const bad = jump('noon');
  assert.equal(bad.pos, 0);
  assert.equal(bad.message, "jump: cannot read 'noon': type 14:02, +5m, -10m or an ISO time");
  assert.equal(press(start(), 'b', '1', 'escape').prompt, null);
  assert.equal(press(start(), 'j', '1', '2', 'backspace').prompt?.text, '1');
  assert.equal(firstAtOrAfter([1, 3, 5], 3), 1);
  assert.equal(firstAtOrAfter([1, 3, 5], 6), null);
});

test('sort, grouping and family cycle; filter is typed and cleared by an empty one', () => {
  let s = start();
  assert.deepEqual([press(s, 's').sort, press(s, 's', 's').sort, press(s, 's', 's', 's').sort], ['received', 'sent', 'all']);
  assert.deepEqual(['g', 'gg', 'ggg', 'gggg', 'ggggg'].map((g) => press(s, ...g).grouping), ['host', 'comm', 'pid', 'port', 'flows']);
  assert.equal(press(s, '4').family, 4);
  assert.equal(press(s, '4', '4').family, undefined);
  assert.equal(press(s, '4', '6').family, 6);
  s = press(s, '/', 'n', 'g', 'i', 'n', 'x', 'enter');
  assert.equal(s.filter, 'nginx');
  assert.equal(press(s, '/', 'enter').filter, '');
});

test('the row cursor stays on the rows; Enter charts the row under it, Esc goes back', () => {
  let s = press(start(), 'down', 'down', 'down', 'down', 'down', 'down', 'down', 'down', 'down', 'down', 'down');
  assert.equal(s.cursor, 6, 'frame 1 has 7 rows');
  s = press(s, 'up', 'enter');
  assert.equal(s.screen, 'chart');
  assert.equal(s.chart?.label, '3301 iperf3 ::1:46000 ::1:5201');
  assert.equal(press(s, 'escape').screen, 'rows');
  s = press(start(), 'g', 'enter');
  assert.deepEqual(s.chart, { grouping: 'host', value: '::1', label: 'host ::1' });
});

test('q, Ctrl-C quit; in the help any key goes back', () => {
  assert.equal(press(start(), 'q').quit, true);
  assert.equal(press(start(), 'ctrl-c').quit, true);
  assert.equal(press(start(), '/', 'q').quit, false, 'q is text in a prompt');
  assert.equal(press(start(), '?').screen, 'help');
  assert.equal(press(start(), '?', 'x').screen, 'rows');
});

test('space plays to the last interval and stops; from the last it starts again', () => {
  let s = press(start(), ' ');
  assert.equal(s.playing, true);
  for (let i = 0; i < 20; i++) s = tick(s);
  assert.deepEqual([s.pos, s.playing], [11, false]);
  s = press(s, ' ');
  assert.deepEqual([s.pos, s.playing], [0, true]);
  assert.equal(press(s, ' ').playing, false);
});

test('live: follows the newest interval; space or a step back stops it, End or space returns to now', () => {
  let s = initialState({ live: true, frames: 3, factor: 1, startFrame: 0, sort: 'all' });
  assert.deepEqual([s.pos, s.follow], [2, true]);
  s = grown(s, 5);
  assert.equal(s.pos, 4);
  s = press(s, 'left');
  assert.deepEqual([s.pos, s.follow], [3, false]);
  s = grown(s, 8);
  assert.equal(s.pos, 3, 'a paused view stays where it was while counting goes on');
  s = press(s, 'end');
  assert.deepEqual([s.pos, s.follow], [7, true]);
  s = press(s, ' ');
  assert.equal(s.follow, false);
  s = grown(s, 9);
  assert.equal(s.pos, 7);
  s = press(s, ' ');
  assert.deepEqual([s.pos, s.follow], [8, true]);
});

test('the screen: header, overview with its marker, the classic columns and the keys, in 80×24', () => {
  const s = press(start(), 'right', 'right');
  assert.deepEqual(render(s, data(s), { width: 80, height: 24 }), [
    'web-1  Europe/Berlin (+01:00)  loadavg: 0.50 0.40 0.30 1/100 9003',
    'replay: paused  15:00:02 to 15:00:03 (1 s)  frame 3 of 12',
    'sort: total  rows: flows',
    '▁▁▁▁▁▁▁▂▂▂▂▂▂▂▂▂▂▂▂▂▃▃▃▃▃▃▃▄▄▄▄▄▄▄▄▄▄▄▄▄▅▅▅▅▅▅▅▆▆▆▆▆▆▆▆▆▆▆▆▆▇▇▇▇▇▇▇█████████████',
    '15:00:00      ^^^^^^                                                    15:00:12',
    'PID     COMM         LADDR                 RADDR                  RX_KB  TX_KB',
    '\x1b[7m3302    iperf3       127.0.0.1:46010       127.0.0.1:5201             0   2929  \x1b[0m',
    '2200    python3      127.0.0.1:8080        127.0.0.1:39012            0   1024',
    '2210    curl         127.0.0.1:39012       127.0.0.1:8080          1024      0',
    '1201    nginx        10.0.0.5:443          203.0.113.7:51234          2    158',
    '1201    nginx        10.0.0.5:443          198.51.100.23:40112        0     58',
    '7001    node         127.0.0.2:7000        127.0.0.3:41000            0      1',
    '',
    'PID     COMM         LADDR6                RADDR6                 RX_KB  TX_KB',
    '3300    iperf3       ::1:5201              ::1:46000               5120      0',
    '3301    iperf3       ::1:46000             ::1:5201                   0   5120',
    '3300    iperf3       ::ffff:127.0.0.1:5201 …ffff:127.0.0.1:46010   2929      0',
    '4400    postgres     2001:db8::10:5432     2001:db8::20:33000        24     19',
    '', '', '', '', '',
    'space play/pause  ←→ step  j jump  / filter  s sort  g group  ? keys  q quit',
  ]);
});

test('only the rows that fit are shown, and the cursor row is always among them', () => {
  let s = start();
  const small = (st: ViewState): string[] => render(st, data(st), { width: 80, height: 10 });
  assert.equal(small(s).length, 10);
  assert.deepEqual(small(s).slice(5, 9).map((l) => l.slice(0, 12)), ['PID     COMM', '\x1b[7m1201    ', '1201    ngin', '7001    node']);
  s = press(s, 'down', 'down', 'down', 'down', 'down', 'down');
  const lines = small(s);
  assert.match(lines[8], /^\x1b\[7m4400    postgres/);
});

test('the screen with groups, filter, family and re-binning says so in its header', () => {
  const s = press(start(), 'g', 'g', '4', '+', '/', ...'nginx', 'enter');
  const lines = render(s, data(s), { width: 80, height: 24 });
  assert.equal(lines[2], 'sort: total  rows: by comm  filter: nginx  IPv4 only  2 frames per interval');
  assert.equal(lines[1], 'replay: paused  15:00:00 to 15:00:01 (2 s)  frame 1 of 6');
  assert.equal(lines[5], 'COMM                                     FLOWS  RX_KB  TX_KB');
  // (the data here is frame 1's alone)
  assert.equal(lines[6], `\x1b[7m${`${'nginx'.padEnd(39)}      2      2    209`.padEnd(80)}\x1b[0m`);
  const none = press(s, '/', ...'curl', 'enter');
  assert.equal(render(none, data(none), { width: 80, height: 24 })[5], 'no flows match in this interval');
});

test('names from the capture reach the screen escaped, never as control sequences', () => {
  const s = start();
  const evil = { ...flowsOf(1)[0], comm: '\x1b[2Jevil\x07', raddr: '10.0.0.9\x1b]0;x\x07' };
  const lines = render(s, data(s, { host: 'web\x1b[31m-1', rows: buildRows([evil], s) }), { width: 80, height: 24 });
  const text = lines.join('\n').replace(/\x1b\[7m|\x1b\[0m/g, '');
  assert.doesNotMatch(text, /\x1b|\x07/);
  assert.match(text, /web\\x1b\[31m-1/);
  assert.match(text, /\\x1b\[2Jevil\\/);
});

test('--names and --wide: RADDR by the name from the capture, a UNIT column; long text cut with a mark, every column in place', () => {
  const s = press(start(), 'right', 'right');
  const named: Record<string, { name: string; cgroupPath: string }> = {
    '203.0.113.7': { name: 'edge.example', cgroupPath: '/system.slice/nginx.service' },
    '198.51.100.23': { name: 'a-very-long-name-of-a-database-host.corp.example', cgroupPath: '/system.slice/nginx.service' },
    '2001:db8::20': { name: 'evil\x1b[2J.example', cgroupPath: '/system.slice/a-unit-name-longer-than-the-column.service' },
  };
  const flows = flowsOf(3).map((f) => ({ ...f, ...named[f.raddr] }));
  const screen = (over: Partial<ScreenData>) => render(s, data(s, { rows: buildRows(flows, s), ...over }), { width: 120, height: 24 })
    .slice(5, 18).map((l) => l.replace(/\x1b\[7m|\x1b\[0m/g, '').trimEnd());
  assert.deepEqual(screen({ names: true, wide: true }), [
    'PID     COMM         UNIT                     LADDR                 RADDR                  RX_KB  TX_KB',
    '3302    iperf3       -                        127.0.0.1:46010       127.0.0.1:5201             0   2929',
    '2200    python3      -                        127.0.0.1:8080        127.0.0.1:39012            0   1024',
    '2210    curl         -                        127.0.0.1:39012       127.0.0.1:8080          1024      0',
    '1201    nginx        nginx.service            10.0.0.5:443          edge.example:51234         2    158',
    '1201    nginx        nginx.service            10.0.0.5:443          a-very-long-na…:40112      0     58',
    '7001    node         -                        127.0.0.2:7000        127.0.0.3:41000            0      1',
    '',
    'PID     COMM         UNIT                     LADDR6                       RADDR6                        RX_KB  TX_KB',
    '3300    iperf3       -                        ::1:5201                     ::1:46000                      5120      0',
    '3301    iperf3       -                        ::1:46000                    ::1:5201                          0   5120',
    '3300    iperf3       -                        ::ffff:127.0.0.1:5201        ::ffff:127.0.0.1:46010         2929      0',
    '4400    postgres     a-unit-name-longer-than… 2001:db8::10:5432            evil\\x1b[2J.example:33000        24     19',
  ]);
  // the names alone; without either, the classic columns, names and cgroups in the rows or not
  assert.equal(screen({ names: true })[4], '1201    nginx        10.0.0.5:443          edge.example:51234         2    158');
  assert.equal(screen({ wide: true })[4], '1201    nginx        nginx.service            10.0.0.5:443          203.0.113.7:51234          2    158');
  assert.deepEqual(screen({}), render(s, data(s), { width: 120, height: 24 }).slice(5, 18).map((l) => l.replace(/\x1b\[7m|\x1b\[0m/g, '').trimEnd()));
});

test('colour only when asked; the cursor is inverse video either way', () => {
  const s = start();
  const plain = render(s, data(s), { width: 80, height: 24 }).join('\n');
  const colour = render(s, data(s, { color: true }), { width: 80, height: 24 }).join('\n');
  assert.doesNotMatch(plain, /\x1b\[3\dm/);
  assert.match(colour, /\x1b\[3\dm/);
  assert.match(plain, /\x1b\[7m/);
});

test('every line fits the width, at any size', () => {
  for (const [w, h] of [[80, 24], [40, 12], [200, 60], [20, 5]]) {
    for (const screen of ['rows', 'help', 'chart'] as const) {
      let s = start();
      if (screen === 'help') s = press(s, '?');
      if (screen === 'chart') s = press(s, 'enter');
      for (const cols of [{}, { names: true, wide: true }]) {
        const d = data(s, { chart: screen === 'chart' ? { rx: Array(FRAMES).fill(1000), tx: Array(FRAMES).fill(0) } : null, ...cols });
        const lines = render(s, d, { width: w, height: h });
        assert.equal(lines.length, h);
        for (const l of lines) assert.ok(l.replace(/\x1b\[[0-9;]*m/g, '').length <= w, `${w}x${h} ${screen} ${JSON.stringify(cols)}: ${l}`);
      }
    }
  }
});

test('the overview: one bar per column, scaled to the busiest; nothing is a space', () => {
  assert.equal(sparkline([0, 1, 2, 4, 8], 5), ' ▁▂▄█');
  assert.equal(sparkline([8, 0], 4), '██  ');
  assert.equal(sparkline([], 4), '');
});

test('a frame rewrites only the lines that changed, in one synchronized write', () => {
  assert.equal(diffFrame(['a', 'b', 'c'], ['a', 'b', 'c'], 80), '');
  assert.equal(diffFrame(['a', 'b', 'c'], ['a', 'x', 'c'], 80), '\x1b[?2026h\x1b[2;1Hx\x1b[K\x1b[?2026l');
  // A line as wide as the screen is not followed by an erase, which at the last column would erase its last cell.
  assert.equal(diffFrame([], ['abcd'], 4), '\x1b[?2026h\x1b[1;1Habcd\x1b[?2026l');
  assert.equal(diffFrame([], ['\x1b[7mab\x1b[0m'], 4), '\x1b[?2026h\x1b[1;1H\x1b[7mab\x1b[0m\x1b[K\x1b[?2026l');
});

test('a filter names a pid or port (a number), a comm or a host; pid:, port:, comm:, host: name only that', () => {
  const f = { id: 1, pid: 443, comm: 'nginx', family: 4 as const, laddr: '10.0.0.5', lport: 8443, raddr: '::ffff:203.0.113.7', rport: 443 };
  for (const [text, yes] of [['443', true], ['8443', true], ['nginx', true], ['203.0.113.7', true], ['::ffff:203.0.113.7', true],
    ['10.0.0.5', true], ['pid:443', true], ['pid:8443', false], ['port:8443', true], ['port:1', false], ['comm:nginx', true],
    ['comm:443', false], ['host:203.0.113.7', true], ['host:nginx', false], ['ngin', false], ['', true]] as const) {
    assert.equal(filterMatches(f, text), yes, text);
  }
});

test('the keys fit an 80×24 screen, live too', () => {
  for (const live of [false, true]) {
    const s = press(initialState({ live, frames: FRAMES, factor: 1, startFrame: 0, sort: 'all' }), '?');
    const lines = render(s, data(s), { width: 80, height: 24 });
    assert.equal(lines[5], 'keys');
    assert.equal(lines[20].trim().split(/\s{2,}/)[0], 'q');
    assert.equal(lines[21], live ? '  live: space, \u2190, j look back while counting goes on; space or End: now again' : '');
    assert.equal(lines[23], 'any key back  q quit');
  }
});

test('the terminal draws nothing once it is given back: a frame that comes late cannot cover the shell', (t) => {
  const file = path.join(tempDir(t), 'tty.out');
  const fd = fs.openSync(file, 'w');
  t.after(() => fs.closeSync(fd));
  const output = { fd, columns: 40, rows: 5, on() {}, off() {} } as unknown as NodeJS.WriteStream;
  const input = { setRawMode() {}, setEncoding() {}, on() {}, off() {}, resume() {}, pause() {} } as unknown as NodeJS.ReadStream;
  const term = new Terminal(input, output);
  term.enter({ onKeys() {}, onResize() {} });
  term.draw(['the view']);
  term.leave();
  term.draw(['a late frame']);
  const out = fs.readFileSync(file, 'utf8');
  assert.ok(out.includes('the view'));
  assert.ok(out.endsWith(LEAVE), JSON.stringify(out.slice(-40)));
  assert.ok(!out.includes('a late frame'));
});
