/**
 * @module storage/write-queue
 * The SQLite store's write queue: appended batches wait here, sharing one promise, until the store commits them all
 * in one transaction. Commits are paced: at most one per `flushIntervalMs` (one after a quiet spell runs on the next
 * turn of the event loop), and one at once when `maxQueueSamples` are queued.
 */
import type { PendingSamples } from './pending-batch.js';

export interface WriteQueueOptions {
  flushIntervalMs: number;
  maxQueueSamples: number;
  now: () => number;
  /** Called when a commit is due; it should call `take()` and commit. */
  onDue: () => void;
}

/** What one commit takes from the queue, and how to settle the appends waiting on it. */
export interface QueuedWrites {
  parts: PendingSamples[];
  total: number;
  resolve(): void;
  reject(error: unknown): void;
}

function noop(): void {}

export class WriteQueue {
  private parts: PendingSamples[] = [];
  private total = 0;
  private promise: Promise<void> | undefined;
  private resolve: () => void = noop;
  private reject: (error: unknown) => void = noop;
  private lastTakeAt = Number.NEGATIVE_INFINITY;
  private timer: NodeJS.Timeout | undefined;
  private immediate: NodeJS.Immediate | undefined;

  constructor(private readonly o: WriteQueueOptions) {}

  get samples(): number {
    return this.total;
  }

  /** Queues a part (which the queue now owns) and returns the promise of the commit that will hold it. */
  push(part: PendingSamples): Promise<void> {
    this.parts.push(part);
    this.total += part.count;
    if (this.promise === undefined) {
      this.promise = new Promise<void>((resolve, reject) => {
        this.resolve = resolve;
        this.reject = reject;
      });
      // The store also reports commit failures to its onError: a caller that drops the promise must not crash.
      this.promise.catch(noop);
    }
    this.schedule();
    return this.promise;
  }

  /** Arms the commit for what is queued (or for other work, such as new series rows, when nothing is). */
  schedule(): void {
    const full = this.total >= this.o.maxQueueSamples;
    if (this.immediate !== undefined || (this.timer !== undefined && !full)) return;
    this.stop();
    const wait = full ? 0 : this.lastTakeAt + this.o.flushIntervalMs - this.o.now();
    // Referenced on purpose: armed only while something waits to commit, and an awaited append must complete.
    if (wait <= 0) this.immediate = setImmediate(this.o.onDue);
    else this.timer = setTimeout(this.o.onDue, wait);
  }

  /** Empties the queue for one commit. */
  take(): QueuedWrites {
    this.stop();
    this.lastTakeAt = this.o.now();
    const taken: QueuedWrites = {
      parts: this.parts,
      total: this.total,
      resolve: this.promise === undefined ? noop : this.resolve,
      reject: this.promise === undefined ? noop : this.reject,
    };
    this.parts = [];
    this.total = 0;
    this.promise = undefined;
    this.resolve = noop;
    this.reject = noop;
    return taken;
  }

  /** Disarms the pending commit, if any. */
  stop(): void {
    clearTimeout(this.timer);
    if (this.immediate !== undefined) clearImmediate(this.immediate);
    this.timer = undefined;
    this.immediate = undefined;
  }
}
