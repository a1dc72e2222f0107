// For the HTML report's tests: a capture whose strings try to break out of the page, and the browser to open
// pages in (headless Chromium driven by playwright-core), or why there is none.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SAMPLE_HEADER } from '../../fixtures/generate';
import { formatLoadavg } from '../../src/capture/loadavg';
import { frameFlowsOf } from '../../src/capture/types';
import { CaptureWriter } from '../../src/capture/writer';

/** Text from a capture that would end the page's elements if it were not escaped. */
export const HOSTILE = {
  hostname: '</title></script><b id="injected">x',
  comm: '<img src=x>',
  other: 'a&b</script>',
};

/** A small capture with HOSTILE's strings as hostname and process names. */
export function hostileCapture(dir: string): string {
  const file = path.join(dir, 'hostile.db');
  const w = CaptureWriter.create(file, { ...SAMPLE_HEADER, hostname: HOSTILE.hostname }, { force: true });
  const load = { load1: 0.25, load5: 0.2, load15: 0.1, running: 1, tasks: 50, lastPid: 7 };
  for (let i = 1; i <= 4; i++) {
    w.append({ wallUs: SAMPLE_HEADER.startWallUs + i * 1e6, monoUs: i * 1e6, intervalUs: 1e6, loadavg: { ...load, raw: formatLoadavg(load) },
      lost: { events: 0, rxBytes: 0, txBytes: 0 } }, frameFlowsOf([
      { pid: 10, comm: HOSTILE.comm, family: 4, laddr: '10.0.0.1', lport: 80, raddr: '10.0.0.2', rport: 5000, rxBytes: 1000 * i, txBytes: 50 },
      { pid: 11, comm: HOSTILE.other, family: 4, laddr: '10.0.0.1', lport: 80, raddr: '10.0.0.3', rport: 5001, rxBytes: 10, txBytes: 700 },
    ]));
  }
  w.close(true);
  return file;
}

/** A capture of 3 frames in which no flow moved a byte. */
export function idleCapture(dir: string): string {
  const file = path.join(dir, 'idle.db');
  const w = CaptureWriter.create(file, SAMPLE_HEADER, { force: true });
  const load = { load1: 0.05, load5: 0.04, load15: 0.01, running: 1, tasks: 40, lastPid: 3 };
  for (let i = 1; i <= 3; i++) {
    w.append({ wallUs: SAMPLE_HEADER.startWallUs + i * 1e6, monoUs: i * 1e6, intervalUs: 1e6, loadavg: { ...load, raw: formatLoadavg(load) },
      lost: { events: 0, rxBytes: 0, txBytes: 0 } }, frameFlowsOf([]));
  }
  w.close(false);
  return file;
}

export const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';

/** Why pages cannot be opened here, or undefined when they can. */
export function browserUnavailable(): string | undefined {
  if (!fs.existsSync(CHROMIUM)) return `no browser at ${CHROMIUM} (install Debian's chromium package: scripts/setup does; or set CHROMIUM)`;
  try {
    require.resolve('playwright-core');
  } catch {
    return 'playwright-core is not installed (npm ci installs it)';
  }
  return undefined;
}
