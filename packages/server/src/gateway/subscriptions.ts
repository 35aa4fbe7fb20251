/**
 * @module subscriptions
 * The `subscribe` and `unsubscribe` ops: validation, the subscription limit, the index, recovery from history (with
 * `gap` frames when history cannot cover it) and snapshots of stateful channels.
 *
 * Order on the wire after a subscribe: the reply, then per channel a snapshot (if any), then a gap (if any), then the
 * recovered events, then live events. Live events that arrive while history is being read wait in the subscription
 * and are sent after it, without duplicates.
 */
import {
  compileFilter,
  isValidChannel,
  isValidPattern,
  isWildcard,
  matchChannel,
  type SubscribeFrame,
  VigilError,
} from '@vigil/protocol';
import type { Broker, HistoryResult, StreamPosition } from '../broker/broker.js';
import type { HubCounters } from '../observability/hub-counters.js';
import { type Connection, MODE_STREAM, Subscription } from './connection.js';
import { PreparedEvent } from './prepared-event.js';
import type { SnapshotRegistry } from './snapshots.js';
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
  maxSubscriptions: number;
  send: (conn: Connection, frame: unknown, type: string) => void;
  deliver: (conn: Connection, ev: PreparedEvent, mode: number) => void;
}

export class SubscriptionManager {
  readonly index = new SubscriptionIndex<Subscription>();
  private readonly watched = new Map<string, number>();

  constructor(private readonly deps: SubscriptionManagerDeps) {}

  get count(): number {
    return this.index.size;
  }

  /**
   * Registers the subscriptions of `frame`, then calls `reply` with the result, then sends snapshots, gaps and
   * recovered events, all in one synchronous run so that no live event slips between them.
   */
  async subscribe(
    conn: Connection,
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
    const added = patterns.filter((p) => !conn.subs.has(p)).length;
    if (conn.subs.size + added > this.deps.maxSubscriptions) {
      throw new VigilError(
        'too_many_subscriptions',
        `At most ${this.deps.maxSubscriptions} subscriptions per connection`,
        { limit: this.deps.maxSubscriptions },
      );
    }
    const filter = compileFilter(frame.filter);
    const subs: Subscription[] = [];
    for (const pattern of patterns) {
      const existing = conn.subs.get(pattern);
      if (existing) this.removeOne(conn, existing);
      const sub = new Subscription(pattern, conn, frame.mode, filter);
      conn.subs.set(pattern, sub);
      this.index.add(pattern, sub);
      this.watch(pattern);
      subs.push(sub);
    }

    let positions: StreamPosition[];
    let histories: HistoryResult[];
    try {
      positions = await Promise.all(patterns.map((p) => this.deps.broker.position(p)));
      histories = await Promise.all(recover.map(([channel, since]) => this.deps.broker.history(channel, { since })));
    } catch (err) {
      for (const sub of subs) if (conn.subs.get(sub.pattern) === sub) this.removeOne(conn, sub);
      throw err;
    }
    if (conn.closed) return;
    const recoverIndex = (list: [string, StreamPosition][], channel: string) => list.findIndex(([c]) => c === channel);

    const results: SubscriptionResult[] = patterns.map((channel, i) => ({
      channel,
      epoch: positions[i]!.epoch,
      offset: positions[i]!.offset,
    }));
    for (let i = 0; i < subs.length; i++) {
      const mine = recover.filter(([channel]) => matchChannel(patterns[i]!, channel));
      if (mine.length > 0)
        results[i]!.recovered = mine.every(([channel]) => !histories[recoverIndex(recover, channel)]!.gap);
    }
    reply({ subscriptions: results });

    for (let i = 0; i < subs.length; i++) {
      const sub = subs[i]!;
      if (frame.snapshot !== false && !isWildcard(sub.pattern)) {
        const data = this.deps.snapshots.get(sub.pattern);
        if (data !== undefined) {
          this.deps.send(
            conn,
            { type: 'snapshot', channel: sub.pattern, offset: results[i]!.offset, data },
            'snapshot',
          );
        }
      }
    }
    // Per recovered channel, the last offset sent; held live events at or below it are duplicates.
    const sent = new Map<string, number>();
    for (let j = 0; j < recover.length; j++) {
      const [channel, since] = recover[j]!;
      const sub = subs.find((s) => matchChannel(s.pattern, channel))!;
      sent.set(channel, this.replay(conn, sub, channel, since, histories[j]!));
    }
    for (const sub of subs) {
      const held = sub.holding ?? [];
      sub.holding = undefined;
      for (const ev of held) {
        const last = sent.get(ev.channel);
        if (last !== undefined) {
          if (ev.offset <= last) continue;
          sent.set(ev.channel, ev.offset);
        }
        this.deps.deliver(conn, ev, sub.mode);
      }
    }
  }

  /** Sends a gap if any, then the history after `since`. Returns the last offset covered. */
  private replay(
    conn: Connection,
    sub: Subscription,
    channel: string,
    since: StreamPosition,
    history: HistoryResult,
  ): number {
    if (history.gap) {
      this.deps.counters.countGap(history.gap.reason);
      this.deps.send(conn, { type: 'gap', channel, ...history.gap }, 'gap');
    }
    let last = history.gap?.reason === 'epoch_changed' ? 0 : since.offset;
    for (const ev of history.events) {
      if (ev.offset <= last) continue;
      last = ev.offset;
      if (sub.filter && !sub.filter(ev)) continue;
      this.deps.deliver(conn, new PreparedEvent(ev, 0, 0), MODE_STREAM);
    }
    return last;
  }

  unsubscribe(conn: Connection, channels: string[]): void {
    for (const pattern of channels) {
      const sub = conn.subs.get(pattern);
      if (sub) this.removeOne(conn, sub);
    }
  }

  removeAll(conn: Connection): void {
    for (const sub of conn.subs.values()) {
      this.index.remove(sub.pattern, sub);
      this.unwatch(sub.pattern);
    }
    conn.subs.clear();
  }

  private removeOne(conn: Connection, sub: Subscription): void {
    conn.subs.delete(sub.pattern);
    this.index.remove(sub.pattern, sub);
    this.unwatch(sub.pattern);
  }

  private watch(pattern: string): void {
    const n = this.watched.get(pattern) ?? 0;
    this.watched.set(pattern, n + 1);
    if (n === 0) this.deps.broker.watch(pattern);
  }

  private unwatch(pattern: string): void {
    const n = this.watched.get(pattern) ?? 0;
    if (n <= 1) {
      this.watched.delete(pattern);
      if (n === 1) this.deps.broker.unwatch(pattern);
    } else this.watched.set(pattern, n - 1);
  }
}
