// A command declared as data: its arguments, options and examples, and the function that runs it.
// src/cli.ts turns these into the command line; nothing here does I/O.

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
  hidden?: boolean;
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

/** Options shared by the commands that render the classic view (live and replay). */
export const VIEW_OPTIONS = {
  noclear: { flags: '-C, --noclear', description: "don't clear the screen" },
  nosummary: { flags: '-S, --nosummary', description: "don't print the system summary line (load averages)" },
} satisfies Record<string, OptionSpec>;
