/**
 * @module rate-limit
 * The per-connection message rate limit: a token bucket of `burst` tokens refilled at `messagesPerS`. Every frame
 * costs one token, and a subscription change costs one per pattern it names (a `subscribe` of 1,000 patterns costs
 * 1,000), so a connection cannot churn subscriptions faster than it may send frames. A refused frame counts as a
 * violation; `maxViolations` within 10 s mean the connection should be closed (4029). Subscription changes are also
 * charged to the client's own budget across all its connections (see limits/connection-limits.ts); a change refused
 * there counts as a violation too.
 */

export interface RateLimit {
  messagesPerS: number;
  burst: number;
  maxViolations: number;
}

export const VIOLATION_WINDOW_MS = 10_000;

/**
 * A connection whose subscription change was refused for its cost has, until the `retry_after_ms` it was told, every
 * frame larger than this refused unparsed (a violation each): resending large subscription frames costs the hub no
 * parsing. Smaller frames (pings, acks, small publishes) are served as usual.
 */
export const UNPARSED_REFUSAL_BYTES = 512;

/** The token bucket a client carries (a WebSocket connection, a dialect session). */
export interface Bucket {
  tokens: number;
  refilledAt: number;
  violations: number;
  violationWindow: number;
}

/**
 * Takes `cost` tokens from the bucket (at most a full bucket): `pass`, `refuse` (drop the frame with an error) or
 * `close` (too many refusals).
 */
export function takeFrame(conn: Bucket, limit: RateLimit, now: number, cost = 1): 'pass' | 'refuse' | 'close' {
  conn.tokens = Math.min(limit.burst, conn.tokens + ((now - conn.refilledAt) / 1000) * limit.messagesPerS);
  conn.refilledAt = now;
  const need = Math.min(cost, limit.burst);
  if (conn.tokens >= need) {
    conn.tokens -= need;
    return 'pass';
  }
  return countViolation(conn, limit, now);
}

/** Counts a refused frame against the bucket's holder: `close` once `maxViolations` fall within 10 s. */
export function countViolation(conn: Bucket, limit: RateLimit, now: number): 'refuse' | 'close' {
  if (now - conn.violationWindow > VIOLATION_WINDOW_MS) {
    conn.violationWindow = now;
    conn.violations = 0;
  }
  conn.violations++;
  return conn.violations >= limit.maxViolations ? 'close' : 'refuse';
}
