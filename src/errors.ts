// Errors the user can act on. The CLI prints their message as one line and exits with their status;
// anything else is a bug and is reported as such.
import { printable } from './view/printable';

export class TcptopError extends Error {
  constructor(message: string, readonly exitCode: number) {
    super(oneLine(message));
    this.name = new.target.name;
  }
}

/** A bad option or argument value: the message names the option, the value and what is accepted. */
export class UsageError extends TcptopError {
  constructor(message: string) {
    super(message, 2);
  }
}

/** A file that is not a readable tcptop capture, or one that cannot be written. */
export class CaptureError extends TcptopError {
  constructor(readonly path: string, problem: string, exitCode = 2) {
    super(`${path}: ${problem}`, exitCode);
  }
}

/** "no such file or directory" from an fs error, without Node's call details. */
export function describeErrno(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  const messages: Record<string, string> = {
    ENOENT: 'no such file or directory',
    EACCES: 'permission denied',
    EPERM: 'operation not permitted',
    EISDIR: 'is a directory',
    ENOTDIR: 'a path component is not a directory',
    ENOSPC: 'no space left on device',
    EROFS: 'read-only file system',
    ELOOP: 'is a symbolic link',
    EEXIST: 'file exists',
  };
  return (e.code && messages[e.code]) ?? e.message;
}

/**
 * Text for one line of stderr: whitespace runs folded, control characters shown as escapes, and long
 * quotes from a damaged file cut short.
 */
export function oneLine(text: string, max = 400): string {
  const flat = printable(text.replace(/\s+/g, ' '));
  return flat.length > max ? `${flat.slice(0, max - 3)}...` : flat;
}
