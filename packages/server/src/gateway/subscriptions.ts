/**
 * @module subscriptions
 * The subscription manager: the one place where clients (WebSocket connections and SSE streams alike) subscribe,
 * recover, and receive live events.
 *
 * How a published event reaches a socket:
 *   broker.onEvent -> LiveFeed.accept (live-feed.ts: exactly-once, in order per channel, or a gap)
 *   -> SubscriptionManager.fanOut (here), two ways:
 *      - plain subscriptions (`stream`, their client has no other subscription matching the same channels) share a
 *        fan-out group per pattern and filter (shared-batch.ts): the group checks the position and the filter once
 *        and appends the event to its open batch (Outbox.append); at the flush every member's client gets the
 *        batch's frames as one shared buffer (Peer.takeBatch): one write per client per flush;
 *      - the others (`latest`, overlapping patterns, a subscribe in flight, a compressed connection, a position of
 *        their own) are found in the index one by one; each checks its position and filter, and the event goes to
 *        the client's bounded queue (Outbox.enqueue) -> Outbox.flush -> Peer.flush (one write per client).
 *   A subscription moves between the two as that changes; a member leaving mid-turn first takes what it is owed of
 *   the open batch (Outbox.cut), so each client's frames keep their order.
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
  filterKey,
  type GapReason,
  isValidChannel,
  isValidPattern,
  isWildcard,
  matchChannel,
  type SubscribeFrame,
  segmentsOverlap,
  VigilError,
} from '@vigil/protocol';
import type { Broker, HistoryGap, HistoryResult, StoredEvent, StreamPosition } from '../broker/broker.js';
import type { HubCounters } from '../observability/hub-counters.js';
import { applyFill, Cursor, epochGap, type Fill, fillFrom } from './cursor.js';
import type { Outbox } from './outbox.js';
import type { Peer } from './peer.js';
import { PreparedEvent } from './prepared-event.js';
import { FanoutGroup, GapPart } from './shared-batch.js';
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

/** A client holding more subscriptions than this is served one by one (see `share`). */
export const MAX_SHARED_SUBSCRIPTIONS = 32;

/** Whether two subscriptions' patterns can match one channel (each pattern split once, when it was made). */
function overlap(a: Subscription, b: Subscription): boolean {
  if (a.pattern === b.pattern) return true;
  if (!a.wildcard && !b.wildcard) return false;
  return segmentsOverlap(a.segments, b.segments);
}

interface Watch {
  count: number;
  ready: Promise<void>;
  /** When this node began watching the pattern (ms since the epoch). */
  since: number;
}

export class SubscriptionManager {
  /** Subscriptions served one by one (not members of a fan-out group). */
  private readonly index = new SubscriptionIndex<Subscription>();
  /** Fan-out groups by pattern, and by pattern and filter. */
  private readonly groups = new SubscriptionIndex<FanoutGroup>();
  private readonly groupsByKey = new Map<string, FanoutGroup>();
  private shared = 0;
  /** Subscriptions that could join a group but are not at its position yet: tried again after each event. */
  private readonly waiting = new Set<Subscription>();
  private readonly watched = new Map<string, Watch>();
  private seq = 0;

  constructor(private readonly deps: SubscriptionManagerDeps) {}

  get count(): number {
    return this.index.size + this.shared;
  }

  /** Fan-out groups and their members, for stats and tests. */
  get groupStats(): { groups: number; members: number } {
    return { groups: this.groupsByKey.size, members: this.shared };
  }

  /** Subscriptions on this node whose pattern matches `channel`. */
  /** Subscribers per exact channel on this node, the busiest `limit` of them (for cluster presence). */
  busiestChannels(limit: number): Record<string, number> {
    return this.index.busiestChannels(limit);
  }

