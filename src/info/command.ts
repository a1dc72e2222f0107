// `tcptop info FILE`: what a capture is and what it holds.
import { CaptureReader } from '../capture/reader';
import { write } from '../cli/output';
import { RANGE_OPTIONS, type CommandSpec } from '../cli/spec';
import { displayZone } from '../time/zone';
import { infoJson, infoText } from './info';

export interface InfoOptions {
  json?: boolean;
  utc?: boolean;
}

export const infoCommand: CommandSpec<InfoOptions> = {
  name: 'info',
  summary: "show a capture's metadata and a summary: time span, frames, flows, bytes, clean or unclean end",
  args: [{ name: 'file', description: 'capture file' }],
  options: [
    { flags: '--json', description: 'print JSON (raw byte counts, ISO times in UTC)' },
    RANGE_OPTIONS.utc,
  ],
  examples: ['tcptop info incident.db', 'tcptop info --json incident.db | jq .rx_bytes'],
  async run(args, opts) {
    const file = args[0] as string;
    const reader = CaptureReader.open(file);
    try {
      const span = reader.span();
      const totals = span ? reader.totals(span.firstSeq, span.lastSeq) : null;
      const report = { file, meta: reader.meta, span, totals };
      await write(opts.json ? `${JSON.stringify(infoJson(report), null, 2)}\n` : infoText(report, displayZone(reader.meta, opts.utc ?? false)));
    } finally {
      reader.close();
    }
  },
};
