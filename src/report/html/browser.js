// The HTML report's own script, run in the browser: reads the embedded data and builds the summary, the chart
// (with the uPlot library inlined before this script), the sortable table of groups, the flows of the selected
// group and the busiest intervals. Everything from the capture is put into the page with textContent only.
(function () {
  'use strict';
  const started = performance.now();
  const data = JSON.parse(document.getElementById('report-data').textContent);
  const h = data.header;
  const $ = (id) => document.getElementById(id);

  // ---- Numbers and times for people: the rules of the text report (src/view/units.ts), written again because
  // the page runs alone in a browser, without tcptop's modules.

  const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  function humanBytes(bytes) {
    let v = bytes;
    let i = 0;
    while (Math.abs(v) >= 1024 && i < UNITS.length - 1) {
      v /= 1024;
      i++;
    }
    if (i === 0) return `${v} B`;
    const digits = Math.abs(v) >= 100 ? 0 : Math.abs(v) >= 10 ? 1 : 2;
    return `${v.toFixed(digits)} ${UNITS[i]}`;
  }
  const rateText = (v) => `${humanBytes(v < 1024 ? Math.round(v) : v)}/s`;
  // Written as an escape: the page stays pure ASCII, which the browser decodes fastest.
  const NONE = '\u2013';
  const grouped = (n) => Math.trunc(n).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  const exactBytes = (n) => `${grouped(n)} bytes`;
  const exactRate = (v) => `${grouped(v)}${(v % 1).toFixed(3).slice(1)} bytes/s`;

  let zoneFormat = null;
  if (data.zone.timeZone) {
    try {
      zoneFormat = new Intl.DateTimeFormat('en-US', { timeZone: data.zone.timeZone, hourCycle: 'h23', year: 'numeric', month: '2-digit',
        day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' });
    } catch (e) {
      zoneFormat = null;
    }
  }
  /** The display zone's calendar fields at `ms`, truncated to the second; kept, as tables ask for the same times again. */
  const civilOf = new Map();
  function civil(ms) {
    const sec = Math.floor(ms / 1000) * 1000;
    let c = civilOf.get(sec);
    if (!c) civilOf.set(sec, (c = zoneFields(sec)));
    return c;
  }
  function zoneFields(sec) {
    if (zoneFormat) {
      const p = {};
      for (const part of zoneFormat.formatToParts(new Date(sec))) if (part.type !== 'literal') p[part.type] = Number(part.value);
      return { y: p.year, mo: p.month, d: p.day, h: p.hour % 24, mi: p.minute, s: p.second };
    }
    const d = new Date(sec + data.zone.offsetMinutes * 60000);
    return { y: d.getUTCFullYear(), mo: d.getUTCMonth() + 1, d: d.getUTCDate(), h: d.getUTCHours(), mi: d.getUTCMinutes(), s: d.getUTCSeconds() };
  }
  const two = (n) => String(n).padStart(2, '0');
  const clock = (ms) => {
    const c = civil(ms);
    return `${two(c.h)}:${two(c.mi)}:${two(c.s)}`;
  };
  const dateTime = (ms) => {
    const c = civil(ms);
    return `${c.y}-${two(c.mo)}-${two(c.d)} ${two(c.h)}:${two(c.mi)}:${two(c.s)}`;
  };
  /** Times of day alone when the range lies within one day, as the text report prints them. */
  const at = (ms) => (data.sameDay ? clock(ms) : dateTime(ms));
  /** A Date whose local fields read as the display zone's: how uPlot labels a time axis in another zone. */
  function zoneDate(seconds) {
    const d = new Date(seconds * 1000);
    if (zoneFormat) return uPlot.tzDate(d, data.zone.timeZone);
    return new Date(d.getTime() + (data.zone.offsetMinutes + d.getTimezoneOffset()) * 60000);
  }

  /** A time axis label in the display zone, 24-hour, as precise as the axis' step. */
  function timeLabel(seconds, step) {
    const c = civil(seconds * 1000);
    if (step >= 86400) return `${c.y}-${two(c.mo)}-${two(c.d)}`;
    if (step >= 60) return `${two(c.h)}:${two(c.mi)}`;
    const text = `${two(c.h)}:${two(c.mi)}:${two(c.s)}`;
    return step >= 1 ? text : `${text}.${String(Math.round(seconds * 1000) % 1000).padStart(3, '0')}`;
  }

  // ---- Small DOM helpers: elements with text, never markup.

  function el(tag, text, attrs) {
    const e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (attrs) for (const k of Object.keys(attrs)) e.setAttribute(k, attrs[k]);
    return e;
  }
  const keyName = (key) => key.join(' ');
  const hostPort = (addr, port) => (addr.includes(':') ? `[${addr}]:${port}` : `${addr}:${port}`);

  // ---- Summary.

  function summary() {
    $('title-host').textContent = `for ${h.hostname}`;
    const dl = $('summary');
    const item = (term, text, title) => {
      const div = el('div');
      div.append(el('dt', term), el('dd', text, title ? { title } : undefined));
      dl.append(div);
    };
    const interval = (f, what) => (f ? `${at(f[0])} to ${at(f[1])}: ${humanBytes(f[2] + f[3])}, ${rateText(f[4])}${what}` : 'none (no bytes moved)');
    item('capture', `${h.file} (host ${h.hostname})`);
    item('kernel', `${h.kernel}, ${h.probe} probe, recorded by tcptop ${h.toolVersion}`);
    item('span', h.span);
    item('time zone', h.zone);
    item('interval', `${h.intervalUs / 1e6}s, ${grouped(h.frames)} frames`);
    item('flows', `${grouped(h.flows)} flows, ${grouped(h.hosts)} remote hosts, ${grouped(h.groups)} groups by ${h.by.join(' and ')}`);
    item('received', humanBytes(h.rx), exactBytes(h.rx));
    item('sent', humanBytes(h.tx), exactBytes(h.tx));
    item('total', humanBytes(h.rx + h.tx), exactBytes(h.rx + h.tx));
    item('busiest frame', interval(h.busiestFrame, ''));
    if (h.windowSeconds !== null) item('busiest window', interval(h.busiestWindow, ' average'));
    item('ended cleanly', h.endedCleanly ? 'yes' : 'no: still being recorded, or the recorder stopped without closing the capture');
    if (h.completeFromMs !== null) item('complete from', `${dateTime(h.completeFromMs)} (older frames were dropped to keep the capture's size)`);
    item('not attributed', h.lostText === null ? 'none: every byte counted is in a flow' : h.lostText);
    const opts = [`--by ${h.by.join(' --by ')}`];
    if (h.windowSeconds !== null) opts.push(`--window ${h.windowSeconds}s`);
    if (h.top !== null) opts.push(`--top ${h.top}`);
    if (h.sort !== 'total') opts.push(`--sort ${h.sort}`);
    item('report', opts.join(' '));
    $('footer').textContent = `Made by tcptop from ${h.file}. This file is self-contained: it loads nothing from any network.`;
  }

  // ---- Chart.

  const C = data.chart;
  const xs = C.end.map((ms) => ms / 1000);
  const seriesName = (s) => (s.group < 0 ? `other (${s.members})` : keyName(data.groups[s.group].key));
  const PALETTE = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#17becf'];
  function colorOf(i, s) {
    if (s.group < 0) return '#8c8c8c';
    if (i < PALETTE.length) return PALETTE[i];
    return `hsl(${(i * 137.5) % 360}, 55%, 50%)`;
  }
  const state = { direction: 'both', stacked: false, hidden: new Set(), print: false };
  let chart = null;

  /** Bytes per second of every series in a direction: what the chart draws when not stacked. */
  function rates(direction) {
    return C.series.map((s) => s.rx.map((rx, i) => {
      const bytes = direction === 'rx' ? rx : direction === 'tx' ? s.tx[i] : rx + s.tx[i];
      return (bytes * 1e6) / C.durationUs[i];
    }));
  }

  /** Each shown series on top of the shown ones before it, and the bands between them. */
  function stack(values) {
    const sum = new Array(xs.length).fill(0);
    const out = values.map((v, i) => (state.hidden.has(i) ? v : v.map((x, j) => (sum[j] += x))));
    const bands = [];
    let below = -1;
    values.forEach((_, i) => {
      if (state.hidden.has(i)) return;
      if (below >= 0) bands.push({ series: [i + 1, below + 1] });
      below = i;
    });
    return { out, bands };
  }

  /** Rate axis steps of 1, 2 and 5 in one binary unit, so the labels read as round numbers. */
  const RATE_STEPS = [];
  for (let unit = 1; unit <= 1024 ** 5; unit *= 1024) for (const m of [1, 2, 5, 10, 20, 50, 100, 200, 500]) RATE_STEPS.push(m * unit);

  function themeColors() {
    if (state.print) return { fg: '#222', muted: '#666', grid: '#ddd' };
    const css = getComputedStyle(document.documentElement);
    const v = (name) => css.getPropertyValue(name).trim();
    return { fg: v('--fg'), muted: v('--muted'), grid: v('--grid') };
  }

  function chartSize() {
    const box = $('chart');
    const width = state.print ? 680 : Math.max(280, box.clientWidth);
    const height = state.print ? 300 : Math.round(Math.max(220, Math.min(420, window.innerHeight * 0.45)));
    return { width, height };
  }

  function buildChart() {
    const box = $('chart');
    const zoom = chart ? { min: chart.scales.x.min, max: chart.scales.x.max } : null;
    if (chart) chart.destroy();
    const raw = rates(state.direction);
    const stacked = state.stacked ? stack(raw) : { out: raw, bands: [] };
    const t = themeColors();
    const axis = { stroke: t.fg, grid: { stroke: t.grid, width: 1 }, ticks: { stroke: t.grid, width: 1 } };
    const series = [{ label: 'time', value: (u, v) => (v === null || v === undefined ? '' : dateTime(v * 1000)) }];
    C.series.forEach((s, i) => {
      const color = colorOf(i, s);
      series.push({
        label: seriesName(s),
        scale: 'rate',
        stroke: color,
        width: 1.5,
        fill: state.stacked ? `${color.startsWith('#') ? color : '#8c8c8c'}99` : undefined,
        show: !state.hidden.has(i),
        // The legend shows the series' own rate, stacked or not.
        value: (u, v, si, idx) => (idx === null || idx === undefined ? NONE : rateText(raw[i][idx])),
      });
    });
    series.push({
      label: 'load average (1 min, right axis)',
      scale: 'load',
      stroke: t.muted,
      width: 1,
      dash: [5, 4],
      value: (u, v) => (v === null || v === undefined ? NONE : v.toFixed(2)),
    });
    const opts = {
      ...chartSize(),
      tzDate: zoneDate,
      focus: { alpha: 0.35 },
      cursor: { drag: { x: true, y: false, setScale: true }, focus: { prox: 16 } },
      legend: { live: true },
      scales: {
        x: { time: true },
        rate: { range: (u, min, max) => [0, max > 0 ? max * 1.05 : 1] },
        load: { range: (u, min, max) => [0, Math.max(1, max * 1.15)] },
      },
      axes: [
        { ...axis, space: 70, values: (u, splits, ai, space, incr) => splits.map((s) => timeLabel(s, incr)) },
        { ...axis, scale: 'rate', size: 86, incrs: RATE_STEPS, values: (u, vals) => vals.map((v) => rateText(v)) },
        { ...axis, scale: 'load', side: 1, size: 44, stroke: t.muted, grid: { show: false }, values: (u, vals) => vals.map((v) => v.toFixed(1)) },
      ],
      series,
      bands: stacked.bands,
      hooks: {
        setSeries: [(u, i, opts) => {
          if (i === null || i < 1 || i > C.series.length || !opts || opts.show === undefined) return;
          if (opts.show) state.hidden.delete(i - 1);
          else state.hidden.add(i - 1);
          // Stacked, the series above a hidden one come down: restack.
          if (state.stacked) queueMicrotask(buildChart);
        }],
      },
    };
    chart = new uPlot(opts, [xs, ...stacked.out, C.load], box);
    if (zoom && zoom.min !== undefined && zoom.max !== undefined) chart.setScale('x', zoom);
    window.tcptopReport.chart = chart;
  }

  function zoomTo(startMs, endMs) {
    const pad = Math.max((endMs - startMs) / 1000, (C.durationUs[0] || 1e6) / 1e6) * 10;
    chart.setScale('x', { min: startMs / 1000 - pad, max: endMs / 1000 + pad });
  }

  function chartControls() {
    for (const input of document.querySelectorAll('input[name="direction"]')) {
      input.addEventListener('change', () => {
        state.direction = input.value;
        buildChart();
      });
    }
    $('stacked').addEventListener('change', (e) => {
      state.stacked = e.target.checked;
      buildChart();
    });
    $('reset-zoom').addEventListener('click', () => chart.setScale('x', { min: xs[0], max: xs[xs.length - 1] }));
    let pending = 0;
    window.addEventListener('resize', () => {
      cancelAnimationFrame(pending);
      pending = requestAnimationFrame(() => chart.setSize(chartSize()));
    });
    window.matchMedia('(prefers-color-scheme: dark)').addEventListener('change', buildChart);
    window.addEventListener('beforeprint', () => {
      state.print = true;
      buildChart();
    });
    window.addEventListener('afterprint', () => {
      state.print = false;
      buildChart();
    });
    const step = C.framesPerStep;
    const parts = [step === 1 ? 'Each point is the rate over one frame, at its end.'
      : `Each point is the mean rate over ${step} frames, at their end${h.windowSeconds !== null ? ' (one --window)' : ''}.`];
    const other = C.series.find((s) => s.group < 0);
    if (other) parts.push(`"other" sums the ${grouped(other.members)} groups not drawn.`);
    parts.push('Double-click to see the whole range again.');
    $('chart-note').textContent = parts.join(' ');
  }

  // ---- Tables.

  /** Rows of a table drawn at first, and rows added by each click on its "show more" row. */
  const FIRST_ROWS = 100;
  const MORE_ROWS = 500;

  /**
   * A sortable table: columns of {name, value(row), text(row), title(row), numeric}, rows kept as given until sorted.
   * opts.pick(i) makes rows selectable (click, Enter, Space), opts.selected(i) marks the selected one.
   */
  function table(id, columns, rows, opts) {
    const tableEl = $(id);
    const thead = tableEl.tHead;
    const tbody = tableEl.tBodies[0];
    const pick = opts && opts.pick;
    // One listener for all rows, not two per row: a long table is built much faster.
    tbody.onclick = pick ? (e) => {
      const tr = e.target.closest('tr[data-index]');
      if (tr) pick(Number(tr.dataset.index));
    } : null;
    tbody.onkeydown = pick ? (e) => {
      const tr = e.target.closest('tr[data-index]');
      if (tr && (e.key === 'Enter' || e.key === ' ')) {
        e.preventDefault();
        pick(Number(tr.dataset.index));
      }
    } : null;
    const head = el('tr');
    let order = rows.map((_, i) => i);
    let sortBy = -1;
    let descending = false;
    const ths = columns.map((c, ci) => {
      const th = el('th', null, { scope: 'col' });
      if (c.numeric) th.className = 'num';
      const button = el('button', c.name, { type: 'button', title: `sort by ${c.name.toLowerCase()}` });
      button.addEventListener('click', () => {
        descending = sortBy === ci ? !descending : c.numeric;
        sortBy = ci;
        const pinned = opts && opts.pinned;
        order = rows.map((_, i) => i).sort((a, b) => {
          if (pinned) {
            const pa = pinned(rows[a]);
            const pb = pinned(rows[b]);
            if (pa !== pb) return pa ? 1 : -1;
          }
          const x = c.value(rows[a]);
          const y = c.value(rows[b]);
          const cmp = typeof x === 'number' && typeof y === 'number' ? x - y : String(x) < String(y) ? -1 : String(x) > String(y) ? 1 : 0;
          return (descending ? -cmp : cmp) || a - b;
        });
        ths.forEach((t, i) => t.setAttribute('aria-sort', i === ci ? (descending ? 'descending' : 'ascending') : 'none'));
        render();
      });
      th.append(button);
      head.append(th);
      return th;
    });
    thead.replaceChildren(head);
    // A long table is drawn a part at a time: thousands of rows would take the browser seconds to lay out.
    let limit = FIRST_ROWS;
    function render() {
      const frag = document.createDocumentFragment();
      for (const i of order.slice(0, limit)) {
        const row = rows[i];
        const tr = el('tr');
        tr.dataset.index = String(i);
        for (const c of columns) {
          const td = el('td', c.text(row));
          if (c.numeric) td.className = 'num';
          const title = c.title && c.title(row);
          if (title) td.title = title;
          tr.append(td);
        }
        if (pick) tr.tabIndex = 0;
        if (opts && opts.selected && opts.selected(i)) tr.className = 'selected';
        frag.append(tr);
      }
      if (order.length > limit) {
        const tr = el('tr', null, { class: 'more' });
        const td = el('td', null, { colspan: String(columns.length) });
        const button = el('button', `show ${grouped(Math.min(order.length, limit + MORE_ROWS) - limit)} more of ${grouped(order.length - limit)} rows not shown`, { type: 'button' });
        button.addEventListener('click', (e) => {
          e.stopPropagation();
          limit += MORE_ROWS;
          render();
        });
        td.append(button);
        tr.append(td);
        frag.append(tr);
      }
      tbody.replaceChildren(frag);
    }
    render();
  }

  const bytesColumn = (name, get) => ({ name, numeric: true, value: get, text: (r) => humanBytes(get(r)), title: (r) => exactBytes(get(r)) });
  const rateColumn = (name, get) => ({ name, numeric: true, value: get, text: (r) => rateText(get(r)), title: (r) => exactRate(get(r)) });
  const timeColumn = (name, get) => ({ name, numeric: false, value: get, text: (r) => at(get(r)), title: (r) => `${dateTime(get(r))} ${h.zone}` });

  let selected = null;

  function groupsTable() {
    const rows = data.rows;
    if (rows.length === 0) {
      $('groups').hidden = true;
      $('groups-empty').hidden = false;
      return;
    }
    const columns = [];
    if (h.windowSeconds !== null) columns.push(timeColumn('START', (r) => r[0]), timeColumn('END', (r) => r[1]));
    data.columns.forEach((c, ci) => columns.push({
      name: c.name.toUpperCase(),
      numeric: c.numeric,
      value: (r) => (r[2] < 0 ? (c.numeric ? -1 : '') : data.groups[r[2]].key[ci]),
      text: (r) => (r[2] < 0 ? (ci === 0 ? `other (${r[3]})` : '') : String(data.groups[r[2]].key[ci])),
    }));
    columns.push(
      bytesColumn('RX', (r) => r[4]),
      bytesColumn('TX', (r) => r[5]),
      bytesColumn('TOTAL', (r) => r[4] + r[5]),
      rateColumn('AVG RATE', (r) => r[6]),
      rateColumn('PEAK RATE', (r) => r[7]),
      timeColumn('PEAK AT', (r) => r[8]),
    );
    table('groups', columns, rows, {
      pinned: (r) => r[2] < 0,
      pick: select,
      selected: (i) => selected === i,
    });
  }

  function select(i) {
    selected = i;
    for (const tr of $('groups').tBodies[0].rows) tr.classList.toggle('selected', tr.dataset.index === String(i));
    const row = data.rows[i];
    const note = $('flows-note');
    const flowsEl = $('flows');
    if (row[2] < 0) {
      note.textContent = `The other row sums ${grouped(row[3])} groups; their flows are not listed. Use a larger --top to see them.`;
      flowsEl.hidden = true;
      return;
    }
    const g = data.groups[row[2]];
    const series = C.series.findIndex((s) => s.group === row[2]);
    if (series >= 0 && !state.hidden.has(series)) chart.setSeries(series + 1, { focus: true });
    const more = g.more[0] > 0 ? ` ${grouped(g.more[0])} more flows moved ${humanBytes(g.more[1])} received and ${humanBytes(g.more[2])} sent.` : '';
    note.textContent = `Flows of ${data.columns.map((c, ci) => `${c.name} ${g.key[ci]}`).join(', ')} over the whole range, most bytes first.${more}`;
    flowsEl.hidden = false;
    const s = data.strings;
    table('flows', [
      { name: 'PID', numeric: true, value: (f) => f[0], text: (f) => String(f[0]) },
      { name: 'COMM', numeric: false, value: (f) => s[f[1]], text: (f) => s[f[1]] },
      { name: 'LOCAL', numeric: false, value: (f) => s[f[2]], text: (f) => hostPort(s[f[2]], f[3]) },
      { name: 'REMOTE', numeric: false, value: (f) => s[f[4]], text: (f) => hostPort(s[f[4]], f[5]) },
      bytesColumn('RX', (f) => f[6]),
      bytesColumn('TX', (f) => f[7]),
      bytesColumn('TOTAL', (f) => f[6] + f[7]),
    ], g.flows);
  }

  function busiestTable() {
    if (data.busiest.length === 0) {
      $('busiest-section').hidden = true;
      return;
    }
    table('busiest', [
      { name: '#', numeric: true, value: (b) => data.busiest.indexOf(b), text: (b) => String(data.busiest.indexOf(b) + 1) },
      timeColumn('START', (b) => b[0]),
      timeColumn('END', (b) => b[1]),
      bytesColumn('RX', (b) => b[2]),
      bytesColumn('TX', (b) => b[3]),
      bytesColumn('TOTAL', (b) => b[2] + b[3]),
      rateColumn('RATE', (b) => b[4]),
    ], data.busiest, { pick: (i) => zoomTo(data.busiest[i][0], data.busiest[i][1]) });
  }

  window.tcptopReport = { data, chart: null, renderMs: null, shownMs: null };
  // All of it in one go, then one frame: on a busy machine every frame waited for costs more than drawing the
  // tables does (a first frame with the chart alone, the tables after it, was slower to the whole page).
  summary();
  chartControls();
  buildChart();
  groupsTable();
  busiestTable();
  window.tcptopReport.renderMs = performance.now() - started;
  // Ready once the first frame with all of it has been painted; shownMs counts from the start of loading the page.
  requestAnimationFrame(() => setTimeout(() => {
    window.tcptopReport.shownMs = performance.now();
    document.documentElement.dataset.ready = 'true';
  }, 0));
})();
