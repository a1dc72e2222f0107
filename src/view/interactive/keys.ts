// Bytes from a terminal in raw mode, as the keys the view knows: printable characters as themselves, the
// rest by name. Plain data in and out.

export type Key =
  | 'left' | 'right' | 'up' | 'down' | 'pageup' | 'pagedown' | 'home' | 'end'
  | 'enter' | 'escape' | 'backspace' | 'ctrl-c' | 'tab'
  | { char: string };

const SEQUENCES: [string, Key][] = [
  ['\x1b[A', 'up'], ['\x1bOA', 'up'],
  ['\x1b[B', 'down'], ['\x1bOB', 'down'],
  ['\x1b[C', 'right'], ['\x1bOC', 'right'],
  ['\x1b[D', 'left'], ['\x1bOD', 'left'],
  ['\x1b[5~', 'pageup'], ['\x1b[6~', 'pagedown'],
  ['\x1b[H', 'home'], ['\x1bOH', 'home'], ['\x1b[1~', 'home'], ['\x1b[7~', 'home'],
  ['\x1b[F', 'end'], ['\x1bOF', 'end'], ['\x1b[4~', 'end'], ['\x1b[8~', 'end'],
];

/** The keys in one read from the terminal. Sequences the view does not know are dropped whole. */
export function decodeKeys(input: string): Key[] {
  const keys: Key[] = [];
  let i = 0;
  while (i < input.length) {
    const c = input[i];
    if (c === '\x1b') {
      const known = SEQUENCES.find(([s]) => input.startsWith(s, i));
      if (known) {
        keys.push(known[1]);
        i += known[0].length;
        continue;
      }
      // CSI or SS3 with parameters the view does not use (F keys, modifiers): skip to its final byte.
      const m = /^\x1b(?:\[[0-9;?]*[ -/]*[@-~]|O.)/.exec(input.slice(i));
      if (m) {
        i += m[0].length;
        continue;
      }
      keys.push('escape');
      i++;
      continue;
    }
    i++;
    if (c === '\r' || c === '\n') keys.push('enter');
    else if (c === '\x7f' || c === '\b') keys.push('backspace');
    else if (c === '\x03') keys.push('ctrl-c');
    else if (c === '\t') keys.push('tab');
    else if (c >= ' ') keys.push({ char: c });
  }
  return keys;
}