  subscriberCount(channel: string): number {
    let n = 0;
    this.index.forEachMatch(channel, () => {
      n++;
    });
    this.groups.forEachMatch(channel, (group) => {
      n += group.members.length;
    });
    return n;
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
    const key = filter === undefined ? '' : filterKey(frame.filter);
    const subs: Subscription[] = [];
    for (const pattern of patterns) {
      const existing = peer.subs.get(pattern);
      if (existing) this.removeOne(peer, existing);
      const sub = new Subscription(pattern, peer, frame.mode, filter, key);
      // A client gets an event once even when several of its patterns match: that needs the one-by-one path.
      for (const other of peer.subs.values()) {
        if (other.group !== undefined && overlap(other, sub)) this.unshare(other);
      }
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
      const elsewhere = sub.deliveredElsewhere;
      sub.holding = undefined;
      sub.deliveredElsewhere = undefined;
      for (const ev of held) {
        if (elsewhere?.has(ev)) this.pass(sub, ev);
        else this.offer(sub, ev, false);
      }
    }
    for (const sub of subs) this.share(sub);
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
    let reached = false;
    // Groups first: a group that cannot take the event dissolves into the index, where the loop below finds them.
    this.groups.forEachMatch(event.channel, (group) => {
      if (this.offerGroup(group, prepared)) reached = true;
    });
    const before = this.deps.counters.eventsOut;
    this.index.forEachMatch(event.channel, (sub) => this.offer(sub, prepared));
    if (reached || this.deps.counters.eventsOut !== before) this.deps.outbox.noteFanout(now);
    if (this.waiting.size > 0) for (const sub of [...this.waiting]) this.share(sub);
  }

  /** One event for a group: its position and filter decide once for every member. True when appended. */
  private offerGroup(group: FanoutGroup, ev: PreparedEvent): boolean {
    if (group.members.length === 0) return false;
    const cursor = group.cursor;
    if (cursor !== undefined) {
      let verdict = cursor.judge(ev.event);
      if (verdict === 'epoch') {
        this.appendGap(group, ev.channel, epochGap(cursor.offset));
        cursor.epoch = ev.event.epoch;
        cursor.offset = 0;
        verdict = cursor.judge(ev.event);
      }
      if (verdict === 'duplicate') return false;
      if (verdict === 'jump') {
        // Each member fills the jump from history on its own, as any subscription with a position does.
        for (const sub of [...group.members]) this.unshare(sub);
        return false;
      }
      cursor.offset = ev.offset;
    }
    if (group.filter !== undefined && !group.filter(ev.event)) return false;
    this.deps.outbox.append(group, ev);
    return true;
  }

  private appendGap(group: FanoutGroup, channel: string, gap: HistoryGap & { reason: GapReason }): void {
    for (let i = 0; i < group.members.length; i++) {
      this.deps.counters.countGap(gap.reason);
      this.deps.counters.countOut('gap');
    }
    this.deps.outbox.append(group, new GapPart(channel, gap.from, gap.to, gap.reason));
  }

