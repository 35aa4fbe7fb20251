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
 */
import type { Broker, HistoryGap, StoredEvent } from '../broker/broker.js';
import { applyFill, Cursor, epochGap, type Fill, fillFrom } from './cursor.js';

export interface LiveFeedSink {
  /** An event to fan out, in order. */
  event(event: StoredEvent): void;
  /** Events of `channel` that will not arrive; `epoch` is the channel's epoch after the gap. */
  gap(channel: string, gap: HistoryGap, epoch: string): void;
}

export interface LiveFeedOptions {
  /** Forget a channel's position after this long without events. Default 10 minutes. */
  idleMs?: number;
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
      const fresh = new Cursor(event.epoch, event.offset);
      fresh.seenAt = Date.now();
      this.cursors.set(event.channel, fresh);
      this.sink.event(event);
      return;
    }
    cursor.seenAt = Date.now();
    if (cursor.held !== undefined) {
      cursor.held.push(event);
      return;
    }
    this.advance(cursor, event);
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
        for (let i = 0; i < held.length; i++) {
          // A new jump among the held events starts another fill; the rest wait behind it.
          if (cursor.filling) {
            cursor.held!.push(...held.slice(i));
            return;
          }
          this.advance(cursor, held[i]!);
        }
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
