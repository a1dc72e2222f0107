// A stand-in recorder for tests that need a capture growing in another process: writes one frame of known
// flows for each line it reads on stdin, and closes cleanly at the end of its input. It prints
// "frame N" once frame N is committed and "closed" once the file is closed, so a test steps it frame by
// frame and waits for what it says, never for a time. Usage: node slow-writer.js FILE INTERVAL_MS
import * as readline from 'node:readline';
import { SAMPLE_HEADER, sampleFlows } from '../../fixtures/generate';
import { frameFlowsOf } from '../../src/capture/types';
import { CaptureWriter } from '../../src/capture/writer';

const [file, ms] = [process.argv[2], Number(process.argv[3])];
const w = CaptureWriter.create(file, { ...SAMPLE_HEADER, intervalUs: ms * 1000 }, { force: true });
let i = 0;
const start = SAMPLE_HEADER.startWallUs;
const lines = readline.createInterface({ input: process.stdin });
lines.on('line', () => {
  i++;
  const raw = `0.00 0.00 0.00 1/1 ${i}`;
  w.append({ wallUs: start + i * ms * 1000, monoUs: 1e9 + i * ms * 1000, intervalUs: ms * 1000,
    loadavg: { load1: 0, load5: 0, load15: 0, running: 1, tasks: 1, lastPid: i, raw }, lost: { events: 0, rxBytes: 0, txBytes: 0 } },
  frameFlowsOf(sampleFlows(((i - 1) % 12) + 1)));
  process.stdout.write(`frame ${i}\n`);
});
lines.on('close', () => {
  w.close(true);
  process.stdout.write('closed\n');
});
