/**
 * @module subscriptions
 * The subscription manager: the one place where clients (WebSocket connections and SSE streams alike) subscribe,
 * recover, and receive live events.
 *
 * How a published event reaches a socket:
 *   broker.onEvent -> LiveFeed.accept (live-feed.ts: exactly-once, in order per channel, or a gap)
 *   -> SubscriptionManager.fanOut (here: the index finds matching subscriptions; each checks its position)
 *   -> Outbox.enqueue (outbox.ts: the client's bounded queue) -> Outbox.flush -> Peer.flush (one write per client).
 *
 * Subscribe, in order on the wire: the reply, then per channel a snapshot (if any), then a gap (if any), then the
 * recovered events, then live events. The subscription is in the index before the broker is asked to watch its
 * pattern (awaited) and before positions are read, so nothing published meanwhile is missed; live events that
 * arrive meanwhile wait in the subscription (`holding`) and are sent after the recovered ones.
 *
 * Per subscription, every channel joined at a known position (an exact channel at its current offset, or a recovered
 * channel at the last recovered offset) keeps the last offset delivered: an event at or below it is dropped, a jump
 * above the next offset is filled from history (or becomes a `gap`), another epoch becomes an `epoch_changed` gap.
 */
import { performance } from 'node:perf_hooks';
import {
  compileFilter,
  type GapReason,
  isValidChannel,
  isValidPattern,
  isWildcard,
  matchChannel,
  type SubscribeFrame,
  VigilError,
} from '@vigil/protocol';
import type { Broker, HistoryGap, HistoryResult, StoredEvent, StreamPosition } from '../broker/broker.js';
import type { HubCounters } from '../observability/hub-counters.js';
import { applyFill, type Cursor, epochGap, type Fill, fillFrom } from './cursor.js';
import type { Outbox } from './outbox.js';
import type { Peer } from './peer.js';
import { PreparedEvent } from './prepared-event.js';
import type { SnapshotRegistry } from './snapshots.js';
import { MODE_STREAM, Subscription } from './subscription.js';
import { SubscriptionIndex } from './subscription-index.js';

export interface SubscriptionResult {
  channel: string;
  epoch: string;
  offset: number;
  recovered?: boolean;
}

export interface SubscriptionManagerDeps {
  broker: Broker;
  snapshots: SnapshotRegistry;
  counters: HubCounters;
  outbox: Outbox;
  maxSubscriptions: number;
  /** Sends a frame that is never dropped (reply, snapshot, gap). */
  send: (peer: Peer, frame: unknown, type: string) => void;
  log?: (msg: string, extra: Record<string, unknown>) => void;
}

interface Watch {
  count: number;
  ready: Promise<void>;
}

export class SubscriptionManager {
  readonly index = new SubscriptionIndex<Subscription>();
  private readonly watched = new Map<string, Watch>();
  private seq = 0;

  constructor(private readonly deps: SubscriptionManagerDeps) {}

  get count(): number {
    return this.index.size;
  }

