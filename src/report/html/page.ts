// The HTML report as one string: the page's markup, its styles and scripts inlined, the data embedded as JSON.
// Pure: data and asset texts in, HTML out. Everything from the capture is untrusted: it goes in only as JSON in
// a non-executed script element (escaped so it cannot end that element) and as HTML-escaped text in <title>;
// the page's script puts it into the document with textContent only.
import { createHash } from 'node:crypto';
import type { PageData } from './data';

/** The texts inlined into the page: the charting library and the page's own script and styles. */
export interface PageAssets {
  chartJs: string;
  chartCss: string;
  pageJs: string;
  pageCss: string;
}

/**
 * JSON safe inside a <script> element: `<`, `>` and `&` as \u escapes (no `</script>` or `<!--` can appear), and
 * every character beyond ASCII too (U+2028/U+2029 among them), so the page is pure ASCII, which a browser decodes
 * fastest. JSON.parse reads it back unchanged.
 */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/[<>&\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Text for HTML element content and attribute values, pure ASCII. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']|[^\x00-\x7f]/gu, (c) => `&#${c.codePointAt(0)};`);
}

/** Code inlined into <script> or <style> must not be able to end its element early. */
function inlined(code: string, element: 'script' | 'style', what: string): string {
  if (new RegExp(`</${element}|<!--`, 'i').test(code)) throw new Error(`${what} cannot be inlined: it contains </${element} or <!--`);
  return code;
}

const sha256 = (text: string): string => `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;

/**
 * The whole page. The Content-Security-Policy allows its two inline scripts by hash and nothing from any network.
 * The data and the chart library are in the head, the bulk of the file: a browser draws nothing before the body,
 * so no frame of a half-read page is drawn and then thrown away; the page script at the end draws it all at once.
 */
export function htmlPage(data: PageData, assets: PageAssets): string {
  const chartJs = inlined(assets.chartJs, 'script', 'the chart library');
  const pageJs = inlined(assets.pageJs, 'script', 'the page script');
  const css = inlined(`${assets.chartCss}\n${assets.pageCss}`, 'style', 'the styles');
  const csp = [
    "default-src 'none'",
    `script-src ${sha256(chartJs)} ${sha256(pageJs)}`,
    "style-src 'unsafe-inline'",
    'img-src data:',
    "base-uri 'none'",
    "form-action 'none'",
  ].join('; ');
  const h = data.header;
  const title = `tcptop report: ${h.hostname}, ${h.span}`;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${escapeHtml(csp)}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<meta name="generator" content="tcptop ${escapeHtml(h.toolVersion)}">
<title>${escapeHtml(title)}</title>
<style>
${css}
</style>
<script type="application/json" id="report-data">${scriptJson(data)}</script>
<script>${chartJs}</script>
</head>
<body>
<header>
<h1>tcptop report <span id="title-host"></span></h1>
<dl id="summary"></dl>
</header>
<main>
<section id="chart-section" aria-labelledby="chart-title">
<h2 id="chart-title">Throughput</h2>
<div id="chart-controls" class="controls">
<fieldset><legend>Direction</legend>
<label><input type="radio" name="direction" value="both" checked> received + sent</label>
<label><input type="radio" name="direction" value="rx"> received</label>
<label><input type="radio" name="direction" value="tx"> sent</label>
</fieldset>
<label><input type="checkbox" id="stacked"> stacked</label>
<button type="button" id="reset-zoom">whole range</button>
<span class="hint">drag across the chart to zoom; click a name in the legend to hide it</span>
</div>
<div id="chart"></div>
<p id="chart-note" class="note"></p>
</section>
<section id="table-section" aria-labelledby="table-title">
<h2 id="table-title">Groups</h2>
<p class="note">Click a column to sort, a row to list its flows. Hover a number for its exact value.</p>
<div class="scroll"><table id="groups"><thead></thead><tbody></tbody></table></div>
<p id="groups-empty" class="note" hidden>no bytes moved in this range</p>
</section>
<section id="flows-section" aria-labelledby="flows-title">
<h2 id="flows-title">Flows</h2>
<p id="flows-note" class="note">Select a row of the table to list the flows of its group.</p>
<div class="scroll"><table id="flows" hidden><thead></thead><tbody></tbody></table></div>
</section>
<section id="busiest-section" aria-labelledby="busiest-title">
<h2 id="busiest-title">Busiest intervals</h2>
<p class="note">The frames that moved the most bytes, all flows together. Click one to zoom the chart to it.</p>
<div class="scroll"><table id="busiest"><thead></thead><tbody></tbody></table></div>
</section>
</main>
<footer><p id="footer"></p></footer>
<script>${pageJs}</script>
</body>
</html>
`;
}
