// The interval loop shared by `record` and the live tool: wake on the monotonic deadlines, sample, hand the
// frame on; on SIGINT/SIGTERM end the interval in progress early so its bytes are kept, then return.
import { monoUs } from './host';
import { deadline, isLast, type Interval, type Sampler, type StopRule } from './sampler';

export type Ending = 'complete' | 'signal';

export async function runIntervals(
  sampler: Sampler,
  startMonoUs: number,
  intervalUs: number,
  stop: StopRule,
  onSample: (s: Interval, k: number) => void | Promise<void>,
  /** Runs once SIGINT and SIGTERM are caught, before the first interval: where the tool says it is counting,
   * so that a signal sent as soon as it says so ends the recording cleanly rather than the process. */
  onStart?: () => void | Promise<void>,
): Promise<Ending> {
  let signalled = false;
  let wake: (() => void) | null = null;
  const onSignal = () => {
    signalled = true;
    wake?.();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    await onStart?.();
    for (let k = 1; ; k++) {
      const due = deadline(startMonoUs, intervalUs, k, stop);
      while (!signalled) {
        const left = due - monoUs();
        if (left <= 0) break;
        await new Promise<void>((resolve) => {
          wake = resolve;
          setTimeout(resolve, Math.ceil(left / 1000));
        });
        wake = null;
      }
      await onSample(sampler.sample(), k);
      if (signalled) return 'signal';
      if (isLast(startMonoUs, intervalUs, k, stop)) return 'complete';
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
