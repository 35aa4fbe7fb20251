/**
 * @module peer
 * What the subscription manager and the outbox need from a client, whatever carries it: a WebSocket connection
 * (connection.ts) or a Server-Sent Events stream (http/sse-stream.ts). Both go through the same subscribe path,
 * recovery, per-subscription positions and fan-out.
 */
import type { GapReason } from '@vigil/protocol';
import type { PreparedEvent } from './prepared-event.js';
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
  /** Queues an event; false when it was dropped (queue full). */
  enqueueEvent(ev: PreparedEvent, mode: number, now: number): boolean;
  /** Queues a frame that must not be dropped (reply, snapshot, gap, error). */
  enqueueControl(frame: unknown): void;
  /** Records that events `from..to` of `channel` will not arrive. */
  addGap(channel: string, from: number, to: number, reason: GapReason): void;
  /** Writes what is queued; returns the number of event frames written. */
  flush(force?: boolean): number;
  /** Bytes held for this client: its queue plus what the transport has not yet sent. */
  pendingBytes(): number;
  clear(): void;
}
