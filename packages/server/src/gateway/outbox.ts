/**
 * @module outbox
 * The outbound half of the gateway: the per-client queues that fanned-out events land in, the fan-out groups' open
 * batches (shared-batch.ts), and the flush that hands every group's batch to its members and writes every dirty
 * client once per turn (or sooner, when a queue or a batch passes a quarter of the queue bound within one turn).
 */
import { performance } from 'node:perf_hooks';
import type { HubCounters } from '../observability/hub-counters.js';
import type { Peer } from './peer.js';
import type { PreparedEvent } from './prepared-event.js';
import type { BatchPart, FanoutGroup, SharedBatch } from './shared-batch.js';
import type { Subscription } from './subscription.js';

export class Outbox {
  private dirty: Peer[] = [];
  private groups: FanoutGroup[] = [];
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

  /** Adds an event or a gap to a group's open batch, for all its members at once. */
  append(group: FanoutGroup, part: BatchPart): void {
    group.batch.push(part);
    // The same early write as for one client's queue: a burst is handed out before it could fill the members' queues.
    if (group.batch.jsonBytes >= this.maxQueueBytes / 4) {
      this.deliver(group);
      return;
    }
    if (!group.dirty) {
      group.dirty = true;
      this.groups.push(group);
    }
    this.scheduleFlush();
  }

  /** Marks a client for the next flush. */
  schedule(peer: Peer): void {
    if (!peer.dirty) {
      peer.dirty = true;
      this.dirty.push(peer);
    }
    this.scheduleFlush();
  }

  private scheduleFlush(): void {
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
  }

  /**
   * Hands a member what it is owed of its group's open batch, so that whatever is queued for its client next (a
   * reply, its leaving the group) comes after it.
   */
  cut(sub: Subscription): void {
    const batch = sub.group?.batch;
    if (batch === undefined || sub.cut >= batch.length) return;
    this.hand(sub.conn, batch, sub.cut, batch.length, Date.now());
    sub.cut = batch.length;
  }

  /** `cut` for every group membership of a client. */
  cutAll(peer: Peer): void {
    if (peer.sharedSubs === 0) return;
    for (const sub of peer.subs.values()) if (sub.group !== undefined) this.cut(sub);
  }

  /** Seals a group's open batch and gives every member its share: the whole batch, or what it joined in time for. */
  private deliver(group: FanoutGroup): void {
    const batch = group.take();
    if (batch === undefined) return;
    const n = batch.length;
    const now = Date.now();
    // Backwards: a member whose client ends on taking it (an SSE stream past its bound) leaves by swapping the last
    // member, already served, into its place.
    const members = group.members;
    for (let i = members.length - 1; i >= 0; i--) {
      const sub = members[i]!;
      const from = sub.cut;
      sub.cut = 0;
      if (from < n) this.hand(sub.conn, batch, from, n, now);
    }
  }

  private hand(peer: Peer, batch: SharedBatch, from: number, to: number, now: number): void {
    this.counters.eventsOut += peer.takeBatch(batch, from, to, now);
    if (peer.hasQueued()) this.schedule(peer);
  }

  /** Records that an event received at `receivedAt` (performance.now()) reached at least one client. */
  noteFanout(receivedAt: number): void {
    if (this.pendingLatency.length < 10_000) this.pendingLatency.push(receivedAt);
  }

  /** Hands out every open batch, then writes every dirty client's queue. */
  flush(): void {
    if (this.groups.length > 0) {
      const groups = this.groups;
      this.groups = [];
      for (const group of groups) {
        group.dirty = false;
        this.deliver(group);
      }
    }
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
