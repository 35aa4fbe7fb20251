/**
 * @module outbox
 * The outbound half of the gateway: fan-out of broker events to matching subscriptions, the per-connection queues
 * they land in, and the flush that writes every dirty connection once per turn (or sooner, when a queue passes a
 * quarter of its bound within one turn).
 */
import { performance } from 'node:perf_hooks';
import type { StoredEvent } from '../broker/broker.js';
import type { HubCounters } from '../observability/hub-counters.js';
import type { Connection, Subscription } from './connection.js';
import { PreparedEvent } from './prepared-event.js';
import type { SubscriptionIndex } from './subscription-index.js';

export class Outbox {
  private dirty: Connection[] = [];
  private flushScheduled = false;
  private pendingLatency: number[] = [];
  private seq = 0;

  constructor(
    private readonly index: SubscriptionIndex<Subscription>,
    private readonly maxQueueBytes: number,
    private readonly counters: HubCounters,
    private readonly observeFanout: ((seconds: number) => void) | undefined,
  ) {}

  /** Queues an event for one connection. */
  enqueue(conn: Connection, ev: PreparedEvent, mode: number): void {
    if (conn.closed) return;
    if (conn.enqueueEvent(ev, mode, Date.now())) this.counters.eventsOut++;
    // A burst within one turn (many requests read in one go) must not fill a queue that a healthy client would
    // drain: past a quarter of the bound, write now instead of waiting for the end of the turn.
    if (conn.queuedBytes >= this.maxQueueBytes / 4) conn.flush();
    this.schedule(conn);
  }

  /** Marks a connection for the next flush. */
  schedule(conn: Connection): void {
    if (!conn.dirty) {
      conn.dirty = true;
      this.dirty.push(conn);
    }
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
  }

  /** Writes every dirty connection's queue. */
  flush(): void {
    this.flushScheduled = false;
    const dirty = this.dirty;
    this.dirty = [];
    for (const conn of dirty) {
      conn.dirty = false;
      conn.flush();
    }
    if (this.pendingLatency.length > 0 && this.observeFanout) {
      const now = performance.now();
      for (const t of this.pendingLatency) this.observeFanout((now - t) / 1000);
      this.pendingLatency = [];
    }
  }

  /** Delivers one broker event to every matching subscription on this node, once per connection. */
  fanOut(event: StoredEvent): void {
    const seq = ++this.seq;
    const now = performance.now();
    const prepared = new PreparedEvent(event, seq, now);
    let reached = 0;
    this.index.forEachMatch(event.channel, (sub: Subscription) => {
      const conn = sub.conn;
      if (conn.lastSeq === seq) return;
      if (sub.filter !== undefined && !sub.filter(event)) return;
      conn.lastSeq = seq;
      if (sub.holding !== undefined) {
        sub.holding.push(prepared);
        return;
      }
      reached++;
      this.enqueue(conn, prepared, sub.mode);
    });
    if (reached > 0 && this.pendingLatency.length < 10_000) this.pendingLatency.push(now);
  }
}
