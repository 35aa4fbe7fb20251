/**
 * @module dialect-session
 * One client of a dialect path as a gateway Peer: it subscribes through the gateway's subscription manager like a v1
 * connection or an SSE stream, so events reach it through the one fan-out. What it writes is its dialect's frames:
 * each event is translated and framed once per dialect (dialect-server.ts) and the same buffer goes to every session
 * of that dialect. Its outbound queue is bounded by `gateway.max_queue_bytes`: past it, events are dropped (counted
 * as queue drops) and a queue that stays full for `gateway.slow_consumer_timeout` closes the session (4008).
 * Priority events (critical alerts, P0/P1 incidents) may use a second bound's worth of room and are written ahead of
 * the ordinary events still queued, so pressure never drops or delays them behind lower-priority ones.
 */
import type { Duplex } from 'node:stream';
import type { GapReason } from '@vigil/protocol';
import type { WebSocket } from 'ws';
import type { Principal } from '../auth/permissions.js';
import type { StoredEvent } from '../broker/broker.js';
import { frameMessage } from '../gateway/frame.js';
import type { Peer } from '../gateway/peer.js';
import type { PreparedEvent } from '../gateway/prepared-event.js';
import type { SharedBatch } from '../gateway/shared-batch.js';
import type { Subscription } from '../gateway/subscription.js';

/** What a session needs from its dialect to write an event. */
export interface EventWriter {
  /** The framed dialect message for `ev` (shared by all sessions of the dialect), or undefined to leave it out. */
  frame(ev: PreparedEvent, session: DialectSession): Buffer | undefined;
  /** Whether the event must not be dropped or delayed behind ordinary ones. */
  urgent(event: StoredEvent): boolean;
}

export interface SessionStats {
  drops: number;
}

export class DialectSession implements Peer {
  readonly subs = new Map<string, Subscription>();
  closed = false;
  dirty = false;
  lastSeq = -1;
  queuedBytes = 0;
  readonly sharesBatches = false;
  sharedSubs = 0;
  readonly openedAt = Date.now();
  /** Time of the last frame received from the client. */
  lastActivity = Date.now();
  /** ms timestamp of the first drop not yet relieved; 0 when the queue is healthy. */
  fullSince = 0;
  pingSentAt = 0;
  /** Token bucket of the message rate limit (gateway.rate_limit). */
  tokens = 0;
  refilledAt = 0;
  violations = 0;
  violationWindow = 0;
  messagesIn = 0;
  messagesOut = 0;
  /** The verified credential when auth is on. */
  principal: Principal | undefined = undefined;
  /** The token `principal` was verified from (a configuration reload verifies it again). */
  token: string | undefined = undefined;
  /** Frames (events and replies) waiting for the next flush; urgent ones go first. */
  private urgentItems: Buffer[] = [];
  private items: Buffer[] = [];
  /** Messages read but not yet handled: they are handled one after the other, in the order sent. */
  inFlight = 0;
  turn: Promise<void> = Promise.resolve();
  /** What the client said about itself at connect (`meta.<key>` query parameters). */
  metadata: Record<string, string> = {};
  /** Dialect-specific per-session state (filters). */
  state: Record<string, unknown> = {};

  constructor(
    readonly id: string,
    readonly dialect: string,
    readonly ws: WebSocket,
    readonly socket: Duplex,
    readonly remote: string,
    private readonly writer: EventWriter,
    private readonly maxBytes: number,
    private readonly stats: SessionStats,
  ) {}

  pendingBytes(): number {
    return this.queuedBytes + this.socket.writableLength;
  }

  enqueueEvent(ev: PreparedEvent, _mode: number, now: number): boolean {
    if (this.closed) return false;
    const buf = this.writer.frame(ev, this);
    if (buf === undefined) return false;
    const urgent = this.writer.urgent(ev.event);
    const limit = urgent ? 2 * this.maxBytes : this.maxBytes;
    if (this.pendingBytes() + buf.length > limit && !(buf.length > limit && this.pendingBytes() === 0)) {
      this.stats.drops++;
      if (this.fullSince === 0) this.fullSince = now;
      return false;
    }
    if (urgent) this.urgentItems.push(buf);
    else this.items.push(buf);
    this.queuedBytes += buf.length;
    return true;
  }

  takeBatch(_batch: SharedBatch, _from: number, _to: number, _now: number): number {
    // Never a member of a fan-out group (sharesBatches is false).
    return 0;
  }

  /** Frames of the subscription manager (gaps, snapshots, replies) have no place in a dialect. */
  enqueueControl(_frame: unknown): void {}

  addGap(_channel: string, _from: number, _to: number, _reason: GapReason): void {}

  /** Queues a dialect message that is never dropped (replies, initial state, errors). */
  send(message: unknown): void {
    if (this.closed) return;
    const buf = frameMessage(Buffer.from(JSON.stringify(message)), false);
    this.urgentItems.push(buf);
    this.queuedBytes += buf.length;
  }

  /**
   * Writes what is queued, urgent frames first. Ordinary frames are written only while the socket takes them without
   * buffering past its high-water mark (or all of them with `force`); the rest wait here for 'drain', so that an
   * urgent frame that comes meanwhile is written before them instead of behind a full socket buffer.
   */
  flush(force = false): number {
    if (this.closed || (this.items.length === 0 && this.urgentItems.length === 0)) return 0;
    const socket = this.socket;
    if (socket.destroyed || socket.writableEnded) {
      this.clear();
      return 0;
    }
    const urgent = this.urgentItems;
    if (urgent.length === 0 && socket.writableNeedDrain && !force) return 0;
    this.urgentItems = [];
    let written = 0;
    let bytes = 0;
    socket.cork();
    for (const buf of urgent) {
      socket.write(buf);
      bytes += buf.length;
    }
    written += urgent.length;
    const items = this.items;
    let i = 0;
    if (force || !socket.writableNeedDrain) {
      while (i < items.length) {
        const buf = items[i++]!;
        bytes += buf.length;
        if (!socket.write(buf) && !force) break;
      }
    }
    socket.uncork();
    written += i;
    this.items = i === items.length ? [] : items.slice(i);
    this.queuedBytes -= bytes;
    this.messagesOut += written;
    if (this.fullSince !== 0 && this.pendingBytes() < this.maxBytes / 2) this.fullSince = 0;
    return written;
  }

  hasQueued(): boolean {
    return this.items.length > 0 || this.urgentItems.length > 0;
  }

  clear(): void {
    this.items = [];
    this.urgentItems = [];
    this.queuedBytes = 0;
  }
}
