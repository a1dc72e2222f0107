// Builds the command line from command specs and runs it, turning every error the user can act on into
// one line on stderr and an exit status. Stack traces are for bugs, and only with TCPTOP_DEBUG=1.
import { Command, CommanderError, Option } from 'commander';
import { TcptopError } from '../errors';
import { printable } from '../view/printable';
import type { CommandSpec } from './spec';

const VERSION: string = (require('../../../package.json') as { version: string }).version;

export function toolVersion(): string {
  return VERSION;
}

function configure(cmd: Command, spec: CommandSpec<any>): Command {
  cmd.description(spec.summary);
  for (const a of spec.args) {
    const arg = cmd.createArgument(a.name, a.description);
    if (a.parse) arg.argParser(a.parse);
    cmd.addArgument(arg);
  }
  for (const o of spec.options) {
    const opt = new Option(o.flags, o.description);
    if (o.parse) {
      const parse = o.parse;
      if (o.repeatable) opt.argParser((v: string, prev: unknown[] | undefined) => [...(prev ?? []), parse(v)]);
      else opt.argParser((v: string) => parse(v));
    }
    if (o.defaultValue !== undefined) opt.default(o.defaultValue);
    if (o.conflicts) opt.conflicts(o.conflicts);
    cmd.addOption(opt);
  }
  if (spec.examples.length) cmd.addHelpText('after', `\nExamples:\n${spec.examples.map((e) => `  ${e}`).join('\n')}\n`);
  cmd.action(async (...params: unknown[]) => {
    const self = params[params.length - 1] as Command;
    await spec.run(params.slice(0, spec.args.length), self.opts());
  });
  return cmd;
}

/** The program: `root` runs when no command is named (the classic live tool); `commands` are the rest. */
export function buildProgram(root: CommandSpec<any>, commands: CommandSpec<any>[]): Command {
  const program = new Command('tcptop');
  program.version(VERSION, '-V, --version');
  program.showHelpAfterError('(run with --help for usage)');
  // Commander quotes the offending argument: shown escaped like any other text tcptop did not write.
  const plain = (text: string): string => text.split('\n').map(printable).join('\n');
  program.configureOutput({ outputError: (text, write) => write(plain(text.replace(/^error: /, 'tcptop: '))) });
  program.exitOverride();
  // The root command (live) has options of the same names as the subcommands': each command parses its own.
  program.enablePositionalOptions();
  configure(program, root);
  for (const spec of commands) {
    const sub = configure(new Command(spec.name), spec);
    sub.exitOverride();
    sub.configureOutput({ outputError: (text, write) => write(plain(text.replace(/^error: /, `tcptop ${spec.name}: `))) });
    program.addCommand(sub);
  }
  return program;
}

/** Runs the program and returns the exit status. */
export async function run(program: Command, argv: string[]): Promise<number> {
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (err) {
    return report(err);
  }
}

function report(err: unknown): number {
  if (err instanceof CommanderError) {
    // Commander has already printed its one line (or the help/version text, which exit 0).
    return err.exitCode === 0 ? 0 : 2;
  }
  if (err instanceof TcptopError) {
    process.stderr.write(`tcptop: ${err.message}\n`);
    return err.exitCode;
  }
  if (process.env.TCPTOP_DEBUG === '1') process.stderr.write(`${(err as Error)?.stack ?? String(err)}\n`);
  const msg = err instanceof Error ? err.message : String(err);
  process.stderr.write(`tcptop: internal error: ${printable(msg.split('\n')[0])} (please report it, with TCPTOP_DEBUG=1 output)\n`);
  return 70;
}
