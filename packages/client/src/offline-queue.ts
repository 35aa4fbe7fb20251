/**
 * @module offline-queue
 * The bounded queue for `publish()` and `call()` made while the client is not connected. Policy: at most
 * `maxItems` items (default 1000) and each at most `maxAgeMs` old (default 30 s). A push onto a full queue is
 * refused (`offline_queue_full`: the newest item loses, the queued ones keep their order); an item older than
 * `maxAgeMs` is rejected with `offline_queue_expired` as soon as it expires. `drain()` hands back the rest in order.
 */
import { VigilClientError } from './errors.js';

export interface OfflineQueueOptions {
  /** Most items held; 0 turns queueing off (every offline request fails with `offline_queue_full`). Default 1000. */
  maxItems?: number;
  /** Longest wait of an item, ms. Default 30,000. */
  maxAgeMs?: number;
}

export const DEFAULT_OFFLINE_MAX_ITEMS = 1000;
export const DEFAULT_OFFLINE_MAX_AGE_MS = 30_000;

export interface QueueItem {
  reject(err: VigilClientError): void;
}

interface Entry<T> {
  item: T;
  at: number;
}

export class OfflineQueue<T extends QueueItem> {
  readonly maxItems: number;
  readonly maxAgeMs: number;
  private entries: Entry<T>[] = [];
  private head = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(options: OfflineQueueOptions = {}) {
    this.maxItems = options.maxItems ?? DEFAULT_OFFLINE_MAX_ITEMS;
    this.maxAgeMs = options.maxAgeMs ?? DEFAULT_OFFLINE_MAX_AGE_MS;
  }

  get size(): number {
    return this.entries.length - this.head;
  }

  /** Queues `item`, or rejects it with `offline_queue_full` and returns false. */
  push(item: T): boolean {
    this.expire();
    if (this.size >= this.maxItems) {
      item.reject(new VigilClientError('offline_queue_full', undefined, { max_items: this.maxItems, size: this.size }));
      return false;
    }
    this.entries.push({ item, at: Date.now() });
    this.arm();
    return true;
  }

  /** Removes and returns every item that has not expired, oldest first. */
  drain(): T[] {
    this.expire();
    const items = this.entries.slice(this.head).map((e) => e.item);
    this.reset();
    return items;
  }

  /** Rejects every queued item with `err`. */
  clear(err: VigilClientError): void {
    const entries = this.entries.slice(this.head);
    this.reset();
    for (const e of entries) e.item.reject(err);
  }

  private reset(): void {
    this.entries = [];
    this.head = 0;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private expire(): void {
    const cutoff = Date.now() - this.maxAgeMs;
    while (this.head < this.entries.length && this.entries[this.head]!.at <= cutoff) {
      const { item } = this.entries[this.head]!;
      this.head++;
      item.reject(new VigilClientError('offline_queue_expired', undefined, { max_age_ms: this.maxAgeMs }));
    }
    if (this.head > 64 && this.head * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.head);
      this.head = 0;
    }
  }

  /** Keeps one timer, due when the oldest item expires. */
  private arm(): void {
    if (this.timer !== undefined || this.size === 0) return;
    const due = this.entries[this.head]!.at + this.maxAgeMs - Date.now();
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.expire();
      this.arm();
    }, Math.max(0, due) + 1);
    (this.timer as { unref?: () => void }).unref?.();
  }
}
