// A stand-in recorder for tests that need a capture growing in another process: writes N frames of known
// flows, one every `ms` milliseconds, then closes cleanly. Usage: node slow-writer.js FILE N MS
import { SAMPLE_HEADER, sampleFlows } from '../../fixtures/generate';
import { frameFlowsOf } from '../../src/capture/types';
import { CaptureWriter } from '../../src/capture/writer';

const [file, n, ms] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4])];
const w = CaptureWriter.create(file, { ...SAMPLE_HEADER, intervalUs: ms * 1000 }, { force: true });
let i = 0;
const start = SAMPLE_HEADER.startWallUs;
const tick = () => {
  i++;
  const raw = `0.00 0.00 0.00 1/1 ${i}`;
  w.append({ wallUs: start + i * ms * 1000, monoUs: 1e9 + i * ms * 1000, intervalUs: ms * 1000,
    loadavg: { load1: 0, load5: 0, load15: 0, running: 1, tasks: 1, lastPid: i, raw }, lost: { events: 0, rxBytes: 0, txBytes: 0 } },
  frameFlowsOf(sampleFlows(((i - 1) % 12) + 1)));
  process.stdout.write(`frame ${i}\n`);
  if (i < n) setTimeout(tick, ms);
  else {
    w.close(true);
    process.stdout.write('closed\n');
  }
};
setTimeout(tick, ms);
