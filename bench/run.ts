// Runs the benchmarks and prints their figures (npm run bench). Exits non-zero when a target is missed.
import { benchReport, reportTargetsMet } from './report';

const log = (line: string): void => {
  process.stdout.write(`${line}\n`);
};

log(`tcptop report, node ${process.version}, ${process.platform}/${process.arch}`);
const report = benchReport({ log });
const ok = reportTargetsMet(report);
log(ok ? 'report: targets met (>= 2 M samples/s, < 300 MB)' : 'report: TARGET MISSED (>= 2 M samples/s, < 300 MB)');
process.exitCode = ok ? 0 : 1;
