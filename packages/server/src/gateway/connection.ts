/**
 * @module connection
 * One WebSocket client: its codec, subscriptions and bounded outbound queue. Events wait in the queue (shared,
 * pre-framed buffers) until the gateway's flush writes them with one corked write per connection; the batch of a
 * fan-out group (shared-batch.ts) is written straight away when nothing waits before it. When the queue is full,
 * `latest` events are conflated per key and `stream` backlogs are replaced by one `gap` per channel.
 */
import type { Duplex } from 'node:stream';
import type { Codec, GapReason } from '@vigil/protocol';
import type { WebSocket } from 'ws';
import type { Principal } from '../auth/permissions.js';
import { frameMessage } from './frame.js';
import type { Peer } from './peer.js';
import type { PreparedEvent } from './prepared-event.js';
import { GapPart, type SharedBatch } from './shared-batch.js';
import { MODE_LATEST, MODE_STREAM, type Subscription } from './subscription.js';

/** A frame that is never dropped: replies, snapshots, pongs, errors, welcome. */
class ControlItem {
  constructor(readonly buf: Buffer) {}
}

class GapItem {
  constructor(
    readonly channel: string,
    public from: number,
    public to: number,
    readonly reason: GapReason,
  ) {}
}

/** Parts `from` to `to` (exclusive) of a fan-out group's batch, held by reference: `stream` events and feed gaps. */
class BatchItem {
  constructor(
    readonly batch: SharedBatch,
    readonly from: number,
    readonly to: number,
    readonly size: number,
  ) {}
}

type QueueItem = PreparedEvent | ControlItem | GapItem | BatchItem;

export interface QueueLimits {
  maxBytes: number;
}

export interface QueueStats {
  drops: number;
  gaps: number;
}

export class Connection implements Peer {
  readonly subs = new Map<string, Subscription>();
  readonly openedAt = Date.now();
  /** Whether writes go straight to the socket (no permessage-deflate on this connection). */
  readonly direct: boolean;
  /** Shared batches are written as they are, so only a connection whose writes go straight to the socket takes them. */
  readonly sharesBatches: boolean;
  sharedSubs = 0;
  private items: QueueItem[] = [];
  private modes: number[] = [];
  /** Under pressure: queue position of each `latest` key, so that a newer event can take its place. */
  private latestIndex: Map<string, number> | undefined;
  queuedBytes = 0;
  /** ms timestamp of the first overflow not yet relieved; 0 when the queue is healthy. */
  fullSince = 0;
  dirty = false;
  closed = false;
  lastSeq = -1;
  pingSentAt = 0;
  messagesIn = 0;
  /** The code the hub closed this connection with, when it was the hub that closed it. */
  closeCode = 0;
  /** Token bucket of the message rate limit, and refused frames in the current 10 s window. */
  tokens = 0;
  refilledAt = 0;
  violations = 0;
  violationWindow = 0;
  /**
   * Until when (ms) frames larger than `UNPARSED_REFUSAL_BYTES` are refused without being parsed: set when a
   * subscription change was refused for its cost, to the `retry_after_ms` the client was given.
   */
  indebtedUntil = 0;
  /** Until when (ms) the socket is not read, after such a refusal. */
  pausedUntil = 0;
  /** With auth on: the verified credential (none yet: only `auth` and `ping` are served), and an `auth` op in flight. */
  principal: Principal | undefined = undefined;
  /** The token `principal` was verified from, so that a configuration reload can verify it again. */
  token: string | undefined = undefined;
  authPending: Promise<void> | undefined = undefined;
  /** A `subscribe` op in flight: later frames wait for it, so a client's own frames take effect in the order sent. */
  subscribing: Promise<void> | undefined = undefined;
  /** The credential this connection is counted against in the connection limits, once known. */
  claimed: string | undefined = undefined;

  constructor(
    readonly session: string,
    readonly ws: WebSocket,
    readonly socket: Duplex,
    readonly codec: Codec,
    readonly remote: string,
    private readonly limits: QueueLimits,
    private readonly stats: QueueStats,
  ) {
    this.direct = ws.extensions === '';
    this.sharesBatches = this.direct;
  }

  /** Bytes held for this client: our queue plus what the socket has not yet handed to the kernel. */
  pendingBytes(): number {
    return this.queuedBytes + this.socket.writableLength;
  }

