import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { oneLine, tcptop } from '../helpers/cli';
import { tempDir } from '../helpers/tmp';

test('record refuses bad metrics options in one line, before attaching anything or creating the file', (t) => {
  const out = path.join(tempDir(t), 'x.db');
  const bad: [string[], RegExp][] = [
    [['--metrics-listen', '0.0.0.0:9464'], /^tcptop: --metrics-listen: 0\.0\.0\.0 is not a loopback address: .* add --metrics-listen-any/],
    [['--metrics-listen', '9464'], /^tcptop: --metrics-listen: invalid address '9464'/],
    [['--metrics-by', 'comm'], /^tcptop: --metrics-by: only with --metrics-listen$/],
    [['--metrics-listen', '127.0.0.1:0', '--metrics-by', 'flow'], /--metrics-by: invalid value 'flow'/],
    [['--metrics-listen', '127.0.0.1:0', '--metrics-expire', 'soon'], /^tcptop: --metrics-expire: invalid duration 'soon'/],
    [['--metrics-listen', '127.0.0.1:0', '--metrics-max-series', '0'], /--metrics-max-series: invalid value '0'/],
  ];
  for (const [args, re] of bad) {
    const r = tcptop(['record', '-o', out, ...args]);
    assert.equal(r.status, 2, args.join(' '));
    assert.match(oneLine(r), re);
    assert.equal(fs.existsSync(out), false);
  }
});
