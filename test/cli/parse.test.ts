import assert from 'node:assert/strict';
import { test } from 'node:test';
import { durationUs, parseDuration, parseInterval, parsePid, parseSize } from '../../src/cli/parse';
import { UsageError } from '../../src/errors';

test('durations: bare seconds, units, compounds', () => {
  assert.equal(durationUs('90'), 90e6);
  assert.equal(durationUs('1.5'), 1.5e6);
  assert.equal(durationUs('250ms'), 250e3);
  assert.equal(durationUs('1h30m'), 5400e6);
  assert.equal(durationUs('2d'), 172800e6);
  for (const bad of ['', 'm', '1x', '5m3', '-5s', '1 h']) assert.equal(durationUs(bad), null, bad);
  assert.throws(() => parseDuration('--window')('0'), /--window: invalid duration '0' \(expected a time above 0/);
});

test('numbers are checked against their range, and the message gives it', () => {
  assert.equal(parseInterval('interval')('0.5'), 0.5);
  assert.throws(() => parseInterval('interval')('0'), /interval: invalid value '0' \(expected a number greater than 0 and at most 86400\)/);
  assert.throws(() => parseInterval('interval')('1e3'), UsageError);
  assert.throws(() => parseInterval('interval')('Infinity'), UsageError);
  assert.equal(parsePid('-p')('181'), 181);
  for (const bad of ['0', '4194305', '1.5', 'abc', '', ' ', '0x10']) assert.throws(() => parsePid('-p')(bad), UsageError, bad);
});

test('sizes: binary multiples', () => {
  const size = parseSize('--max-size', 1 << 20);
  assert.equal(size('500M'), 500 * 2 ** 20);
  assert.equal(size('2G'), 2 * 2 ** 30);
  assert.equal(size('1.5GiB'), 1.5 * 2 ** 30);
  assert.equal(size('1048576'), 2 ** 20);
  assert.throws(() => size('10K'), /--max-size: invalid size '10K' \(expected from 1048576 bytes/);
  assert.throws(() => size('lots'), UsageError);
});