  /**
   * Registers the subscriptions of `frame`, waits until the broker delivers their patterns to this node, reads
   * positions and recovered history, then calls `reply` and sends snapshots, gaps, recovered and held events in one
   * synchronous run, so that no live event slips between them.
   */
  async subscribe(
    peer: Peer,
    frame: SubscribeFrame,
    reply: (result: { subscriptions: SubscriptionResult[] }) => void,
  ): Promise<void> {
    const patterns = [...new Set(frame.channels)];
    for (const p of patterns) {
      if (!isValidPattern(p)) {
        throw new VigilError('invalid_channel', `Invalid channel or pattern '${String(p).slice(0, 300)}'`, {
          channel: p,
        });
      }
    }
    const recover = frame.recover ? Object.entries(frame.recover) : [];
    for (const [channel] of recover) {
      if (!isValidChannel(channel)) {
        throw new VigilError(
          'invalid_channel',
          `Cannot recover '${String(channel).slice(0, 300)}': not a channel name`,
          {
            channel,
          },
        );
      }
      if (!patterns.some((p) => matchChannel(p, channel))) {
        throw new VigilError('bad_request', `recover names '${channel}', which none of the channels matches`, {
          path: `/recover/${channel}`,
        });
      }
    }
    const added = patterns.filter((p) => !peer.subs.has(p)).length;
    if (peer.subs.size + added > this.deps.maxSubscriptions) {
      throw new VigilError(
        'too_many_subscriptions',
        `At most ${this.deps.maxSubscriptions} subscriptions per connection`,
        { limit: this.deps.maxSubscriptions },
      );
    }
    const filter = compileFilter(frame.filter);
    const subs: Subscription[] = [];
    for (const pattern of patterns) {
      const existing = peer.subs.get(pattern);
      if (existing) this.removeOne(peer, existing);
      const sub = new Subscription(pattern, peer, frame.mode, filter);
      peer.subs.set(pattern, sub);
      this.index.add(pattern, sub);
      subs.push(sub);
    }

    let positions: StreamPosition[];
    let histories: HistoryResult[];
    try {
      await Promise.all(patterns.map((p) => this.watch(p)));
      positions = await Promise.all(patterns.map((p) => this.deps.broker.position(p)));
      histories = await Promise.all(recover.map(([channel, since]) => this.deps.broker.history(channel, { since })));
    } catch (err) {
      for (const sub of subs) if (peer.subs.get(sub.pattern) === sub) this.removeOne(peer, sub);
      throw err;
    }
    if (peer.closed) return;

    const results: SubscriptionResult[] = patterns.map((channel, i) => ({
      channel,
      epoch: positions[i]!.epoch,
      offset: positions[i]!.offset,
    }));
    for (let i = 0; i < subs.length; i++) {
      const mine = histories.filter((_, j) => matchChannel(patterns[i]!, recover[j]![0]));
      if (mine.length > 0) results[i]!.recovered = mine.every((h) => !h.gap);
    }
    reply({ subscriptions: results });

    for (let i = 0; i < subs.length; i++) {
      const sub = subs[i]!;
      if (frame.snapshot !== false && !isWildcard(sub.pattern)) {
        const data = this.deps.snapshots.get(sub.pattern);
        if (data !== undefined) {
          this.deps.send(
            peer,
            { type: 'snapshot', channel: sub.pattern, offset: results[i]!.offset, data },
            'snapshot',
          );
        }
      }
      if (!isWildcard(sub.pattern)) {
        // Events delivered since the subscription entered the index are its first live events, even when the
        // position was read after them.
        const first = sub.holding?.find((e) => e.channel === sub.pattern)?.event;
        const p = positions[i]!;
        sub.track(sub.pattern, first ? { epoch: first.epoch, offset: Math.min(p.offset, first.offset - 1) } : p);
      }
    }
    for (let j = 0; j < recover.length; j++) {
      const [channel, since] = recover[j]!;
      const sub = subs.find((s) => matchChannel(s.pattern, channel))!;
      this.replay(sub, channel, since, histories[j]!);
    }
    for (const sub of subs) {
      const held = sub.holding ?? [];
      sub.holding = undefined;
      for (const ev of held) this.offer(sub, ev);
    }
  }

  /** Sends a gap if any, then the history after `since`, and leaves the subscription's position after them. */
  private replay(sub: Subscription, channel: string, since: StreamPosition, history: HistoryResult): void {
    if (history.gap) this.sendGap(sub.conn, channel, history.gap);
    let last = history.gap?.reason === 'epoch_changed' ? 0 : since.offset;
    for (const ev of history.events) {
      if (ev.offset <= last) continue;
      last = ev.offset;
      if (sub.filter && !sub.filter(ev)) continue;
      this.deps.outbox.enqueue(sub.conn, new PreparedEvent(ev, 0, 0), MODE_STREAM);
    }
    const skipped = history.gap?.reason === 'history_expired' ? history.gap.to : 0;
    sub.track(channel, { epoch: history.epoch, offset: Math.max(last, skipped) });
  }

  /** Delivers one live event (from the node's live feed) to every matching subscription, once per client. */
  fanOut(event: StoredEvent): void {
    const now = performance.now();
    const prepared = new PreparedEvent(event, ++this.seq, now);
    const before = this.deps.counters.eventsOut;
    this.index.forEachMatch(event.channel, (sub) => this.offer(sub, prepared));
    if (this.deps.counters.eventsOut !== before) this.deps.outbox.noteFanout(now);
  }

  /** Events of `channel` that will not arrive (seen by the node's live feed): told once to each subscribed client. */
  gapOut(channel: string, gap: HistoryGap, epoch: string): void {
    const seq = ++this.seq;
    this.index.forEachMatch(channel, (sub) => {
      if (sub.holding !== undefined) return;
      const cursor = sub.cursor(channel);
      let told = gap;
      if (cursor) {
        if (cursor.held !== undefined) return;
        if (gap.reason === 'epoch_changed') {
          if (cursor.epoch === epoch) return;
          told = epochGap(cursor.offset);
          cursor.epoch = epoch;
          cursor.offset = 0;
        } else {
          if (cursor.offset >= gap.to) return;
          told = { ...gap, from: Math.max(gap.from, cursor.offset + 1) };
          cursor.offset = gap.to;
        }
      }
      if (sub.conn.lastSeq === seq) return;
      sub.conn.lastSeq = seq;
      this.sendGap(sub.conn, channel, told);
    });
  }

