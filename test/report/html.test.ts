// `report --format html` without a browser: the embedded data against `report --json`, escaping, the limits,
// refusals, and an anonymized export's page. test/report/html-browser.test.ts opens the pages.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { generateBenchCapture } from '../../bench/report';
import { SAMPLE_HEADER, sampleFlows } from '../../fixtures/generate';
import { CaptureReader } from '../../src/capture/reader';
import { addressTexts, containsText, findAddressText } from '../../src/export/leaks';
import { MAX_ROWS, type PageData } from '../../src/report/html/data';
import { escapeHtml, htmlPage, scriptJson } from '../../src/report/html/page';
import { BAD_FILES } from '../helpers/bad-captures';
import { oneLine, tcptop } from '../helpers/cli';
import { hostileCapture, HOSTILE } from '../helpers/html';
import { CLI, SAMPLE } from '../helpers/paths';
import { tempDir } from '../helpers/tmp';

/** The data a page embeds, read back as the page's script reads it. */
function embedded(html: string): PageData {
  const m = /<script type="application\/json" id="report-data">([^<]*)<\/script>/.exec(html);
  assert.ok(m, 'the page embeds its data');
  return JSON.parse(m[1]) as PageData;
}

function html(args: string[], dir: string): { file: string; text: string; data: PageData } {
  const file = path.join(dir, `r${Math.random().toString(36).slice(2)}.html`);
  const r = tcptop(['report', '--format', 'html', '-o', file, ...args]);
  assert.equal(r.stderr, '');
  assert.equal(r.status, 0);
  assert.equal(r.stdout, '');
  const text = fs.readFileSync(file, 'utf8');
  return { file, text, data: embedded(text) };
}

function json(args: string[]): { rows: Record<string, unknown>[] } & Record<string, unknown> {
  const r = tcptop(['report', '--json', ...args]);
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout);
}

const iso = (ms: number) => new Date(ms).toISOString();

for (const args of [
  [SAMPLE],
  ['--by', 'comm', '--window', '2s', '--top', '3', SAMPLE],
  ['--by', 'flow', '--from', '+2s', '--to', '-3s', '--sort', 'rx', SAMPLE],
  ['--by', 'port', '--by', 'pid', '--sort', 'peak', '--utc', SAMPLE],
]) {
  test(`the page's rows and totals are those of report --json ${args.slice(0, -1).join(' ')}`, (t) => {
    const { data } = html(args, tempDir(t));
    const j = json(args);
    assert.equal(data.rows.length, j.rows.length);
    data.rows.forEach((r, i) => {
      const want = j.rows[i];
      const key: Record<string, unknown> = {};
      data.columns.forEach((c, ci) => (key[c.name] = r[2] < 0 ? null : data.groups[r[2]].key[ci]));
      assert.deepEqual({
        start: iso(r[0]), end: iso(r[1]), ...key, other_groups: r[3], rx_bytes: r[4], tx_bytes: r[5], total_bytes: r[4] + r[5],
        avg_bytes_per_sec: r[6], peak_bytes_per_sec: r[7], peak_time: iso(r[8]),
      }, want, `row ${i}`);
    });
    const h = data.header;
    assert.deepEqual([h.rx, h.tx, h.frames, h.flows, h.hosts, h.groups, iso(h.startMs), iso(h.endMs), h.durationUs / 1e6],
      [j.rx_bytes, j.tx_bytes, j.frames, j.flows, j.hosts, j.groups, j.from, j.to, j.duration_seconds]);
    assert.deepEqual(h.lost, { events: (j.lost as { events: number }).events, rx: (j.lost as { rx_bytes: number }).rx_bytes, tx: (j.lost as { tx_bytes: number }).tx_bytes });
    const bf = j.busiest_frame as { start: string; rx_bytes: number; tx_bytes: number; bytes_per_sec: number };
    assert.deepEqual([iso(h.busiestFrame![0]), h.busiestFrame![2], h.busiestFrame![3], h.busiestFrame![4]], [bf.start, bf.rx_bytes, bf.tx_bytes, bf.bytes_per_sec]);
  });
}

