/**
 * Backoff for registry operations: exponential, with "equal jitter" (half fixed, half random) so that many tasks
 * retrying against one registry do not come back in step. Pure; the clock and the
 * randomness are given.
 */

export interface RetryPolicy {
  /** Retries after the first attempt (0: never retry). */
  retries: number;
  /** First delay before jitter, in ms. */
  baseMs: number;
  /** No delay is longer than this, Retry-After included. */
  maxMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { retries: 4, baseMs: 1000, maxMs: 30_000 };

/**
 * Delay before retry number `retry` (1-based). A registry's Retry-After wins over the
 * backoff when it asks for longer, up to the cap.
 */
export function backoffDelay(policy: RetryPolicy, retry: number, random: () => number, retryAfterMs?: number): number {
  const ceiling = Math.min(policy.maxMs, policy.baseMs * 2 ** (retry - 1));
  // Half fixed, half random: never zero, never in step.
  const jittered = Math.round(ceiling / 2 + random() * (ceiling / 2));
  return retryAfterMs === undefined ? jittered : Math.min(policy.maxMs, Math.max(jittered, retryAfterMs));
}

/** Retry-After is either seconds or an HTTP date (RFC 9110 10.2.3). */
export function parseRetryAfter(value: string | undefined | null, now: number): number | undefined {
  if (value === undefined || value === null || value.trim() === '') return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** Resolves after `ms`, or at once when the signal aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) {
      resolve();
      return;
    }
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
