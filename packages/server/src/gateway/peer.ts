/**
 * @module peer
 * What the subscription manager and the outbox need from a client, whatever carries it: a WebSocket connection
 * (connection.ts) or a Server-Sent Events stream (http/sse-stream.ts). Both go through the same subscribe path,
 * recovery, per-subscription positions and fan-out.
 */
import type { GapReason } from '@vigil/protocol';
import type { PreparedEvent } from './prepared-event.js';
import type { SharedBatch } from './shared-batch.js';
import type { Subscription } from './subscription.js';

export interface Peer {
  /** This client's subscriptions by pattern. */
  readonly subs: Map<string, Subscription>;
  closed: boolean;
  /** Waiting in the outbox's dirty list. */
  dirty: boolean;
  /** The fan-out sequence number last delivered, so that an event reaches a client once when several patterns match. */
  lastSeq: number;
  /** Bytes waiting in this client's own queue. */
  queuedBytes: number;
  /** Whether its subscriptions may be plain members of fan-out groups (it takes shared batches). */
  readonly sharesBatches: boolean;
  /** How many of its subscriptions are members of fan-out groups. */
  sharedSubs: number;
  /** Queues an event; false when it was dropped (queue full). */
  enqueueEvent(ev: PreparedEvent, mode: number, now: number): boolean;
  /**
   * Takes parts `from` to `to` (exclusive) of a group's batch: written at once when nothing is queued before them and
   * the transport has room, queued by reference otherwise (under the queue bound, like single events). Returns the
   * number of events accepted.
   */
  takeBatch(batch: SharedBatch, from: number, to: number, now: number): number;
  /** Queues a frame that must not be dropped (reply, snapshot, gap, error). */
  enqueueControl(frame: unknown): void;
  /** Records that events `from..to` of `channel` will not arrive. */
  addGap(channel: string, from: number, to: number, reason: GapReason): void;
  /** Writes what is queued; returns the number of event frames written. */
  flush(force?: boolean): number;
  /** Whether anything waits in its queue for the next flush. */
  hasQueued(): boolean;
  /** Bytes held for this client: its queue plus what the transport has not yet sent. */
  pendingBytes(): number;
  clear(): void;
}
