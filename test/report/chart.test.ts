import assert from 'node:assert/strict';
import { test } from 'node:test';
import { columnPlan, LABEL_WIDTH, PALETTE, plotColumns, renderChart, yScale, type ChartInput } from '../../src/report/chart';
import { UTC } from '../../src/time/zone';

const T0 = Date.UTC(2026, 10, 20, 14, 0, 0) * 1000;
const ESC = '\x1b[';

const input = (over: Partial<ChartInput> = {}): ChartInput => ({
  metric: 'total', by: 'host', groups: 3, startUs: T0, endUs: T0 + 20e6, zone: UTC, framesPerColumn: 1, columnsPerFrame: 2,
  intervalUs: 1e6, width: 60, height: 6, color: false,
  series: [
    { name: 'a', values: [0, 1000, 2000, 3000, 4000, 5000, 4000, 3000, 2000, 1000], totalBytes: 25000, avgRate: 1250, peakRate: 5000, peakWallUs: T0 + 6e6 },
    { name: 'bb', values: [500, 500, 500, 500, 500, 500, 500, 500, 500, 500], totalBytes: 5000, avgRate: 250, peakRate: 500, peakWallUs: T0 + 1e6 },
  ],
  ...over,
});

/** The plot rows of a rendered chart, as label and cells. */
function plotRows(text: string): { label: string; cells: string }[] {
  return text.split('\n').filter((l) => /^ *\d[\d.]* \S+\/s [┤┼]/.test(l)).map((l) => ({ label: l.slice(0, LABEL_WIDTH).trim(), cells: l.slice(LABEL_WIDTH + 1) }));
}

test('frames are summed into columns when there are more frames than columns, widened when fewer', () => {
  assert.deepEqual(columnPlan(120, 39), { framesPerColumn: 4, columnsPerFrame: 1 });
  assert.deepEqual(columnPlan(3600, 69), { framesPerColumn: 53, columnsPerFrame: 1 });
  assert.deepEqual(columnPlan(69, 69), { framesPerColumn: 1, columnsPerFrame: 1 });
  assert.deepEqual(columnPlan(12, 69), { framesPerColumn: 1, columnsPerFrame: 5 });
  assert.deepEqual(columnPlan(1, 69), { framesPerColumn: 1, columnsPerFrame: 69 });
  assert.equal(plotColumns(80), 80 - LABEL_WIDTH - 1);
});

test('the y axis steps by 1, 2 or 5 in one unit, its labels exact and at most the label width', () => {
  const s = yScale(13 * 1024 * 1024, 14);
  assert.equal(s.stepBytes, 1024 * 1024);
  assert.deepEqual([0, 1, 14].map(s.label), ['0 MiB/s', '1 MiB/s', '14 MiB/s']);
  const k = yScale(300 * 1024, 9);
  assert.equal(k.stepBytes, 50 * 1024);
  assert.equal(k.label(9), '450 KiB/s');
  const small = yScale(1.5 * 1024 * 1024, 14);
  assert.equal(small.stepBytes, 0.2 * 1024 * 1024);
  assert.equal(small.label(7), '1.4 MiB/s');
  assert.equal(yScale(0, 5).label(5), '5 B/s');
  assert.equal(yScale(7, 14).stepBytes, 1);
  for (const max of [1, 999, 1023, 1024, 5e5, 1.9 * 1024 ** 2, 3e9, 7e12, 1.2e15]) {
    for (const steps of [1, 2, 7, 14, 50, 99]) {
      const sc = yScale(max, steps);
      assert.ok(sc.stepBytes * steps >= max * (1 - 1e-9), `${max}/${steps}`);
      for (let l = 0; l <= steps; l++) assert.ok(sc.label(l).length <= LABEL_WIDTH, `${max}/${steps}: ${sc.label(l)}`);
    }
  }
});

test('every column is drawn at the first row at or above its value, never below', () => {
  const values = [0, 1, 499, 500, 501, 999, 1000, 1001, 4999, 5000];
  const text = renderChart(input({ series: [{ name: 'x', values, totalBytes: 1, avgRate: 1, peakRate: 5000, peakWallUs: T0 }], columnsPerFrame: 1 }));
  const rows = plotRows(text);
  assert.equal(rows.length, 6);
  assert.equal(rows[4].label, '1 KiB/s');
  const step = 1024;
  values.forEach((v, x) => {
    // Column x of the series is where its line enters the value's row (the axis column for the first value).
    const drawn = rows.findIndex((r) => r.cells[x] !== ' ' && r.cells[x] !== '│' && !(x === 0 && r.cells[x] === '┤'));
    const level = rows.length - 1 - drawn;
    assert.ok(level * step >= v, `value ${v} drawn at ${level * step}`);
    assert.ok((level - 1) * step < v || v === 0, `value ${v} drawn too high at ${level * step}`);
  });
});

test('without colour: no escape codes, a line style per series, lines within the width, legend with peaks', () => {
  const text = renderChart(input());
  assert.ok(!text.includes(ESC));
  // The chart fits the width; a legend line too long for it is split in two.
  for (const line of text.split('\n\n')[0].split('\n')) assert.ok(line.length <= 60, line);
  assert.match(text, /^received \+ sent by host, top 2 of 3\n2026-11-20 14:00:00 to 14:00:20 UTC\none frame \(1 s\) per 2 columns\n/);
  assert.match(text, /\n  ── a\n       total 24.4 KiB, avg 1.22 KiB\/s, peak 4.88 KiB\/s at 14:00:06\n  ━━ bb\n       total 4.88 KiB, avg 250 B\/s, peak 500 B\/s at 14:00:01\n$/);
  assert.match(renderChart(input({ width: 80 })), /\n  ── a   total 24.4 KiB, avg 1.22 KiB\/s, peak 4.88 KiB\/s at 14:00:06\n  ━━ bb  total 4.88 KiB, avg 250 B\/s, peak 500 B\/s at 14:00:01\n$/);
  assert.ok(text.includes('━'), 'the second series is drawn heavy');
  assert.match(text, /\n {11}14:00:00 {4}14:00:20\n/);
  assert.match(renderChart(input({ width: 80, columnsPerFrame: 6 })), /\n {11}14:00:00 {18}14:00:10 {18}14:00:20\n/);
});

test('with colour: each series and its legend marker in its own colour', () => {
  const text = renderChart(input({ color: true }));
  assert.ok(text.includes(`${PALETTE[0]}──\x1b[0m a`));
  assert.ok(text.includes(`${PALETTE[1]}━━\x1b[0m bb`));
  assert.ok(text.includes(`${PALETTE[1]}━`) && text.includes(`${PALETTE[0]}╭`));
  assert.equal(new Set(PALETTE).size, PALETTE.length);
  // The same chart without the codes.
  assert.equal(text.replace(/\x1b\[\d+m/g, ''), renderChart(input()));
});

test('a chart of nothing says so', () => {
  assert.match(renderChart(input({ series: [] })), /\nno bytes moved in this range\n$/);
});
