// One parser of /proc/self/mounts for tracefs and cgroup2, octal escapes decoded.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { mountPoints, parseMounts } from '../../src/record/mounts';

test('a mount point with a space (written \\040 by the kernel) is decoded, as are tab, newline and backslash', () => {
  const text = [
    'cgroup2 /sys/fs/cgroup cgroup2 rw,nosuid,nodev,noexec,relatime 0 0',
    'cgroup2 /mnt/my\\040cgroups cgroup2 rw,relatime 0 0',
    'nodev /mnt/a\\011b\\012c\\134d tracefs rw,relatime 0 0',
    '',
  ].join('\n');
  assert.deepEqual(parseMounts(text), [
    { source: 'cgroup2', dir: '/sys/fs/cgroup', type: 'cgroup2' },
    { source: 'cgroup2', dir: '/mnt/my cgroups', type: 'cgroup2' },
    { source: 'nodev', dir: '/mnt/a\tb\nc\\d', type: 'tracefs' },
  ]);
  assert.deepEqual(mountPoints(text, 'cgroup2'), ['/sys/fs/cgroup', '/mnt/my cgroups']);
  assert.deepEqual(mountPoints(text, 'tracefs'), ['/mnt/a\tb\nc\\d']);
  assert.deepEqual(mountPoints(text, 'proc'), []);
});
