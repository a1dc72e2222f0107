// Reading tracefs for the kprobe probe: where it is mounted, and the misses of our kretprobes.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { kretprobeMisses, tracefsMounts } from '../../src/record/tracefs';

test('tracefs mounts are found in /proc/self/mounts, spaces in paths decoded', () => {
  const mounts = [
    'sysfs /sys sysfs rw,nosuid,nodev,noexec,relatime 0 0',
    'debugfs /sys/kernel/debug debugfs rw,relatime 0 0',
    'tracefs /sys/kernel/tracing tracefs rw,relatime 0 0',
    'nodev /mnt/my\\040traces tracefs rw,relatime 0 0',
    '',
  ].join('\n');
  assert.deepEqual(tracefsMounts(mounts), ['/sys/kernel/tracing', '/mnt/my traces']);
  assert.deepEqual(tracefsMounts('proc /proc proc rw 0 0\n'), []);
});

// As the kernel prints it: "  %-44s %15lu %15lu\n", name, hits, misses (for a kretprobe the calls
// that found no free instance, plus those hit while another kprobe ran).
const profile = [
  '  tcptop_212_0_tcp_sendmsg                              1042              17',
  '  tcptop_212_1_tcp_recvmsg                               988               3',
  '  tcptop_99_0_tcp_sendmsg                                  5               1000',
  '  myprobe                                                 12               0',
  '',
].join('\n');

test('the misses of our kretprobe events are summed; other events are not counted', () => {
  assert.equal(kretprobeMisses(profile, ['tcptop_212_0_tcp_sendmsg', 'tcptop_212_1_tcp_recvmsg']), 20);
  assert.equal(kretprobeMisses(profile, ['tcptop_212_1_tcp_recvmsg']), 3);
  assert.equal(kretprobeMisses(profile, []), 0);
});

test('an event missing from the profile gives no number rather than zero', () => {
  assert.equal(kretprobeMisses(profile, ['tcptop_212_0_tcp_sendmsg', 'tcptop_212_2_tcp_sendpage']), undefined);
  assert.equal(kretprobeMisses('', ['tcptop_212_0_tcp_sendmsg']), undefined);
});
