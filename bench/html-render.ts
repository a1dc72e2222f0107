// Opens an HTML report in headless Chromium at 1280x800 with every network request refused, several times, and
// says how long it took to be drawn: the first load in a fresh browser (cold: fonts, caches), then the median and
// spread of the loads after it.
//   node dist/bench/html-render.js page.html [loads]     prints {"coldMs":..,"shownMs":..,"minMs":..,...}
import { pathToFileURL } from 'node:url';

/** One load: from the start of navigation (the page's clock) to its first frame painted with all of it. */
export interface Load {
  shownMs: number;
  /** The page script alone: parsing its data, building the chart and tables. */
  renderMs: number;
}

export interface RenderTime {
  /** The first load in a fresh browser. */
  coldMs: number;
  /** The median of the loads after it, and their least and greatest. */
  shownMs: number;
  minMs: number;
  maxMs: number;
  /** The page script's share in those loads (median). */
  renderMs: number;
  loads: number;
}

declare const document: { documentElement: { dataset: Record<string, string> } };
declare const window: { tcptopReport: { renderMs: number; shownMs: number } };

const median = (values: number[]): number => {
  const v = [...values].sort((a, b) => a - b);
  return v.length % 2 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
};

export async function renderTime(file: string, loads = 7, executablePath = process.env.CHROMIUM ?? '/usr/bin/chromium'): Promise<RenderTime> {
  const { chromium } = require('playwright-core') as typeof import('playwright-core');
  const browser = await chromium.launch({ executablePath });
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const url = pathToFileURL(file).href;
    await page.route('**/*', (r) => (r.request().url() === url ? r.continue() : r.abort()));
    const times: Load[] = [];
    for (let i = 0; i <= loads; i++) {
      // From a blank page each time, as a reader opens the file: the browser's renderer already runs.
      await page.goto('about:blank');
      await page.goto(url);
      await page.waitForFunction(() => document.documentElement.dataset.ready === 'true', undefined, { timeout: 60_000 });
      times.push(await page.evaluate(() => ({ shownMs: window.tcptopReport.shownMs, renderMs: window.tcptopReport.renderMs })));
    }
    const [cold, ...warm] = times;
    const shown = warm.map((t) => t.shownMs);
    return { coldMs: cold.shownMs, shownMs: median(shown), minMs: Math.min(...shown), maxMs: Math.max(...shown),
      renderMs: median(warm.map((t) => t.renderMs)), loads };
  } finally {
    await browser.close();
  }
}

if (require.main === module) {
  renderTime(process.argv[2], process.argv[3] === undefined ? undefined : Number(process.argv[3])).then((r) => process.stdout.write(`${JSON.stringify(r)}\n`), (err) => {
    process.stderr.write(`html-render: ${(err as Error).message.split('\n')[0]}\n`);
    process.exitCode = 1;
  });
}
