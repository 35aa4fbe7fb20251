/**
 * @module live-feed
 * The node's single entry for live events: every event the broker delivers passes here before the fan-out. Per
 * channel it keeps the position handed on (a Cursor), so that what reaches the fan-out is exactly-once and in
 * offset order whatever the engine does: a networked broker may deliver late, twice, or skip events (pub/sub lags
 * the history append, a reconnect loses messages). A duplicate is dropped; a jump is filled with one history read
 * for the whole node while later events wait; history that no longer covers it, or a new epoch, becomes a `gap`
 * for every local subscriber of the channel.
 *
 * Positions of channels idle for `idleMs` are forgotten: the next event of such a channel starts a new position.
 * When a channel's first event here is not its first ever, the events just before it may have been lost or be late:
 * one history read of at most `LOOKBACK` events hands on those published while this node watched the channel (and
 * after the last event it could have handed on before forgetting it), then the event itself.
 */
import type { Broker, HistoryGap, StoredEvent } from '../broker/broker.js';
import { applyFill, Cursor, epochGap, type Fill, fillFrom } from './cursor.js';

export interface LiveFeedSink {
  /** An event to fan out, in order. */
  event(event: StoredEvent): void;
  /** Events of `channel` that will not arrive; `epoch` is the channel's epoch after the gap. */
  gap(channel: string, gap: HistoryGap, epoch: string): void;
}

/** How far back the first event of a channel on this node looks for events lost or late before it. */
export const LOOKBACK = 64;

export interface LiveFeedOptions {
  /** Forget a channel's position after this long without events. Default 10 minutes. */
  idleMs?: number;
  /** Since when this node has watched a pattern covering `channel` (undefined: nothing local covers it). */
  watchedSince?: (channel: string) => number | undefined;
  log?: (msg: string, extra: Record<string, unknown>) => void;
}

export class LiveFeed {
  private readonly cursors = new Map<string, Cursor>();
  private readonly timer: NodeJS.Timeout;
  private readonly idleMs: number;

  constructor(
    private readonly broker: Broker,
    private readonly sink: LiveFeedSink,
    private readonly options: LiveFeedOptions = {},
  ) {
    this.idleMs = options.idleMs ?? 600_000;
    this.timer = setInterval(() => this.prune(Date.now()), Math.min(60_000, this.idleMs)).unref();
  }

  /** Channels with a position held. */
  get size(): number {
    return this.cursors.size;
  }

  /** Takes one event from the broker. */
  accept(event: StoredEvent): void {
    const cursor = this.cursors.get(event.channel);
    if (cursor === undefined) {
      this.firstSight(event);
      return;
    }
    cursor.seenAt = Date.now();
    if (cursor.held !== undefined) {
      cursor.held.push(event);
      return;
    }
    this.advance(cursor, event);
  }

  /** The first event of a channel here (or since its position was forgotten). */
  private firstSight(event: StoredEvent): void {
    const now = Date.now();
    const cursor = new Cursor(event.epoch, event.offset);
    cursor.seenAt = now;
    this.cursors.set(event.channel, cursor);
    const watched = this.options.watchedSince?.(event.channel);
    if (event.offset <= 1 || watched === undefined) {
      this.sink.event(event);
      return;
    }
    // Events of this channel published before `since` were never this node's to hand on: it did not watch the
    // channel, or (a forgotten position) they came at least idleMs / 2 before anything it could have missed.
    const since = Math.max(watched, now - this.idleMs / 2);
    cursor.offset = event.offset - 1;
    cursor.held = [event];
    const channel = event.channel;
    this.broker
      .history(channel, { since: { epoch: event.epoch, offset: Math.max(0, event.offset - 1 - LOOKBACK) } })
      .then((h) => h.events.filter((e) => e.epoch === event.epoch && e.offset < event.offset && e.ts >= since))
      .catch((err: unknown) => {
        this.options.log?.('could not look back at a channel from history', { channel, err: String(err) });
        return [] as StoredEvent[];
      })
      .then((missed) => {
        const held = cursor.held ?? [];
        cursor.held = undefined;
        if (missed.length > 0) cursor.offset = missed[0]!.offset - 1;
        this.release(cursor, [...missed, ...held]);
      });
  }

  /** Hands on events that waited for a history read, in order; a new jump among them waits for its own fill. */
  private release(cursor: Cursor, held: StoredEvent[]): void {
    for (let i = 0; i < held.length; i++) {
      if (cursor.filling) {
        cursor.held!.push(...held.slice(i));
        return;
      }
      this.advance(cursor, held[i]!);
    }
  }

  private advance(cursor: Cursor, event: StoredEvent): void {
    let verdict = cursor.judge(event);
    if (verdict === 'epoch') {
      this.sink.gap(event.channel, epochGap(cursor.offset), event.epoch);
      cursor.epoch = event.epoch;
      cursor.offset = 0;
      verdict = cursor.judge(event);
    }
    if (verdict === 'duplicate') return;
    if (verdict === 'next') {
      cursor.offset = event.offset;
      this.sink.event(event);
      return;
    }
    cursor.held = [event];
    const channel = event.channel;
    fillFrom(this.broker, channel, cursor, event.offset)
      .catch((err: unknown): Fill => {
        this.options.log?.('could not fill a jump from history', { channel, err: String(err) });
        return { events: [], gap: { from: cursor.offset + 1, to: event.offset - 1, reason: 'history_expired' } };
      })
      .then((fill) => {
        const held = cursor.held ?? [];
        cursor.held = undefined;
        applyFill(
          cursor,
          fill,
          (gap) => this.sink.gap(channel, gap, cursor.epoch),
          (e) => this.sink.event(e),
        );
        this.release(cursor, held);
      });
  }

  private prune(now: number): void {
    for (const [channel, cursor] of this.cursors) {
      if (cursor.held === undefined && now - cursor.seenAt > this.idleMs) this.cursors.delete(channel);
    }
  }

  close(): void {
    clearInterval(this.timer);
    this.cursors.clear();
  }
}
