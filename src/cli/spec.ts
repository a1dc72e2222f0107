// A command declared as data: its arguments, options and examples, and the function that runs it.
// src/cli.ts turns these into the command line; nothing here does I/O.
import { parseTimeSpec } from '../time/spec';
import { SORT_KEYS, type SortKey, type ViewOptions } from '../view/classic';
import { parseChoice, parseRows } from './parse';

export interface ArgSpec {
  /** As shown in usage: `file`, `[interval]`. Square brackets make it optional. */
  name: string;
  description: string;
  parse?: (text: string) => unknown;
}

export interface OptionSpec {
  /** Commander flags: `-p, --pid <pid>`. */
  flags: string;
  description: string;
  parse?: (text: string) => unknown;
  defaultValue?: unknown;
  /** Option names (camel case) that cannot be given with this one. */
  conflicts?: string[];
  /** Each use adds to a list instead of replacing the value. */
  repeatable?: boolean;
}

export interface CommandSpec<O = Record<string, unknown>> {
  name: string;
  summary: string;
  args: ArgSpec[];
  options: OptionSpec[];
  /** Shown under `Examples:` in --help, like the man page's EXAMPLES section. */
  examples: string[];
  run(args: unknown[], options: O): Promise<void> | void;
}

/** Options shared by the commands that render the classic view (live, replay, record --live). */
export const VIEW_OPTIONS = {
  noclear: { flags: '-C, --noclear', description: "don't clear the screen" },
  nosummary: { flags: '-S, --nosummary', description: "don't print the system summary line (load averages)" },
  rows: { flags: '-r, --rows <rows>', description: 'at most this many rows per section', parse: parseRows('-r/--rows') },
  sort: { flags: '-s, --sort <key>', description: `sort rows by ${SORT_KEYS.join('|')} bytes`, parse: parseChoice('-s/--sort', SORT_KEYS), defaultValue: 'all' },
} satisfies Record<string, OptionSpec>;

/** What VIEW_OPTIONS parse to. */
export interface ViewCliOptions {
  noclear?: boolean;
  nosummary?: boolean;
  rows?: number;
  sort: SortKey;
}

/** The classic view's settings from its command-line options. */
export function viewOptionsOf(o: ViewCliOptions): ViewOptions {
  return { clear: !o.noclear, summary: !o.nosummary, rows: o.rows, sort: o.sort };
}

/** A time range within a capture, for the commands that read one (replay, report, export). */
export const RANGE_OPTIONS = {
  from: { flags: '--from <time>', description: 'start at HH:MM[:SS], an ISO time, or +OFFSET from the start (+5m)', parse: parseTimeSpec('--from') },
  to: { flags: '--to <time>', description: 'end at HH:MM[:SS], an ISO time, or -OFFSET from the end (-10m)', parse: parseTimeSpec('--to') },
  utc: { flags: '--utc', description: "show times in UTC instead of the recording host's time zone" },
} satisfies Record<string, OptionSpec>;