  /**
   * Queues an event; returns false when it was dropped because the queue is full (a `stream` drop records a gap).
   * Under pressure a `latest` event replaces the queued event of its key, or waits in up to twice the bound.
   */
  enqueueEvent(ev: PreparedEvent, mode: number, now: number): boolean {
    const size = ev.framed(this.codec).length;
    const limit = this.limits.maxBytes;
    const held = this.queuedBytes + this.socket.writableLength;
    if (held + size > limit) {
      // An event larger than the whole bound is not dropped for its size alone: a connection that holds no more
      // than the bound takes it (memory stays within the bound plus one event), and it counts against the bound
      // until written.
      if (size > limit && held <= limit) {
        this.push(ev, mode, size);
        return true;
      }
      this.relieve(now);
      if (this.queuedBytes + this.socket.writableLength + size > limit) {
        this.stats.drops++;
        if (mode === MODE_LATEST) {
          const key = ev.latestKey();
          const at = this.latestIndex?.get(key);
          if (at !== undefined) {
            const old = this.items[at] as PreparedEvent;
            this.queuedBytes += size - old.framed(this.codec).length;
            this.items[at] = ev;
            return true;
          }
          if (this.queuedBytes + size > 2 * limit) return false;
          this.stats.drops--;
        } else {
          this.addGap(ev.channel, ev.offset, ev.offset, 'slow_consumer');
          return false;
        }
      }
    }
    this.push(ev, mode, size);
    return true;
  }

  private push(ev: PreparedEvent, mode: number, size: number): void {
    if (mode === MODE_LATEST && this.latestIndex) this.latestIndex.set(ev.latestKey(), this.items.length);
    this.items.push(ev);
    this.modes.push(mode);
    this.queuedBytes += size;
  }

  takeBatch(batch: SharedBatch, from: number, to: number, now: number): number {
    if (this.closed) return 0;
    const socket = this.socket;
    const size = batch.size(this.codec, from, to);
    if (this.items.length === 0 && !socket.writableNeedDrain && socket.writableLength + size <= this.limits.maxBytes) {
      if (socket.destroyed || socket.writableEnded) return 0;
      socket.write(batch.bytes(this.codec, from, to));
      if (this.fullSince !== 0 && socket.writableLength < this.limits.maxBytes / 2) this.fullSince = 0;
      return batch.eventsIn(from, to);
    }
    const limit = this.limits.maxBytes;
    if (this.queuedBytes + socket.writableLength + size <= limit) {
      this.pushBatch(batch, from, to, size);
      return batch.eventsIn(from, to);
    }
    // Over the bound: part by part, as single events would fare (enqueueEvent). A feed gap is never dropped.
    let start = from;
    let bytes = 0;
    let accepted = 0;
    for (let i = from; i < to; i++) {
      const part = batch.parts[i]!;
      const s = batch.size(this.codec, i, i + 1);
      const held = this.queuedBytes + bytes + socket.writableLength;
      if (part instanceof GapPart || held + s <= limit || (s > limit && held <= limit)) {
        bytes += s;
        if (!(part instanceof GapPart)) accepted++;
        continue;
      }
      if (i > start) this.pushBatch(batch, start, i, bytes);
      this.relieve(now);
      start = i;
      bytes = 0;
      if (this.queuedBytes + socket.writableLength + s > limit) {
        this.stats.drops++;
        this.addGap(part.channel, part.offset, part.offset, 'slow_consumer');
        start = i + 1;
        continue;
      }
      bytes = s;
      accepted++;
    }
    if (to > start) this.pushBatch(batch, start, to, bytes);
    return accepted;
  }

  private pushBatch(batch: SharedBatch, from: number, to: number, size: number): void {
    this.items.push(new BatchItem(batch, from, to, size));
    this.modes.push(MODE_STREAM);
    this.queuedBytes += size;
  }

  /** Queues a frame object that must not be dropped. */
  enqueueControl(frame: unknown): void {
    this.enqueueEncoded(this.codec.encode(frame));
  }

  /** Queues a frame already encoded with this connection's codec, that must not be dropped. */
  enqueueEncoded(encoded: Buffer): void {
    const buf = frameMessage(encoded, this.codec.binary);
    this.items.push(new ControlItem(buf));
    this.modes.push(MODE_STREAM);
    this.queuedBytes += buf.length;
  }

  /** Records that events `from..to` of `channel` will not arrive, merging with a queued gap for the same channel. */
  addGap(channel: string, from: number, to: number, reason: GapReason): void {
    for (let i = this.items.length - 1; i >= 0; i--) {
      const item = this.items[i];
      if (item instanceof GapItem && item.channel === channel && item.reason === reason && item.to + 1 >= from) {
        if (to > item.to) item.to = to;
        if (from < item.from) item.from = from;
        return;
      }
    }
    this.items.push(new GapItem(channel, from, to, reason));
    this.modes.push(MODE_STREAM);
  }

