// Runs the benchmarks (npm run bench, as root) and prints one table of figures against their targets.
// Exits 0 only when every target is met; a target that could not be measured counts as missed.
// `npm run bench -- shapes kernel` runs only the named groups: kernel (T1 to T5, storm), shapes (the load-shape
// matrix and the real server), vm (ratios in a VM kernel), captures (T6, T7), churn, names, report, metrics, view;
// breakdown runs the shapes with the kernel program's steps measured on every shape, not only where one misses.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { benchCaptures } from './capture';
import { benchInteractive } from './interactive';
import { benchKernel } from './kernel';
import { benchMetrics } from './metrics';
import { machine } from './recorder';
import { benchReport, htmlFigure, htmlTargetMet, HTML_MAX_SHOWN_MS, HTML_MAX_MB, type ReportBench } from './report';
import { benchWriterChurn } from './writer';
import { benchCgroupsNames, benchCgroupT1 } from './names';
import { benchExecutable } from './executable';
import { benchShapes } from './shapes';
import { benchVm } from './vm';
import { buildLoader } from './load';
import { check, formatTable, grouped, notRun, type Row } from './table';

const log = (line: string): void => {
  process.stdout.write(`${line}\n`);
};

const ORDER = ['T1', 'T1 info', 'T2', 'T2 info', 'T3', 'shape', 'shape info', 'server', 'vm', 'T4', 'T4 info', 'T5', 'T5 info', 'storm', 'churn', 'names', 'T6', 'T7', 'report', 'view', 'metrics', 'executable'];

function reportRows(b: ReportBench): Row[] {
  const h = b.html;
  const html: Row = {
    target: 'report', what: `report --format html (hour, ${grouped(b.samples)} samples, by host)`,
    figure: htmlFigure(h),
    goal: `<= ${HTML_MAX_MB} MB, drawn <= ${HTML_MAX_SHOWN_MS} ms (median)`,
    result: check(htmlTargetMet(h)),
  };
  return [...b.runs.map((r) => {
    const targeted = r.name === 'report --by host' || r.name === 'report --chart';
    return {
      target: 'report', what: `${r.name} (hour, ${grouped(b.samples)} samples)`,
      figure: `${(r.samplesPerSecond / 1e6).toFixed(2)} M samples/s (${r.seconds.toFixed(2)} s), peak RSS ${r.peakRssMb.toFixed(0)} MB`,
      goal: targeted ? '>= 2 M samples/s, < 300 MB' : 'none',
      result: targeted ? check(r.samplesPerSecond >= 2e6 && r.peakRssMb < 300) : 'info',
    };
  }), html];
}

async function main(): Promise<number> {
  const started = new Date();
  const header = [
    `tcptop benchmarks, ${started.toISOString().slice(0, 16).replace('T', ' ')} UTC`,
    `machine: ${machine()}`,
    `kernel:  ${os.type()} ${os.release()} (${os.arch()}), node ${process.version}`,
  ];
  log(header.join('\n'));
  const groups = process.argv.slice(2);
  const GROUPS = ['kernel', 'cgroup', 'shapes', 'breakdown', 'vm', 'captures', 'churn', 'names', 'report', 'metrics', 'view', 'executable'];
  const unknown = groups.filter((g) => !GROUPS.includes(g));
  if (unknown.length > 0) {
    process.stderr.write(`bench: unknown group ${unknown.join(', ')} (choose from ${GROUPS.join(', ')})\n`);
    return 2;
  }
  const want = (g: string) => groups.length === 0 || groups.includes(g);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tcptop-bench-'));
  const rows: Row[] = [];
  try {
    const kernel = want('kernel') ? await benchKernel(dir, log) : { rows: [], realCapture: undefined };
    rows.push(...kernel.rows);
    if (want('cgroup')) {
      log('T1 with the flow cgroup noted and not, alternating');
      rows.push(...(await benchCgroupT1(dir, log)));
    }
    const breakdown = groups.includes('breakdown');
    if (want('shapes') || breakdown) {
      log('the load-shape matrix: tcptop beside the floor and bpftrace on each shape');
      rows.push(...(await benchShapes(dir, log, breakdown)));
    }
    if (want('vm')) {
      log("per-event ratios on this host and in Debian's 6.12 kernel under qemu");
      rows.push(...(await benchVm(dir, buildLoader(dir, log), log)));
    }
    if (want('captures')) {
      try {
        rows.push(...(await benchCaptures(dir, kernel.realCapture?.file, log)));
      } catch (err) {
        rows.push(notRun('T6', 'capture size', (err as Error).message), notRun('T7', 'replay', (err as Error).message));
      }
    }
    if (want('churn')) {
      log('the writer under connection churn');
      rows.push(benchWriterChurn(dir));
    }
    if (want('names')) {
      log('cgroups and names: 10,000 flows, 500 cgroups, 1,000 addresses');
      rows.push(benchCgroupsNames(dir));
    }
    if (want('report')) {
      log('report and chart over the generated hour');
      rows.push(...reportRows(benchReport({ log: (l) => log(`  ${l}`) })));
    }
    if (want('metrics')) {
      log('the live metrics endpoint at 10,000 flows');
      rows.push(...(await benchMetrics(dir, (l) => log(l))));
    }
    if (want('view')) {
      log('the interactive view over the generated hour: each key to its screen');
      try {
        rows.push(...benchInteractive(dir, (l) => log(l)));
      } catch (err) {
        rows.push(notRun('view', 'interactive view, key to screen', (err as Error).message, '<= 50 ms, < 150 MB'));
      }
    }
    if (want('executable')) {
      log('the single executable: size and start-up');
      try {
        rows.push(...benchExecutable(dir, (l) => log(l)));
      } catch (err) {
        rows.push(notRun('executable', 'single executable: size and start-up', (err as Error).message));
      }
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  rows.sort((a, b) => ORDER.indexOf(a.target) - ORDER.indexOf(b.target));
  const failed = rows.filter((r) => r.result === 'FAIL');
  log('');
  log(header.join('\n'));
  log(`load: loopback TCP, 64-byte sends and their receives, bench/load.c; events/s from the programs' run_cnt`);
  log('');
  log(formatTable(rows));
  log('');
  const minutes = (Date.now() - started.getTime()) / 60_000;
  log(failed.length === 0 ? `all targets met (${minutes.toFixed(1)} min)` : `FAIL: ${failed.length} of ${rows.filter((r) => r.result !== 'info').length} targets missed: ${failed.map((r) => `${r.target} ${r.what}`).join('; ')} (${minutes.toFixed(1)} min)`);
  return failed.length === 0 ? 0 : 1;
}

main().then((code) => {
  process.exitCode = code;
}, (err) => {
  process.stderr.write(`bench: ${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
});
