/**
 * @module requests
 * Requests in flight, by frame id: each has a timeout and settles exactly once, with the reply's result, the hub's
 * error as a `VigilClientError`, `timeout`, or the error passed to `rejectAll()` when the connection goes away.
 */
import type { ErrorBody } from '@vigil/protocol';
import { VigilClientError } from './errors.js';

interface Pending {
  resolve(value: unknown): void;
  reject(err: VigilClientError): void;
  timer: ReturnType<typeof setTimeout>;
}

export class PendingRequests {
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;

  get size(): number {
    return this.pending.size;
  }

  /** Registers a request; returns the id to put in its frame. */
  add(
    timeoutMs: number,
    resolve: (value: unknown) => void,
    reject: (err: VigilClientError) => void,
    what: string,
  ): number {
    const id = this.nextId++;
    const timer = setTimeout(() => {
      this.pending.delete(id);
      reject(new VigilClientError('timeout', `No reply to ${what} within ${timeoutMs} ms`, { timeout_ms: timeoutMs }));
    }, timeoutMs);
    this.pending.set(id, { resolve, reject, timer });
    return id;
  }

  /** Settles the request `id` with a success. Returns false for unknown ids. */
  resolve(id: unknown, value: unknown): boolean {
    const p = typeof id === 'number' ? this.pending.get(id) : undefined;
    if (!p) return false;
    this.pending.delete(id as number);
    clearTimeout(p.timer);
    p.resolve(value);
    return true;
  }

  /** Settles the request `id` with the hub's error. */
  fail(id: unknown, body: ErrorBody): boolean {
    const p = typeof id === 'number' ? this.pending.get(id) : undefined;
    if (!p) return false;
    this.pending.delete(id as number);
    clearTimeout(p.timer);
    p.reject(VigilClientError.fromBody(body));
    return true;
  }

  /** Settles the request `id` with `err` (an error of the SDK's own, or one from REST). */
  reject(id: number, err: VigilClientError): boolean {
    const p = this.pending.get(id);
    if (!p) return false;
    this.pending.delete(id);
    clearTimeout(p.timer);
    p.reject(err);
    return true;
  }

  rejectAll(err: VigilClientError): void {
    const all = [...this.pending.values()];
    this.pending.clear();
    for (const p of all) {
      clearTimeout(p.timer);
      p.reject(err);
    }
  }
}
