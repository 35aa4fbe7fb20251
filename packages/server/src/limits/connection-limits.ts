/**
 * @module connection-limits
 * Bounds on the long-lived connections clients hold (WebSocket sessions and SSE streams): in total, per remote
 * address, per credential, and new connections per address per minute (a token bucket per address that refills a
 * minute's allowance over a minute). `open` admits or refuses a connection before any work is done for it; `claim`
 * counts it against its credential once that is known; `close` gives both back.
 *
 * It also holds each client's budget of subscription changes (`chargeSubscriptions`): a token bucket per credential, or
 * per address for a connection without one, shared by all of that client's connections and outliving them, so that
 * opening more connections or reconnecting does not buy a client more churn.
 *
 * State per address and per credential lives only while it matters (open connections, or a bucket not yet full), and
 * the number of addresses tracked is capped, so the limiter's own memory is bounded.
 */
import { RateBuckets } from './request-rate.js';

export interface ConnectionLimitsConfig {
  readonly maxConnections: number;
  readonly maxConnectionsPerIp: number;
  readonly maxConnectionsPerCredential: number;
  readonly newConnectionsPerIpPerMinute: number;
  /** Patterns one client may subscribe to or unsubscribe from per second (bursts of five times as many). */
  readonly subscriptionChangesPerS: number;
}

/** A client's subscription-change bucket holds this many seconds of its rate. */
export const SUBSCRIPTION_BURST_S = 5;

export interface Refusal {
  /** HTTP status for a refused upgrade or stream: 503 when the hub is full, 429 for one client's limits. */
  readonly status: 429 | 503;
  readonly message: string;
  /** When to try again, in seconds (`Retry-After`). */
  readonly retryAfterS: number;
  readonly details: Record<string, unknown>;
}

/** Addresses whose new-connection bucket is tracked at once; past it the oldest are forgotten. */
const MAX_TRACKED = 100_000;

interface Bucket {
  tokens: number;
  at: number;
}

export class ConnectionLimits {
  private total = 0;
  private readonly byIp = new Map<string, number>();
  private readonly byCredential = new Map<string, number>();
  private readonly fresh = new Map<string, Bucket>();
  private readonly churn: RateBuckets;
  private sweptAt = 0;

  constructor(
    private config: ConnectionLimitsConfig,
    private readonly now: () => number = Date.now,
  ) {
    this.churn = new RateBuckets(now, SUBSCRIPTION_BURST_S);
  }

  /**
   * Charges `patterns` subscription changes to `client` (`credential:<name>` or `ip:<address>`): 0 when they pass,
   * else the milliseconds until the client's bucket holds them.
   */
  chargeSubscriptions(client: string, patterns: number): number {
    const rate = this.config.subscriptionChangesPerS;
    const waitS = this.churn.take(client, rate, patterns);
    return waitS === 0 ? 0 : waitS * 1000;
  }

  /** New limits (configuration reload); connections already open stay. */
  update(config: ConnectionLimitsConfig): void {
    this.config = config;
  }

  get open(): number {
    return this.total;
  }

  /** Admits a new connection from `ip` and counts it, or says why not. */
  admit(ip: string): Refusal | undefined {
    const c = this.config;
    if (this.total >= c.maxConnections) {
      return {
        status: 503,
        message: `The hub holds ${this.total} connections (the limit)`,
        retryAfterS: 5,
        details: { limit: c.maxConnections, scope: 'total' },
      };
    }
    const held = this.byIp.get(ip) ?? 0;
    if (held >= c.maxConnectionsPerIp) {
      return {
        status: 429,
        message: `Address ${ip} holds ${held} connections (the limit)`,
        retryAfterS: 5,
        details: { limit: c.maxConnectionsPerIp, scope: 'ip' },
      };
    }
    const perMinute = c.newConnectionsPerIpPerMinute;
    const now = this.now();
    let bucket = this.fresh.get(ip);
    if (bucket) {
      bucket.tokens = Math.min(perMinute, bucket.tokens + ((now - bucket.at) / 60_000) * perMinute);
      bucket.at = now;
    } else {
      if (this.fresh.size >= MAX_TRACKED) this.fresh.delete(this.fresh.keys().next().value!);
      bucket = { tokens: perMinute, at: now };
      this.fresh.set(ip, bucket);
    }
    if (bucket.tokens < 1) {
      return {
        status: 429,
        message: `Address ${ip} opened more than ${perMinute} connections in a minute`,
        retryAfterS: Math.max(1, Math.ceil(((1 - bucket.tokens) * 60) / perMinute)),
        details: { limit: perMinute, scope: 'ip_rate' },
      };
    }
    bucket.tokens -= 1;
    this.total++;
    this.byIp.set(ip, held + 1);
    return undefined;
  }

  /** Counts an admitted connection against its credential, or says why not (the caller then closes it). */
  claim(credential: string): Refusal | undefined {
    const held = this.byCredential.get(credential) ?? 0;
    if (held >= this.config.maxConnectionsPerCredential) {
      return {
        status: 429,
        message: `Credential '${credential}' holds ${held} connections (the limit)`,
        retryAfterS: 5,
        details: { limit: this.config.maxConnectionsPerCredential, scope: 'credential' },
      };
    }
    this.byCredential.set(credential, held + 1);
    return undefined;
  }

  /** Gives back a credential's claim (the connection closed, or moved to another credential). */
  unclaim(credential: string): void {
    const held = this.byCredential.get(credential) ?? 0;
    if (held <= 1) this.byCredential.delete(credential);
    else this.byCredential.set(credential, held - 1);
  }

  /** Gives back an admitted connection. */
  release(ip: string): void {
    this.total = Math.max(0, this.total - 1);
    const held = this.byIp.get(ip) ?? 0;
    if (held <= 1) this.byIp.delete(ip);
    else this.byIp.set(ip, held - 1);
    this.forgetFull();
  }

  /** Drops the buckets that have refilled (they hold nothing a fresh bucket would not), at most every 10 s. */
  private forgetFull(): void {
    const now = this.now();
    if (this.fresh.size < 1024 || now - this.sweptAt < 10_000) return;
    this.sweptAt = now;
    const perMinute = this.config.newConnectionsPerIpPerMinute;
    for (const [ip, b] of this.fresh) {
      if (b.tokens + ((now - b.at) / 60_000) * perMinute >= perMinute) this.fresh.delete(ip);
    }
  }
}
