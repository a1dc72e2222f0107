// Text from the kernel or from a capture made printable before it reaches a terminal. Any local user names
// its own processes (prctl PR_SET_NAME) and a capture may come from anywhere, so a name must never carry
// an escape sequence of its own to the screen of the person reading it. JSON and CSV keep exact values.

// C0, DEL and C1 controls; line and paragraph separators; the bidirectional controls that reorder what
// follows them; lone surrogates and U+FFFD, which stand for bytes that were not UTF-8.
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ufffd]|\p{Cs}/u;
// eslint-disable-next-line no-control-regex
const UNSAFE_ALL = new RegExp(UNSAFE.source, 'gu');

function escape(c: string): string {
  if (c === '\ufffd' || /\p{Cs}/u.test(c)) return '?';
  const code = c.charCodeAt(0);
  return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

/**
 * `s` with every control and reordering character shown as a visible escape (`\x1b`, `\u202e`) and every
 * byte that was not UTF-8 as `?`, as ps and top show such names. Cut to a column width after this, not before.
 */
export function printable(s: string): string {
  return UNSAFE.test(s) ? s.replace(UNSAFE_ALL, escape) : s;
}
