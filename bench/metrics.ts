// The live metrics endpoint at 10,000 active flows: the recorder's CPU to add each frame into the registry,
// and the latency of a scrape over HTTP, both formats. Synthetic: a registry fed 10,000 flows per frame, each
// its own label set (the worst case under the default cap), served by the real endpoint on 127.0.0.1. The
// kernel side of a recorder with 10,000 flows is what T1-T5 measure.
//   node dist/bench/metrics.js   (also part of npm run bench)
import { MetricsEndpoint } from '../src/metrics/endpoint';
import { ByteRegistry, type FlowDelta, type Health } from '../src/metrics/registry';
import { check, type Row } from './table';

const FLOWS = 10_000;
const FRAMES = 60;
const SCRAPES = 30;

function flows(frame: number): FlowDelta[] {
  const out: FlowDelta[] = new Array(FLOWS);
  for (let i = 0; i < FLOWS; i++) {
    out[i] = { pid: 1000 + (i % 50), comm: `worker-${i % 50}`, family: 4, laddr: '10.1.0.1', lport: 30000 + (i % 20000),
      raddr: `10.${2 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`, rport: 443, rxBytes: 1000 + frame, txBytes: 64 * (i % 7) };
  }
  return out;
}

const percentile = (xs: number[], p: number): number => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))];

export async function benchMetrics(log: (line: string) => void): Promise<Row[]> {
  const registry = new ByteRegistry({ keys: ['comm', 'host'], expireUs: 600e6, maxSeries: 10_000 });
  const health: Health = { frames: 0, lostEvents: 0, lostRxBytes: 0, lostTxBytes: 0, flows: FLOWS, lastDrainSeconds: 0, lastCommitSeconds: 0, probe: 'synthetic', version: 'bench' };
  const frames = Array.from({ length: FRAMES }, (_, f) => flows(f));
  log(`  ${FRAMES} frames of ${FLOWS.toLocaleString('en')} flows into the registry`);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  frames.forEach((f, i) => registry.addFrame(i * 1e6, f));
  const wallMs = (performance.now() - t0) / FRAMES;
  const cpu = process.cpuUsage(cpu0);
  const cpuMsPerFrame = (cpu.user + cpu.system) / 1000 / FRAMES;
  const endpoint = await MetricsEndpoint.start({ host: '127.0.0.1', port: 0 }, (om) => registry.render(health, om));
  const times: Record<string, number[]> = { text: [], openmetrics: [] };
  let bytes = 0;
  try {
    for (let i = 0; i < SCRAPES; i++) {
      for (const kind of ['text', 'openmetrics']) {
        const s = performance.now();
        const r = await fetch(endpoint.url, { headers: kind === 'openmetrics' ? { Accept: 'application/openmetrics-text; version=1.0.0' } : {} });
        bytes = (await r.arrayBuffer()).byteLength;
        times[kind].push(performance.now() - s);
      }
    }
  } finally {
    await endpoint.close();
  }
  const p50 = percentile(times.openmetrics, 0.5);
  const p99 = percentile(times.openmetrics, 0.99);
  log(`  scrape: ${registry.size} series, ${(bytes / 1024).toFixed(0)} KiB`);
  return [
    { target: 'metrics', what: `registry, ${FLOWS.toLocaleString('en')} flows/frame (synthetic)`, figure: `${cpuMsPerFrame.toFixed(2)} ms CPU per frame (${wallMs.toFixed(2)} ms wall), ${(cpuMsPerFrame / 10).toFixed(2)} % of a core at 1 s frames`,
      goal: '< 50 ms per frame', result: check(cpuMsPerFrame < 50) },
    { target: 'metrics', what: `scrape, ${registry.size.toLocaleString('en')} series (${(bytes / 1024).toFixed(0)} KiB)`, figure: `OpenMetrics p50 ${p50.toFixed(1)} ms, p99 ${p99.toFixed(1)} ms; text p50 ${percentile(times.text, 0.5).toFixed(1)} ms`,
      goal: 'p99 < 500 ms', result: check(p99 < 500) },
  ];
}

if (require.main === module) {
  benchMetrics((l) => process.stdout.write(`${l}\n`)).then((rows) => {
    for (const r of rows) process.stdout.write(`${r.what}: ${r.figure} [${r.result}]\n`);
  });
}