test("the chart's series add up to every byte of the range, step by step, each group's to its rows", (t) => {
  const { data } = html(['--by', 'comm', '--top', '4', SAMPLE], tempDir(t));
  const c = data.chart;
  const reader = CaptureReader.open(SAMPLE);
  const frames = Array.from({ length: 12 }, (_, i) => reader.frame(i + 1)!);
  reader.close();
  assert.equal(c.framesPerStep, 1);
  assert.deepEqual(c.end, frames.map((f) => Math.floor(f.wallUs / 1000)));
  assert.deepEqual(c.durationUs, frames.map((f) => f.intervalUs));
  assert.deepEqual(c.load, frames.map((f) => Math.round(f.loadavg.load1 * 100) / 100));
  // From the generator's own numbers: every sample of frame i is in exactly one series.
  for (let i = 0; i < 12; i++) {
    const flows = sampleFlows(i + 1);
    assert.equal(c.series.reduce((n, s) => n + s.rx[i], 0), flows.reduce((n, f) => n + f.rxBytes, 0), `rx of frame ${i + 1}`);
    assert.equal(c.series.reduce((n, s) => n + s.tx[i], 0), flows.reduce((n, f) => n + f.txBytes, 0), `tx of frame ${i + 1}`);
    for (const s of c.series.filter((x) => x.group >= 0)) {
      const comm = data.groups[s.group].key[0];
      assert.equal(s.rx[i] + s.tx[i], flows.filter((f) => f.comm === comm).reduce((n, f) => n + f.rxBytes + f.txBytes, 0), `${comm} in frame ${i + 1}`);
    }
  }
  assert.deepEqual(c.series.map((s) => (s.group < 0 ? `other (${s.members})` : data.groups[s.group].key[0])),
    data.rows.map((r) => (r[2] < 0 ? `other (${r[3]})` : data.groups[r[2]].key[0])));
});

test("a group's flows add up to its row; the busiest intervals are the frames with the most bytes", (t) => {
  const { data } = html(['--by', 'host', SAMPLE], tempDir(t));
  for (const r of data.rows) {
    const g = data.groups[r[2]];
    // Names and addresses are written once, in the page's strings: by host, every flow's remote address is the
    // key (an IPv4-mapped one as its IPv4 address).
    for (const f of g.flows) assert.equal(data.strings[f[4]].replace(/^::ffff:/, ''), g.key[0]);
    assert.equal(g.flows.reduce((n, f) => n + f[6], 0) + g.more[1], r[4], `rx of ${g.key}`);
    assert.equal(g.flows.reduce((n, f) => n + f[7], 0) + g.more[2], r[5], `tx of ${g.key}`);
  }
  const perFrame = Array.from({ length: 12 }, (_, i) => sampleFlows(i + 1).reduce((n, f) => n + f.rxBytes + f.txBytes, 0));
  const reader = CaptureReader.open(SAMPLE);
  const rates = perFrame.map((b, i) => (b * 1e6) / reader.frame(i + 1)!.intervalUs);
  reader.close();
  const want = rates.map((r, i) => [r, i]).sort((a, b) => b[0] - a[0] || a[1] - b[1]).slice(0, 10);
  assert.deepEqual(data.busiest.map((b) => b[2] + b[3]), want.map(([, i]) => perFrame[i]));
});

test('JSON in a script element cannot end it: <, >, &, U+2028 and U+2029 are escaped and read back unchanged', () => {
  const value = { s: `</script><!-- <script>&amp; \u2028\u2029 "q" '\\'`, n: [1, 2.5] };
  const text = scriptJson(value);
  assert.doesNotMatch(text, /[<>&\u2028\u2029]/);
  assert.deepEqual(JSON.parse(text), value);
  assert.equal(escapeHtml(`<a href="x">'&'</a>`), '&#60;a href=&#34;x&#34;&#62;&#39;&#38;&#39;&#60;/a&#62;');
});

