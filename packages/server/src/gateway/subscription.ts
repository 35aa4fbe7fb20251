/**
 * @module subscription
 * One subscription of one client to a channel or pattern: its delivery mode, filter and, for every channel it joined
 * at a known position (an exact channel, or a channel it recovered), the last offset it delivered. An event at or
 * below that offset is dropped as a duplicate; an event above the next one is a jump that the subscription manager
 * fills from history or reports as a `gap`. Channels a wildcard reaches without a known position are delivered as
 * the node's live feed hands them on (already exactly-once and in order per channel).
 */
import { type EventPredicate, isWildcard, type Mode } from '@vigil/protocol';
import type { StreamPosition } from '../broker/broker.js';
import { Cursor } from './cursor.js';
import type { Peer } from './peer.js';
import type { PreparedEvent } from './prepared-event.js';
import type { FanoutGroup } from './shared-batch.js';

export const MODE_STREAM = 0;
export const MODE_LATEST = 1;

export class Subscription {
  mode: number;
  filter: EventPredicate | undefined;
  /** The filter's canonical form ('' without one): subscriptions with the same pattern and key can share a group. */
  readonly filterKey: string;
  readonly wildcard: boolean;
  /** The pattern split at its dots, for overlap checks against the client's other subscriptions. */
  readonly segments: readonly string[];
  /** The fan-out group this subscription is a plain member of (shared-batch.ts), if any. */
  group: FanoutGroup | undefined = undefined;
  /** Index in the group's members. */
  slot = -1;
  /** Parts of the group's open batch before this index were already handed to the client (or predate it). */
  cut = 0;
  /**
   * While the subscribe op is in flight, live events wait here, to be sent after the reply, the snapshot and any
   * recovered history (so a client never sees an event before its subscription's reply).
   */
  holding: PreparedEvent[] | undefined;
  /** Held events that another subscription of the client delivered: at release only the position moves past them. */
  deliveredElsewhere: Set<PreparedEvent> | undefined = undefined;
  /** The exact channel's position, when the pattern is one channel. */
  private own: Cursor | undefined;
  /** Positions of the channels a wildcard subscription recovered. */
  private others: Map<string, Cursor> | undefined;

  constructor(
    readonly pattern: string,
    readonly conn: Peer,
    mode: Mode | undefined,
    filter: EventPredicate | undefined,
    filterKey = '',
  ) {
    this.mode = mode === 'latest' ? MODE_LATEST : MODE_STREAM;
    this.filter = filter;
    this.filterKey = filter === undefined ? '' : filterKey;
    this.wildcard = isWildcard(pattern);
    this.segments = pattern.split('.');
    this.holding = [];
  }

  /** The position this subscription tracks for `channel`, if any. */
  cursor(channel: string): Cursor | undefined {
    return channel === this.pattern ? this.own : this.others?.get(channel);
  }

  /** Whether it tracks positions of channels other than its pattern (a wildcard that recovered some). */
  get tracksOthers(): boolean {
    return this.others !== undefined && this.others.size > 0;
  }

  /** Starts tracking `channel` at `position` (the last offset this subscription has delivered, or joined at). */
  track(channel: string, position: StreamPosition): Cursor {
    const cursor = new Cursor(position.epoch, position.offset);
    if (channel === this.pattern) this.own = cursor;
    else {
      this.others ??= new Map();
      this.others.set(channel, cursor);
    }
    return cursor;
  }
}
