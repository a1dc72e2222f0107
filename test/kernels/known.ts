// Checks that fail today for a reason already diagnosed: reported as TODO (printed, not failing the
// run) until the fix lands. Remove an entry with its fix; any other failure fails the run.

export const KNOWN_FAILURES: { check: RegExp; reason: string }[] = [
  {
    // Measured on Debian's 6.1 under TCG with 2 CPUs: 5 threads waiting in tcp_recvmsg are counted
    // exactly, 12 or more are not, and the bytes do not reach the lost counters either.
    // (with the missed returns counted as lost events, the recording's lost counters are not zero)
    check: /^record --probe kprobe: (3 processes x 8 connections|\d+ threads waiting in|a connection made while \d+ threads wait|nothing lost)/,
    reason: 'kprobe: a kretprobe has max(10, 2 x CPUs) instances; calls made while that many threads wait inside tcp_sendmsg/tcp_recvmsg miss their return and their bytes are dropped uncounted (docs/kernels.md)',
  },
];

export function knownFailure(check: string): string | undefined {
  return KNOWN_FAILURES.find((k) => k.check.test(check))?.reason;
}