  /**
   * Makes room: keeps only the newest `latest` event per key, then drops every queued `stream` event, replacing each
   * channel's dropped run with one gap placed after what stays (so per-channel order holds).
   */
  private relieve(now: number): void {
    if (this.fullSince === 0) this.fullSince = now;
    const items = this.items;
    const modes = this.modes;
    const seenLatest = new Set<string>();
    const dropped = new Map<string, { from: number; to: number }>();
    const keptItems: QueueItem[] = [];
    const keptModes: number[] = [];
    let bytes = 0;
    for (let i = items.length - 1; i >= 0; i--) {
      const item = items[i]!;
      if (item instanceof ControlItem) {
        keptItems.push(item);
        keptModes.push(modes[i]!);
        bytes += item.buf.length;
        continue;
      }
      if (item instanceof GapItem) {
        const d = dropped.get(item.channel);
        if (d) {
          d.from = Math.min(d.from, item.from);
          d.to = Math.max(d.to, item.to);
        } else dropped.set(item.channel, { from: item.from, to: item.to });
        continue;
      }
      if (item instanceof BatchItem) {
        const parts = item.batch.parts;
        for (let j = item.to - 1; j >= item.from; j--) {
          const part = parts[j]!;
          if (part instanceof GapPart) {
            const buf = part.framed(this.codec);
            keptItems.push(new ControlItem(buf));
            keptModes.push(MODE_STREAM);
            bytes += buf.length;
            continue;
          }
          this.stats.drops++;
          const d = dropped.get(part.channel);
          if (d) {
            d.from = Math.min(d.from, part.offset);
            d.to = Math.max(d.to, part.offset);
          } else dropped.set(part.channel, { from: part.offset, to: part.offset });
        }
        continue;
      }
      if (modes[i] === MODE_LATEST) {
        const key = item.latestKey();
        if (seenLatest.has(key)) {
          this.stats.drops++;
          continue;
        }
        seenLatest.add(key);
        keptItems.push(item);
        keptModes.push(MODE_LATEST);
        bytes += item.framed(this.codec).length;
        continue;
      }
      this.stats.drops++;
      const d = dropped.get(item.channel);
      if (d) {
        d.from = Math.min(d.from, item.offset);
        d.to = Math.max(d.to, item.offset);
      } else dropped.set(item.channel, { from: item.offset, to: item.offset });
    }
    keptItems.reverse();
    keptModes.reverse();
    this.items = keptItems;
    this.modes = keptModes;
    this.queuedBytes = bytes;
    this.latestIndex = new Map();
    for (let i = 0; i < keptItems.length; i++) {
      if (keptModes[i] === MODE_LATEST) this.latestIndex.set((keptItems[i] as PreparedEvent).latestKey(), i);
    }
    for (const [channel, range] of dropped) this.addGap(channel, range.from, range.to, 'slow_consumer');
  }

  /**
   * Writes queued frames with one corked batch, unless the socket still holds unsent data (then the queue waits for
   * 'drain', where it can still be conflated) and `force` is not set. Returns the number of event frames written.
   */
  flush(force = false): number {
    if (this.closed || this.items.length === 0) return 0;
    const socket = this.socket;
    if (socket.destroyed || socket.writableEnded) {
      this.clear();
      return 0;
    }
    if (this.direct && socket.writableNeedDrain && !force) return 0;
    const items = this.items;
    this.items = [];
    this.modes = [];
    this.latestIndex = undefined;
    this.queuedBytes = 0;
    let events = 0;
    if (this.direct) socket.cork();
    for (const item of items) {
      let buf: Buffer;
      if (item instanceof ControlItem) buf = item.buf;
      else if (item instanceof BatchItem) {
        // Only connections that share batches (direct writes) ever hold one.
        events += item.batch.eventsIn(item.from, item.to);
        buf = item.batch.bytes(this.codec, item.from, item.to);
      } else if (item instanceof GapItem) {
        this.stats.gaps++;
        const gap = { type: 'gap', channel: item.channel, from: item.from, to: item.to, reason: item.reason };
        buf = frameMessage(this.codec.encode(gap), this.codec.binary);
      } else {
        events++;
        if (!this.direct) {
          this.ws.send(item.payload(this.codec), { binary: this.codec.binary });
          continue;
        }
        buf = item.framed(this.codec);
      }
      if (this.direct) socket.write(buf);
      else this.ws.send(buf.subarray(headerLength(buf)), { binary: this.codec.binary });
    }
    if (this.direct) socket.uncork();
    if (this.fullSince !== 0 && socket.writableLength < this.limits.maxBytes / 2) this.fullSince = 0;
    return events;
  }

  hasQueued(): boolean {
    return this.items.length > 0;
  }

  clear(): void {
    this.items = [];
    this.modes = [];
    this.latestIndex = undefined;
    this.queuedBytes = 0;
  }
}

function headerLength(frame: Buffer): number {
  const len = frame[1]! & 0x7f;
  return len < 126 ? 2 : len === 126 ? 4 : 10;
}
