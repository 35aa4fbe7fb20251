/**
 * @module backoff
 * Full-jitter exponential backoff, the one delay policy of the SDK: reconnects and resubscribes both use it.
 * The delay before retry `attempt` (0-based) is uniform in [0, min(maxDelayMs, minDelayMs * 2^attempt)).
 */

export interface BackoffOptions {
  /** The cap of the first attempt, ms. Default 500. */
  minDelayMs?: number;
  /** The largest cap, ms. Default 20,000. */
  maxDelayMs?: number;
  /** A uniform random source in [0, 1). Default `Math.random`; tests inject a seeded one. */
  random?: () => number;
}

export const DEFAULT_MIN_DELAY_MS = 500;
export const DEFAULT_MAX_DELAY_MS = 20_000;

/** The upper bound of the delay for `attempt`: min(max, min * 2^attempt). */
export function backoffCap(attempt: number, minDelayMs: number, maxDelayMs: number): number {
  return Math.min(maxDelayMs, minDelayMs * 2 ** Math.max(0, attempt));
}

/** One draw of the full-jitter delay for `attempt`. */
export function fullJitter(attempt: number, options: BackoffOptions = {}): number {
  const min = options.minDelayMs ?? DEFAULT_MIN_DELAY_MS;
  const max = options.maxDelayMs ?? DEFAULT_MAX_DELAY_MS;
  const random = options.random ?? Math.random;
  return random() * backoffCap(attempt, min, max);
}

/** An attempt counter with its delays: `next()` draws the delay and counts the attempt, `reset()` starts over. */
export class Backoff {
  private attempt = 0;

  constructor(private readonly options: BackoffOptions = {}) {}

  get attempts(): number {
    return this.attempt;
  }

  next(): number {
    return fullJitter(this.attempt++, this.options);
  }

  reset(): void {
    this.attempt = 0;
  }
}
