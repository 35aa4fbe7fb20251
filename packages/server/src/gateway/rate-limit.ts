/**
 * @module rate-limit
 * The per-connection message rate limit: a token bucket of `burst` frames refilled at `messagesPerS`. A refused
 * frame counts as a violation; `maxViolations` within 10 s mean the connection should be closed (4029).
 */
import type { Connection } from './connection.js';

export interface RateLimit {
  messagesPerS: number;
  burst: number;
  maxViolations: number;
}

export const VIOLATION_WINDOW_MS = 10_000;

/** Takes one frame from the bucket: `pass`, `refuse` (drop it with an error) or `close` (too many refusals). */
export function takeFrame(conn: Connection, limit: RateLimit, now: number): 'pass' | 'refuse' | 'close' {
  conn.tokens = Math.min(limit.burst, conn.tokens + ((now - conn.refilledAt) / 1000) * limit.messagesPerS);
  conn.refilledAt = now;
  if (conn.tokens >= 1) {
    conn.tokens -= 1;
    return 'pass';
  }
  if (now - conn.violationWindow > VIOLATION_WINDOW_MS) {
    conn.violationWindow = now;
    conn.violations = 0;
  }
  conn.violations++;
  return conn.violations >= limit.maxViolations ? 'close' : 'refuse';
}
