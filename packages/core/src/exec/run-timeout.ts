/**
 * `build --timeout`: the whole run's deadline. When it passes, the run stops as on the first
 * Ctrl-C (nothing new starts, what runs is stopped, a begun publish finishes), but what it
 * stopped or never started is reported with reason `timeout`, and the run fails: nobody
 * chose to stop it, so CI must see a failure, not a cancellation.
 */
import { formatDuration } from '../util/duration.js';
import type { TaskFailure } from './failure.js';
import type { TaskReport } from './report.js';

export interface RunDeadline {
  /** The user's interrupt, or the deadline: what the scheduler and the tasks stop on. */
  interrupt: AbortSignal;
  /** The deadline passed before any Ctrl-C. */
  readonly expired: boolean;
  /** A report of a task the deadline stopped or kept from starting, as a timeout; any other unchanged. */
  asTimeout(report: TaskReport): TaskReport;
}

export function runDeadline(
  timeoutMs: number | undefined,
  interrupt: AbortSignal,
  onExpired: (message: string) => void,
): RunDeadline {
  if (timeoutMs === undefined) return { interrupt, expired: false, asTimeout: (report) => report };
  const deadline = AbortSignal.timeout(timeoutMs);
  const limit = formatDuration(timeoutMs);
  const state = { expired: false };
  deadline.addEventListener(
    'abort',
    () => {
      if (interrupt.aborted) return;
      state.expired = true;
      onExpired(`the run's --timeout of ${limit} passed: starting nothing new and stopping what runs`);
    },
    { once: true },
  );
  const hint =
    'give the run more time with --timeout, or make it shorter (fewer platforms, a build host for emulated ones)';
  return {
    interrupt: AbortSignal.any([interrupt, deadline]),
    get expired() {
      return state.expired;
    },
    asTimeout(report) {
      if (!state.expired || report.failure?.reason !== 'interrupted') return report;
      const started = report.start !== undefined;
      const failure: TaskFailure = {
        reason: 'timeout',
        message: `${started ? 'stopped' : 'not started'}: the run took longer than its --timeout of ${limit}`,
        hint,
      };
      return { ...report, status: started ? 'failed' : 'skipped', failure };
    },
  };
}