test('the page is pure ASCII: text beyond it goes in as escapes and reads back unchanged', () => {
  const page = tcptop(['report', '--format', 'html', '--by', 'flow', SAMPLE]).stdout;
  assert.ok([...Buffer.from(page)].every((b) => b < 0x80), 'the page of a capture');
  const data = embedded(page);
  const names = ['h\u00f6st-\u00fc', 'caf\u00e9 \u2013 \u{1f600}'];
  data.header.hostname = names[0];
  data.strings.push(names[1]);
  const assets = { chartJs: 'var a = 1;', chartCss: '', pageJs: 'var b = 2;', pageCss: '' };
  const text = htmlPage(data, assets);
  assert.ok([...Buffer.from(text)].every((b) => b < 0x80), 'names beyond ASCII');
  const back = embedded(text);
  assert.equal(back.header.hostname, names[0]);
  assert.equal(back.strings[back.strings.length - 1], names[1]);
  assert.match(text, /<title>tcptop report: h&#246;st-&#252;,/);
  assert.equal(escapeHtml('\u{1f600}'), '&#128512;');
});

test('inlined code that could end its element is refused', () => {
  const { data } = { data: embedded(tcptop(['report', '--format', 'html', SAMPLE]).stdout) };
  const assets = { chartJs: 'var a = 1;', chartCss: '', pageJs: 'var b = 2;', pageCss: '' };
  assert.match(htmlPage(data, assets), /<script>var a = 1;<\/script>/);
  assert.throws(() => htmlPage(data, { ...assets, chartJs: 'x = "</script>"' }), /cannot be inlined/);
  assert.throws(() => htmlPage(data, { ...assets, pageCss: 'a{} </STYLE>' }), /cannot be inlined/);
});

test("hostile text from the capture stays inside the data: the page has only its own elements", (t) => {
  const dir = tempDir(t);
  const { text, data } = html(['--by', 'comm', hostileCapture(dir)], dir);
  assert.equal(data.header.hostname, HOSTILE.hostname);
  assert.ok(data.groups.some((g) => g.key[0] === HOSTILE.comm));
  assert.equal(text.match(/<script/g)!.length, 3);
  assert.equal(text.match(/<\/script>/g)!.length, 3);
  assert.ok(!text.includes('<b id="injected">') && !text.includes('<img'));
  assert.match(text, /<title>tcptop report: &#60;\/title&#62;&#60;\/script&#62;&#60;b id=&#34;injected&#34;&#62;/);
  // The policy forbids loading anything; scripts run only by their hashes.
  const csp = /<meta http-equiv="Content-Security-Policy" content="([^"]*)">/.exec(text)![1].replace(/&#39;/g, "'");
  assert.match(csp, /default-src 'none'/);
  assert.match(csp, /script-src 'sha256-[A-Za-z0-9+/=]+' 'sha256-[A-Za-z0-9+/=]+';/);
  assert.doesNotMatch(csp, /script-src[^;]*unsafe-inline/);
});

test('without -o the page goes to stdout (not a terminal); -o replaces a file whole', (t) => {
  const dir = tempDir(t);
  const r = tcptop(['report', '--format', 'html', '--by', 'pid', SAMPLE]);
  assert.equal(r.status, 0);
  assert.match(r.stdout, /^<!DOCTYPE html>\n/);
  const file = path.join(dir, 'page.html');
  fs.writeFileSync(file, 'old');
  const { text } = html(['--by', 'pid', SAMPLE], dir);
  assert.equal(tcptop(['report', '--format', 'html', '--by', 'pid', '-o', file, SAMPLE]).status, 0);
  // The same page, except for the data's file name, which is the same too: one capture, same options.
  assert.equal(fs.readFileSync(file, 'utf8'), text);
  assert.equal(r.stdout, text);
  assert.deepEqual(fs.readdirSync(dir).sort().filter((f) => f.startsWith('.')), []);
});

