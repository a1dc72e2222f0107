// Runs tcptop in a real pseudo-terminal (a tmux pane) for the interactive view's tests: send keys, read the
// screen, wait for it to show what is expected. Each test server has its own socket and no user config.
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CLI, ROOT } from './paths';

export const TMUX = ['/usr/bin/tmux', '/usr/local/bin/tmux'].find((p) => fs.existsSync(p)) ??
  (spawnSync('sh', ['-c', 'command -v tmux'], { encoding: 'utf8' }).stdout.trim() || null);

/** Why the pseudo-terminal tests cannot run here, or undefined when they can. On CI they must run. */
export function tmuxSkip(): string | undefined {
  if (TMUX) return undefined;
  if (process.env.CI === 'true') throw new Error('tmux is missing, and the interactive view tests must run on CI (scripts/setup installs it)');
  return 'tmux is not installed';
}

let servers = 0;

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

export class Pane {
  private readonly socket = `tcptop-test-${process.pid}-${++servers}`;
  readonly target = 'view';

  /**
   * Starts `tcptop args` in a width × height pane. After it exits the pane stays and says `EXITED <status>`, so a
   * test can read what it left on the normal screen. Times are shown in a fixed zone.
   */
  constructor(args: string[], opts: { width?: number; height?: number; env?: Record<string, string> } = {}) {
    const env = { TZ: 'America/Los_Angeles', NO_COLOR: '1', ...opts.env };
    const vars = Object.entries(env).filter(([, v]) => v !== '').map(([k, v]) => `${k}=${shellQuote(v)}`).join(' ');
    const unset = Object.entries(env).filter(([, v]) => v === '').map(([k]) => `-u ${k}`).join(' ');
    const cmd = `env ${unset} ${vars} ${shellQuote(process.execPath)} ${shellQuote(CLI)} ${args.map(shellQuote).join(' ')}; echo EXITED $?; sleep 600`;
    this.tmux('-f', '/dev/null', 'new-session', '-d', '-s', this.target, '-x', String(opts.width ?? 80), '-y', String(opts.height ?? 24), '-c', ROOT, cmd);
  }

  tmux(...args: string[]): string {
    return execFileSync(TMUX!, ['-L', this.socket, ...args], { encoding: 'utf8' });
  }

  /** Keys by tmux's names (Right, PPage, Enter, Escape) or as text with `literal`. */
  send(keys: string[], literal = false): void {
    this.tmux('send-keys', '-t', this.target, ...(literal ? ['-l'] : []), ...keys);
  }

  /** The screen as text, trailing spaces cut; with `attributes`, with the SGR codes of colour and inverse. */
  screen(attributes = false): string {
    return this.tmux('capture-pane', '-p', ...(attributes ? ['-e'] : []), '-t', this.target);
  }

  /** Waits until the screen satisfies `want` (or equals it), polling; throws with the last screen on timeout. */
  async waitFor(want: string | ((screen: string) => boolean), ms = 30_000, attributes = false): Promise<string> {
    const ok = typeof want === 'string' ? (s: string) => s === want : want;
    const end = Date.now() + ms;
    let last = '';
    for (;;) {
      last = this.screen(attributes);
      if (ok(last)) return last;
      if (Date.now() > end) {
        const error = new Error(`the screen did not show what was expected within ${ms} ms`) as Error & { actual: string; expected: string };
        error.actual = last;
        if (typeof want === 'string') error.expected = want;
        throw Object.assign(error, { message: `${error.message}:\n${last}` });
      }
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  /** Everything the program writes to the terminal from now on, raw, appended to `file`. */
  pipeTo(file: string): void {
    this.tmux('pipe-pane', '-o', '-t', this.target, `cat >> ${shellQuote(file)}`);
  }

  resize(width: number, height: number): void {
    this.tmux('resize-window', '-t', this.target, '-x', String(width), '-y', String(height));
  }

  /** The pid of tcptop itself (the pane runs it under a shell). */
  pid(): number {
    const shell = this.tmux('display-message', '-p', '-t', this.target, '#{pane_pid}').trim();
    const r = spawnSync('ps', ['-o', 'pid=,args=', '--ppid', shell], { encoding: 'utf8' });
    const line = r.stdout.split('\n').find((l) => l.includes(path.basename(CLI)));
    if (!line) throw new Error(`no tcptop under the pane's shell: ${r.stdout}`);
    return Number(line.trim().split(/\s+/)[0]);
  }

  close(): void {
    let socket = '';
    try {
      socket = this.tmux('display-message', '-p', '#{socket_path}').trim();
      this.tmux('kill-server');
    } catch {
      // already gone
    }
    // The server leaves its socket behind.
    if (socket) fs.rmSync(socket, { force: true });
  }
}
