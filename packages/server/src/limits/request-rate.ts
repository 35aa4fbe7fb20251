/**
 * @module request-rate
 * HTTP request rate limits: a token bucket per remote address (every request, before its credential is checked, so
 * that refused credentials cost little) and one per credential (once verified). Bursts are twice the rate. A request
 * past either is answered `429 rate_limited` with `Retry-After`. Liveness and readiness probes are not counted.
 * Buckets that refilled are forgotten, and the number tracked is capped, so memory stays bounded.
 */
import { VigilError } from '@vigil/protocol';
import type { FastifyInstance, FastifyReply } from 'fastify';

export interface RequestRateConfig {
  readonly requestsPerSPerIp: number;
  readonly requestsPerSPerCredential: number;
}

const MAX_TRACKED = 100_000;
const EXEMPT = new Set(['/health', '/ready']);

interface Bucket {
  tokens: number;
  at: number;
}

/** Token buckets by key, each of `burstFactor × rate` tokens (twice the rate unless told) refilled at `rate` per second. */
export class RateBuckets {
  private readonly buckets = new Map<string, Bucket>();
  private sweptAt = 0;

  constructor(
    private readonly now: () => number = Date.now,
    private readonly burstFactor = 2,
  ) {}

  /**
   * Takes `cost` tokens (at most a full bucket) for `key`; returns 0 when it passed, else the seconds until they are
   * there.
   */
  take(key: string, rate: number, cost = 1): number {
    const now = this.now();
    const burst = this.burstFactor * rate;
    const need = Math.min(cost, burst);
    let b = this.buckets.get(key);
    if (b) {
      b.tokens = Math.min(burst, b.tokens + ((now - b.at) / 1000) * rate);
      b.at = now;
    } else {
      if (this.buckets.size >= MAX_TRACKED) this.sweep(now, rate, true);
      b = { tokens: burst, at: now };
      this.buckets.set(key, b);
    }
    if (b.tokens < need) return Math.max(1, Math.ceil((need - b.tokens) / rate));
    b.tokens -= need;
    if (now - this.sweptAt > 10_000) this.sweep(now, rate, false);
    return 0;
  }

  get size(): number {
    return this.buckets.size;
  }

  private sweep(now: number, rate: number, force: boolean): void {
    this.sweptAt = now;
    for (const [key, b] of this.buckets) {
      if (b.tokens + ((now - b.at) / 1000) * rate >= this.burstFactor * rate) this.buckets.delete(key);
    }
    if (force && this.buckets.size >= MAX_TRACKED) this.buckets.delete(this.buckets.keys().next().value!);
  }
}

function refuse(reply: FastifyReply, waitS: number, what: string, limit: number): never {
  reply.header('retry-after', String(waitS));
  throw new VigilError('rate_limited', `More than ${limit} requests/s ${what}; retry after ${waitS} s`, {
    retry_after_ms: waitS * 1000,
    limit,
  });
}

/**
 * Installs the per-address limit now (it runs before any other `onRequest` hook added later, auth included) and
 * returns the one to install after auth, for the per-credential limit.
 */
export function installRequestRate(app: FastifyInstance, config: () => RequestRateConfig): () => void {
  const byIp = new RateBuckets();
  const byCredential = new RateBuckets();
  app.addHook('onRequest', async (request, reply) => {
    if (EXEMPT.has(request.routeOptions.url ?? '')) return;
    const rate = config().requestsPerSPerIp;
    const wait = byIp.take(request.ip, rate);
    if (wait > 0) refuse(reply, wait, `from ${request.ip}`, rate);
  });
  return () =>
    app.addHook('onRequest', async (request, reply) => {
      const principal = request.principal;
      if (!principal) return;
      const rate = config().requestsPerSPerCredential;
      const wait = byCredential.take(principal.name, rate);
      if (wait > 0) refuse(reply, wait, `for '${principal.name}'`, rate);
    });
}
