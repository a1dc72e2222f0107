// The terminal edge of the interactive view: the alternate screen, raw keys, resizes, and frames written as
// the lines that changed, in one write each, inside synchronized-output marks.
import * as fs from 'node:fs';

const ENTER = '\x1b[?1049h\x1b[?25l\x1b[?7l\x1b[2J';
/** Leaves everything as it was: attributes reset, autowrap on, cursor shown, the normal screen back. */
export const LEAVE = '\x1b[0m\x1b[?7h\x1b[?25h\x1b[?1049l';
const SYNC_BEGIN = '\x1b[?2026h';
const SYNC_END = '\x1b[?2026l';

/** Visible columns of a line: its length without SGR codes. */
function visibleLength(line: string): number {
  // eslint-disable-next-line no-control-regex
  return line.replace(/\x1b\[[0-9;]*m/g, '').length;
}

/**
 * What to write to turn `prev` into `next` on a `width`-column screen: each changed line rewritten from its
 * first column and the rest of it erased, all between the marks. Empty when nothing changed.
 */
export function diffFrame(prev: readonly string[], next: readonly string[], width: number): string {
  let out = '';
  for (let i = 0; i < next.length; i++) {
    if (prev[i] === next[i]) continue;
    // A line that fills the width is not followed by an erase: at the last column that would erase its last cell.
    out += `\x1b[${i + 1};1H${next[i]}${visibleLength(next[i]) < width ? '\x1b[K' : ''}`;
  }
  return out ? `${SYNC_BEGIN}${out}${SYNC_END}` : '';
}

export interface TerminalHandlers {
  onKeys(data: string): void;
  onResize(): void;
}

export class Terminal {
  private shown: string[] = [];
  private active = false;
  private readonly restoreOnExit = (): void => this.leave();
  private handlers: TerminalHandlers | null = null;
  private readonly resized = (): void => {
    this.shown = [];
    this.writeNow('\x1b[2J');
    this.handlers?.onResize();
  };

  constructor(private readonly input: NodeJS.ReadStream, private readonly output: NodeJS.WriteStream) {}

  get width(): number {
    return this.output.columns || 80;
  }

  get height(): number {
    return this.output.rows || 24;
  }

  enter(h: TerminalHandlers): void {
    this.active = true;
    // Whatever ends the process, the terminal is given back.
    process.on('exit', this.restoreOnExit);
    this.input.setRawMode(true);
    this.input.setEncoding('utf8');
    this.handlers = h;
    this.input.on('data', h.onKeys);
    this.input.resume();
    this.output.on('resize', this.resized);
    this.writeNow(ENTER);
  }

  /** Shows `lines`, writing only those that differ from what the screen shows; nothing once the terminal is given back. */
  draw(lines: string[]): void {
    if (!this.active) return;
    const text = diffFrame(this.shown, lines, this.width);
    this.shown = lines;
    if (text) this.writeNow(text);
  }

  leave(): void {
    if (!this.active) return;
    this.active = false;
    process.off('exit', this.restoreOnExit);
    if (this.handlers) this.input.off('data', this.handlers.onKeys);
    this.output.off('resize', this.resized);
    this.handlers = null;
    try {
      this.input.setRawMode(false);
    } catch {
      // stdin already gone
    }
    this.input.pause();
    this.writeNow(LEAVE);
  }

  /** Synchronous: the frame reaches the terminal whole, and the restore happens even while exiting. */
  private writeNow(text: string): void {
    const fd = (this.output as unknown as { fd?: number }).fd ?? 1;
    const buf = Buffer.from(text);
    let off = 0;
    while (off < buf.length) {
      try {
        off += fs.writeSync(fd, buf, off);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EAGAIN') continue;
        if ((err as NodeJS.ErrnoException).code === 'EPIPE' || (err as NodeJS.ErrnoException).code === 'EIO') return;
        throw err;
      }
    }
  }
}
