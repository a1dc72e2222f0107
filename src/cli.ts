// The tcptop command line: registers each command; each lives in its own module.
import { buildProgram, run } from './cli/program';
import { exportCommand } from './export/command';
import { serveCommand } from './metrics/serve-command';
import { recordCommand } from './record/command';
import { liveCommand } from './live/command';
import { infoCommand } from './info/command';
import { replayCommand } from './replay/command';
import { reportCommand } from './report/command';

export async function main(argv: string[]): Promise<number> {
  return run(buildProgram(liveCommand, [recordCommand, replayCommand, infoCommand, reportCommand, exportCommand, serveCommand]), argv);
}

if (require.main === module) {
  main(process.argv).then((code) => {
    process.exitCode = code;
  });
}
