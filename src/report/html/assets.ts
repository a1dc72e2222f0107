// Reads the texts the HTML report inlines: the chart library (uPlot, from its npm package) and the page's own
// script and styles (installed next to this module: the build copies them from src/report/html/).
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { PageAssets } from './page';

let cached: PageAssets | null = null;

export function pageAssets(): PageAssets {
  if (cached) return cached;
  const read = (file: string): string => fs.readFileSync(file, 'utf8');
  // The minified browser build: one self-contained script that defines the global uPlot.
  const uplot = (name: string): string => require.resolve(`uplot/dist/${name}`);
  cached = {
    chartJs: read(uplot('uPlot.iife.min.js')),
    chartCss: read(uplot('uPlot.min.css')),
    pageJs: read(path.join(__dirname, 'browser.js')),
    pageCss: read(path.join(__dirname, 'browser.css')),
  };
  return cached;
}