  /** Events of `channel` that will not arrive (seen by the node's live feed): told once to each subscribed client. */
  gapOut(channel: string, gap: HistoryGap, epoch: string): void {
    const seq = ++this.seq;
    this.groups.forEachMatch(channel, (group) => {
      if (group.members.length === 0) return;
      const cursor = group.cursor;
      let told = gap;
      if (cursor) {
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
      this.appendGap(group, channel, told);
    });
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

  /**
   * One event for one subscription: its position decides, then the filter, then the client's queue. A live event
   * (`live`) goes to a client once, through the first of its subscriptions that keeps it; while that one's subscribe
   * is in flight, it is held there, and the client's other subscriptions let it pass.
   */
  private offer(sub: Subscription, ev: PreparedEvent, live = true): void {
    if (sub.holding !== undefined) {
      const conn = sub.conn;
      if (ev.seq !== 0 && conn.lastSeq === ev.seq) {
        sub.deliveredElsewhere ??= new Set();
        sub.deliveredElsewhere.add(ev);
      } else if (ev.seq !== 0 && (sub.filter === undefined || sub.filter(ev.event))) conn.lastSeq = ev.seq;
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
    if (live && ev.seq !== 0 && conn.lastSeq === ev.seq) return;
    if (sub.filter !== undefined && !sub.filter(ev.event)) return;
    if (ev.seq !== 0) conn.lastSeq = ev.seq;
    this.deps.outbox.enqueue(conn, ev, sub.mode);
  }

  /** A held event another subscription of the client delivered (with all before it): the position moves past it. */
  private pass(sub: Subscription, ev: PreparedEvent): void {
    const cursor = sub.cursor(ev.channel);
    if (cursor === undefined || cursor.held !== undefined || cursor.epoch !== ev.event.epoch) return;
    if (ev.offset > cursor.offset) cursor.offset = ev.offset;
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
        this.share(sub);
      });
  }

  /**
   * Moves `sub` into the fan-out group of its pattern and filter when it is plain: `stream`, live, its client takes
   * shared batches and has no other subscription that could match the same channels, and no position of its own
   * other than its exact channel's, which must be the group's.
   */
  private share(sub: Subscription): void {
    this.waiting.delete(sub);
    const peer = sub.conn;
    if (sub.group !== undefined || peer.closed || peer.subs.get(sub.pattern) !== sub) return;
    if (!peer.sharesBatches || sub.holding !== undefined || sub.mode !== MODE_STREAM) return;
    // A client with many patterns is served one by one: checking each against all the others would cost the square
    // of their number on every change, and shared batches pay off for many clients of one pattern, not this.
    if (peer.subs.size > MAX_SHARED_SUBSCRIPTIONS) return;
    const own = sub.cursor(sub.pattern);
    if (sub.wildcard ? sub.tracksOthers : own === undefined || own.filling) return;
    for (const other of peer.subs.values()) {
      if (other !== sub && overlap(other, sub)) return;
    }
    const key = `${sub.pattern}\n${sub.filterKey}`;
    let group = this.groupsByKey.get(key);
    if (group === undefined) {
      group = new FanoutGroup(sub.pattern, key, sub.filter, own ? new Cursor(own.epoch, own.offset) : undefined);
      this.groupsByKey.set(key, group);
      this.groups.add(sub.pattern, group);
    } else if (own !== undefined && (own.epoch !== group.cursor!.epoch || own.offset !== group.cursor!.offset)) {
      // Not at the group's position yet (the broker's live feed may lag its history): once the events between have
      // passed, it is.
      this.waiting.add(sub);
      return;
    }
    this.index.remove(sub.pattern, sub);
    group.add(sub);
    this.shared++;
  }

  /** Takes `sub` out of its group, back to the one-by-one path, at the position the group has reached. */
  private unshare(sub: Subscription): void {
    const group = sub.group!;
    this.leave(sub);
    if (group.cursor !== undefined) sub.track(sub.pattern, group.cursor);
    this.index.add(sub.pattern, sub);
  }

  private leave(sub: Subscription): void {
    const group = sub.group!;
    if (!sub.conn.closed) this.deps.outbox.cut(sub);
    group.remove(sub);
    this.shared--;
    if (group.members.length === 0) {
      this.groupsByKey.delete(group.key);
      this.groups.remove(group.pattern, group);
    }
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
    for (const sub of peer.subs.values()) this.drop(sub);
    peer.subs.clear();
  }

  private removeOne(peer: Peer, sub: Subscription): void {
    peer.subs.delete(sub.pattern);
    this.drop(sub);
    // Subscriptions that overlapped this one may now share a group.
    if (peer.closed || peer.subs.size > MAX_SHARED_SUBSCRIPTIONS) return;
    for (const other of peer.subs.values()) {
      if (other.group === undefined && overlap(other, sub)) this.share(other);
    }
  }

  private drop(sub: Subscription): void {
    if (sub.group !== undefined) this.leave(sub);
    else this.index.remove(sub.pattern, sub);
    this.waiting.delete(sub);
    this.unwatch(sub.pattern);
  }

  /**
   * Since when this node has watched, without a break, a pattern that covers `channel` (the earliest such start);
   * undefined when no local subscription covers it.
   */
  watchedSince(channel: string): number | undefined {
    let since: number | undefined;
    for (const [pattern, w] of this.watched) {
      if ((since === undefined || w.since < since) && matchChannel(pattern, channel)) since = w.since;
    }
    return since;
  }

  /** Counts local subscriptions per pattern; the broker is asked to watch a pattern when its first one comes. */
  private watch(pattern: string): Promise<void> {
    const w = this.watched.get(pattern);
    if (w) {
      w.count++;
      return w.ready;
    }
    const ready = this.deps.broker.watch(pattern);
    this.watched.set(pattern, { count: 1, ready, since: Date.now() });
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