test('bad input is one line on stderr and a non-zero exit, and leaves no file', (t) => {
  const dir = tempDir(t);
  const out = path.join(dir, 'x.html');
  const cases: [string[], RegExp, number][] = [
    [['--format', 'csv', '-o', out, SAMPLE], /-o\/--output: only with --format html/, 2],
    [['--chart', '-o', out, SAMPLE], /cannot be used with|conflicts|-o/, 2],
    [['--format', 'html', '-o', path.join(dir, 'no/such/dir/x.html'), SAMPLE], /no\/such\/dir\/x\.html: cannot write: no such file or directory/, 1],
    [['--format', 'html', '-o', dir, SAMPLE], /cannot write: is a directory/, 1],
    [['--format', 'html', '-o', out, '--window', '1.5s', SAMPLE], /--window: 1\.5s is not a whole number of frames/, 2],
  ];
  for (const bad of BAD_FILES.slice(0, 4)) cases.push([['--format', 'html', '-o', out, bad.make(dir)], bad.problem, 2]);
  for (const [args, problem, status] of cases) {
    const r = tcptop(['report', ...args]);
    assert.match(oneLine(r), problem, args.join(' '));
    assert.equal(r.status, status, args.join(' '));
    assert.equal(r.stdout, '');
    assert.ok(!fs.existsSync(out), args.join(' '));
  }
});

test(`more than ${MAX_ROWS} rows are refused with what to do instead`, (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'wide.db');
  generateBenchCapture(file, 25, 1000);
  const r = tcptop(['report', '--format', 'html', '-o', path.join(dir, 'x.html'), '--by', 'flow', '--window', '1s', file]);
  assert.match(oneLine(r), /--format html: more than 20,000 rows .* use --top, a longer --window/);
  assert.equal(r.status, 2);
  // --top bounds it.
  const { data } = html(['--by', 'flow', '--window', '1s', '--top', '5', file], dir);
  assert.equal(data.rows.length, 25 * 6);
});

test("an anonymized export's page holds no original address or hostname (the export's own byte scan)", (t) => {
  const dir = tempDir(t);
  const anon = path.join(dir, 'anon.db');
  const r = tcptop(['export', SAMPLE, '-o', anon, '--anonymize']);
  assert.equal(r.status, 0, r.stderr);
  const originals = addressTexts(Array.from({ length: 12 }, (_, i) => sampleFlows(i + 1)).flat().flatMap((f) => [f.laddr, f.raddr]));
  assert.ok(originals.size >= 6);
  for (const by of [['--by', 'flow'], ['--by', 'host', '--window', '3s'], ['--by', 'laddr', '--by', 'comm']]) {
    // The scan finds what it looks for: the original's page holds them.
    const plain = Buffer.from(html([...by, SAMPLE], dir).text);
    assert.notEqual(findAddressText(plain, originals), null);
    assert.ok(containsText(plain, SAMPLE_HEADER.hostname));
    const page = Buffer.from(html([...by, anon], dir).text);
    assert.equal(findAddressText(page, originals), null, by.join(' '));
    assert.ok(!containsText(page, SAMPLE_HEADER.hostname), by.join(' '));
  }
});

const SCRIPT = ['/usr/bin/script', '/bin/script'].find((f) => fs.existsSync(f));

test('HTML is not written to a terminal: one line saying what to do', { skip: SCRIPT ? false : 'no script(1) here to give the command a terminal' }, () => {
  const quote = (s: string) => `'${s.replace(/'/g, "'\\''")}'`;
  const command = [process.execPath, CLI, 'report', '--format', 'html', SAMPLE].map(quote).join(' ');
  const r = spawnSync(SCRIPT!, ['-qec', command, '/dev/null'], { encoding: 'utf8', env: { ...process.env, TZ: 'UTC' }, timeout: 60_000 });
  const lines = r.stdout.split(/\r?\n/).filter((l) => l !== '');
  assert.deepEqual(lines, ['tcptop: --format html: not writing HTML to a terminal: give -o FILE, or redirect stdout to a file']);
  assert.equal(r.status, 2);
});

test("the page's script never parses markup: text goes in with textContent", () => {
  const code = fs.readFileSync(path.join(__dirname, '../../src/report/html/browser.js'), 'utf8');
  assert.match(code, /textContent/);
  assert.doesNotMatch(code, /innerHTML|outerHTML|insertAdjacentHTML|document\.write|createContextualFragment|DOMParser|\beval\(|new Function/);
});
