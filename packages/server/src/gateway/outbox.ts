/**
 * @module outbox
 * The outbound half of the gateway: the per-client queues that fanned-out events land in, and the flush that writes
 * every dirty client once per turn (or sooner, when a queue passes a quarter of its bound within one turn).
 */
import { performance } from 'node:perf_hooks';
import type { HubCounters } from '../observability/hub-counters.js';
import type { Peer } from './peer.js';
import type { PreparedEvent } from './prepared-event.js';

export class Outbox {
  private dirty: Peer[] = [];
  private flushScheduled = false;
  private pendingLatency: number[] = [];

  constructor(
    private readonly maxQueueBytes: number,
    private readonly counters: HubCounters,
    private readonly observeFanout: ((seconds: number) => void) | undefined,
  ) {}

  /** Queues an event for one client. */
  enqueue(peer: Peer, ev: PreparedEvent, mode: number): void {
    if (peer.closed) return;
    if (peer.enqueueEvent(ev, mode, Date.now())) this.counters.eventsOut++;
    // A burst within one turn (many requests read in one go) must not fill a queue that a healthy client would
    // drain: past a quarter of the bound, write now instead of waiting for the end of the turn.
    if (peer.queuedBytes >= this.maxQueueBytes / 4) peer.flush();
    this.schedule(peer);
  }

  /** Marks a client for the next flush. */
  schedule(peer: Peer): void {
    if (!peer.dirty) {
      peer.dirty = true;
      this.dirty.push(peer);
    }
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
  }

  /** Records that an event received at `receivedAt` (performance.now()) reached at least one client. */
  noteFanout(receivedAt: number): void {
    if (this.pendingLatency.length < 10_000) this.pendingLatency.push(receivedAt);
  }

  /** Writes every dirty client's queue. */
  flush(): void {
    this.flushScheduled = false;
    const dirty = this.dirty;
    this.dirty = [];
    for (const peer of dirty) {
      peer.dirty = false;
      peer.flush();
    }
    if (this.pendingLatency.length > 0 && this.observeFanout) {
      const now = performance.now();
      for (const t of this.pendingLatency) this.observeFanout((now - t) / 1000);
      this.pendingLatency = [];
    }
  }
}