  /** One event for one subscription: its position decides, then the filter, then the client's queue. */
  private offer(sub: Subscription, ev: PreparedEvent): void {
    if (sub.holding !== undefined) {
      sub.holding.push(ev);
      return;
    }
    const cursor = sub.cursor(ev.channel);
    if (cursor !== undefined) {
      if (cursor.held !== undefined) {
        cursor.held.push(ev.event);
        return;
      }
      let verdict = cursor.judge(ev.event);
      if (verdict === 'epoch') {
        this.sendGap(sub.conn, ev.channel, epochGap(cursor.offset));
        cursor.epoch = ev.event.epoch;
        cursor.offset = 0;
        verdict = cursor.judge(ev.event);
      }
      if (verdict === 'duplicate') return;
      if (verdict === 'jump') {
        this.fill(sub, cursor, ev.event);
        return;
      }
      cursor.offset = ev.offset;
    }
    const conn = sub.conn;
    if (ev.seq !== 0 && conn.lastSeq === ev.seq) return;
    if (sub.filter !== undefined && !sub.filter(ev.event)) return;
    if (ev.seq !== 0) conn.lastSeq = ev.seq;
    this.deps.outbox.enqueue(conn, ev, sub.mode);
  }

  /** A jump above a subscription's position: the missing events come from history while later ones wait. */
  private fill(sub: Subscription, cursor: Cursor, event: StoredEvent): void {
    cursor.held = [event];
    const channel = event.channel;
    fillFrom(this.deps.broker, channel, cursor, event.offset)
      .catch((err: unknown): Fill => {
        this.deps.log?.('could not fill a jump from history', { channel, err: String(err) });
        return { events: [], gap: { from: cursor.offset + 1, to: event.offset - 1, reason: 'history_expired' } };
      })
      .then((fill) => {
        const held = cursor.held ?? [];
        cursor.held = undefined;
        if (sub.conn.closed || sub.conn.subs.get(sub.pattern) !== sub) return;
        applyFill(
          cursor,
          fill,
          (gap) => this.sendGap(sub.conn, channel, gap),
          (e) => {
            if (!sub.filter || sub.filter(e)) this.deps.outbox.enqueue(sub.conn, new PreparedEvent(e, 0, 0), sub.mode);
          },
        );
        for (const e of held) this.offer(sub, new PreparedEvent(e, 0, 0));
      });
  }

  private sendGap(peer: Peer, channel: string, gap: HistoryGap & { reason: GapReason }): void {
    this.deps.counters.countGap(gap.reason);
    this.deps.send(peer, { type: 'gap', channel, from: gap.from, to: gap.to, reason: gap.reason }, 'gap');
  }

  unsubscribe(peer: Peer, channels: Iterable<string>): void {
    for (const pattern of channels) {
      const sub = peer.subs.get(pattern);
      if (sub) this.removeOne(peer, sub);
    }
  }

  removeAll(peer: Peer): void {
    for (const sub of peer.subs.values()) {
      this.index.remove(sub.pattern, sub);
      this.unwatch(sub.pattern);
    }
    peer.subs.clear();
  }

  private removeOne(peer: Peer, sub: Subscription): void {
    peer.subs.delete(sub.pattern);
    this.index.remove(sub.pattern, sub);
    this.unwatch(sub.pattern);
  }

  /** Counts local subscriptions per pattern; the broker is asked to watch a pattern when its first one comes. */
  private watch(pattern: string): Promise<void> {
    const w = this.watched.get(pattern);
    if (w) {
      w.count++;
      return w.ready;
    }
    const ready = this.deps.broker.watch(pattern);
    this.watched.set(pattern, { count: 1, ready });
    ready.catch(() => {
      if (this.watched.get(pattern)?.ready === ready) this.watched.delete(pattern);
    });
    return ready;
  }

  private unwatch(pattern: string): void {
    const w = this.watched.get(pattern);
    if (!w) return;
    if (--w.count > 0) return;
    this.watched.delete(pattern);
    this.deps.broker.unwatch(pattern).catch((err: unknown) => {
      this.deps.log?.('could not unwatch a pattern', { pattern, err: String(err) });
    });
  }
}
