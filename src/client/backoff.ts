// Exponential backoff with full jitter (the AWS architecture blog's
// "FullJitter"): spreading retries uniformly over [0, cap) keeps many clients
// that failed together from coming back together.

export interface BackoffOptions {
  /** The cap of the first retry's delay. */
  baseMs: number;
  /** No delay is ever longer than this. */
  maxMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 100, maxMs: 1000 };

/** The cap for retry number `retry` (0 for the first retry). */
export function backoffCap(retry: number, o: BackoffOptions = DEFAULT_BACKOFF): number {
  // 2 ** 31 and beyond would only overflow into Infinity; the cap is reached long before.
  return Math.min(o.maxMs, o.baseMs * 2 ** Math.min(retry, 30));
}

/** A delay drawn uniformly from [0, cap) for retry number `retry`. */
export function backoffDelay(retry: number, o: BackoffOptions = DEFAULT_BACKOFF, random: () => number = Math.random): number {
  return Math.floor(random() * backoffCap(retry, o));
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * The wait before trying a THROTTLED call again: never sooner than the
 * server asked (`retry-after-ms`; the first backoff cap when it did not
 * say), and up to twice that, so that the calls it refused together do not
 * all come back together.
 */
export function retryAfterDelay(retryAfterMs: number | undefined, o: BackoffOptions = DEFAULT_BACKOFF, random: () => number = Math.random): number {
  const wait = retryAfterMs ?? o.baseMs;
  return wait + Math.floor(random() * wait);
}
