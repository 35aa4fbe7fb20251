/**
 * @module tail-buffer
 * What the Live tail shows: the events and gaps of one subscription, newest first, capped at `limit` rows. Rows
 * arrive at socket speed; listeners hear about them once per animation frame, so 1,000 events a second cost one
 * render per frame. While paused, rows are counted but not kept.
 */
import type { GapContext, Subscription, VigilClient, VigilEvent } from '@vigil/client';
import { createBatcher } from '@vigil/client/react';
import type { Filter } from '@vigil/protocol';

export type TailRow =
  | { type: 'event'; id: string; event: VigilEvent; at: number }
  | { type: 'gap'; id: string; gap: GapContext; at: number };

export const DEFAULT_TAIL_LIMIT = 5000;

export class TailBuffer {
  /** Newest first. */
  rows: TailRow[] = [];
  received = 0;
  droppedWhilePaused = 0;
  paused = false;
  error: string | undefined;
  private readonly sub: Subscription;
  private readonly listeners = new Set<() => void>();
  private readonly batcher = createBatcher(() => {
    for (const l of this.listeners) l();
  });
  private pending: TailRow[] = [];
  private seq = 0;

  constructor(
    client: VigilClient,
    pattern: string,
    filter: Filter | undefined,
    readonly limit = DEFAULT_TAIL_LIMIT,
  ) {
    this.sub = client.subscribe(pattern, filter ? { filter } : {});
    this.sub.on('event', (event) => {
      this.received++;
      this.push({ type: 'event', id: `${event.channel}@${event.epoch}:${event.offset}`, event, at: Date.now() });
    });
    this.sub.on('gap', (gap) => this.push({ type: 'gap', id: `gap-${++this.seq}`, gap, at: Date.now() }));
    this.sub.on('error', ({ error }) => {
      this.error = error.message;
      this.batcher.schedule();
    });
  }

  private push(row: TailRow): void {
    if (this.paused && row.type === 'event') {
      this.droppedWhilePaused++;
      this.batcher.schedule();
      return;
    }
    this.pending.push(row);
    if (this.pending.length > this.limit) this.pending.splice(0, this.pending.length - this.limit);
    this.batcher.schedule();
  }

  /** Moves what arrived since the last frame into `rows`; called by the view once per frame. */
  flush(): void {
    if (this.pending.length === 0) return;
    const fresh = this.pending.reverse();
    this.pending = [];
    const next = fresh.concat(this.rows);
    this.rows = next.length > this.limit ? next.slice(0, this.limit) : next;
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  clear(): void {
    this.rows = [];
    this.pending = [];
    this.received = 0;
    this.droppedWhilePaused = 0;
    this.batcher.schedule();
  }

  close(): void {
    this.batcher.cancel();
    this.listeners.clear();
    this.sub.unsubscribe();
  }
}
