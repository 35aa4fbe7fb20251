/**
 * @module delivery
 * One outbound webhook POST with a per-attempt timeout and retries: exponential backoff (`backoffMs`, doubling) with
 * equal jitter, up to `maxAttempts`. Any network error, timeout or non-2xx answer counts as a failed attempt. The
 * waits between attempts run on the injected scheduler; an abort (the part stopping) ends the loop at once.
 */
import { type Scheduler, sleepOn } from './scheduler.js';

export interface DeliveryOptions {
  readonly timeoutMs: number;
  readonly maxAttempts: number;
  readonly backoffMs: number;
  readonly scheduler: Scheduler;
  /** [0, 1); Math.random by default. */
  readonly random?: () => number;
  /** Aborting stops retrying (and cancels the attempt in flight). */
  readonly signal?: AbortSignal;
  readonly headers?: Readonly<Record<string, string>>;
}

export interface DeliveryResult {
  readonly ok: boolean;
  readonly attempts: number;
  /** The last failure, when `ok` is false. */
  readonly error?: string;
  /** True when the loop ended because `signal` aborted. */
  readonly aborted?: boolean;
}

/** The wait before attempt `attempt + 1` (attempt counts from 1): `backoff · 2^(attempt-1)`, jittered to [½, 1]. */
export function backoffDelay(backoffMs: number, attempt: number, random: () => number = Math.random): number {
  const full = backoffMs * 2 ** Math.min(attempt - 1, 20);
  return Math.round(full / 2 + (full / 2) * random());
}

async function attemptOnce(url: string, body: string, opts: DeliveryOptions): Promise<string | undefined> {
  const controller = new AbortController();
  const onAbort = () => controller.abort();
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  // The attempt timeout is network time, so it runs on a real timer whatever the scheduler is.
  const timer = setTimeout(() => controller.abort(), opts.timeoutMs);
  try {
    const res = await fetch(url, {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/json', 'user-agent': 'vigil-notifier/1', ...opts.headers },
      signal: controller.signal,
    });
    const text = await res.text().catch(() => '');
    if (res.ok) return undefined;
    return `HTTP ${res.status}${text ? `: ${text.slice(0, 200)}` : ''}`;
  } catch (err) {
    if (controller.signal.aborted && !opts.signal?.aborted) return `timeout after ${opts.timeoutMs} ms`;
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    return cause?.code ?? cause?.message ?? (err as Error).message ?? String(err);
  } finally {
    clearTimeout(timer);
    opts.signal?.removeEventListener('abort', onAbort);
  }
}

/** POSTs `payload` as JSON to `url` until one attempt succeeds or `maxAttempts` have failed. */
export async function postJson(url: string, payload: unknown, opts: DeliveryOptions): Promise<DeliveryResult> {
  const body = JSON.stringify(payload);
  const random = opts.random ?? Math.random;
  let error = 'not attempted';
  for (let attempt = 1; attempt <= opts.maxAttempts; attempt++) {
    if (opts.signal?.aborted) return { ok: false, attempts: attempt - 1, error, aborted: true };
    const failure = await attemptOnce(url, body, opts);
    if (failure === undefined) return { ok: true, attempts: attempt };
    error = failure;
    if (attempt === opts.maxAttempts) return { ok: false, attempts: attempt, error };
    const waited = await sleepOn(opts.scheduler, backoffDelay(opts.backoffMs, attempt, random), opts.signal);
    if (!waited) return { ok: false, attempts: attempt, error, aborted: true };
  }
  return { ok: false, attempts: opts.maxAttempts, error };
}
