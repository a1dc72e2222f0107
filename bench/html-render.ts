// Opens an HTML report in headless Chromium at 1280x800 with every network request refused, and says how long
// it took: from navigation to the page drawn (its chart and tables), and the page script's own share of that.
//   node dist/bench/html-render.js page.html          prints {"loadMs":..,"renderMs":..,"shownMs":..}
import { pathToFileURL } from 'node:url';

export interface RenderTime {
  /** From the start of navigation until the page says it is drawn: reading, parsing, the script, the chart. */
  loadMs: number;
  /** The same by the page's clock: from when it started loading to its first frame painted. */
  shownMs: number;
  /** The page script alone: parsing its data, building the chart and tables. */
  renderMs: number;
}

declare const document: { documentElement: { dataset: Record<string, string> } };
declare const window: { tcptopReport: { renderMs: number; shownMs: number } };

export async function renderTime(file: string, executablePath = process.env.CHROMIUM ?? '/usr/bin/chromium'): Promise<RenderTime> {
  const { chromium } = require('playwright-core') as typeof import('playwright-core');
  const browser = await chromium.launch({ executablePath });
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    // A first page, so starting the browser's renderer is not counted.
    await page.goto('about:blank');
    const url = pathToFileURL(file).href;
    await page.route('**/*', (r) => (r.request().url() === url ? r.continue() : r.abort()));
    const t0 = process.hrtime.bigint();
    await page.goto(url);
    await page.waitForFunction(() => document.documentElement.dataset.ready === 'true', undefined, { timeout: 30_000 });
    const loadMs = Number(process.hrtime.bigint() - t0) / 1e6;
    const page2 = await page.evaluate(() => ({ renderMs: window.tcptopReport.renderMs, shownMs: window.tcptopReport.shownMs }));
    return { loadMs, ...page2 };
  } finally {
    await browser.close();
  }
}

if (require.main === module) {
  renderTime(process.argv[2]).then((r) => process.stdout.write(`${JSON.stringify(r)}\n`), (err) => {
    process.stderr.write(`html-render: ${(err as Error).message.split('\n')[0]}\n`);
    process.exitCode = 1;
  });
}
