/**
 * @module cursor
 * A delivery position in one channel (epoch and last offset handed on), and the rule that keeps a stream of one
 * channel exactly-once and in order whatever order a broker delivers in: an event at or below the position is a
 * duplicate, the next offset is delivered, a jump above it must be filled from history (or becomes a `gap`), and an
 * event of another epoch means the channel was reset (`epoch_changed`).
 *
 * The node's live feed (live-feed.ts) and every subscription that joined a channel at a known position
 * (subscription.ts) keep one each.
 */
import type { Broker, HistoryGap, StoredEvent } from '../broker/broker.js';

/**
 * - `duplicate`: at or below the position, already handed on;
 * - `next`: the next offset, to hand on (and advance);
 * - `jump`: above the next offset, the events between must come from history first;
 * - `epoch`: another epoch, the channel was reset and what was not handed on is lost.
 */
export type Verdict = 'duplicate' | 'next' | 'jump' | 'epoch';

export class Cursor {
  /** Events that arrived while a fill from history was running, in arrival order. */
  held: StoredEvent[] | undefined = undefined;
  /** ms timestamp of the last event seen, for pruning idle cursors. */
  seenAt = 0;

  constructor(
    public epoch: string,
    public offset: number,
  ) {}

  /** Classifies `event` against this position; it does not move the position. */
  judge(event: StoredEvent): Verdict {
    if (event.epoch !== this.epoch) return 'epoch';
    if (event.offset <= this.offset) return 'duplicate';
    return event.offset === this.offset + 1 ? 'next' : 'jump';
  }

  get filling(): boolean {
    return this.held !== undefined;
  }
}

export interface Fill {
  /** Present when history could not cover the whole jump. */
  gap?: HistoryGap;
  /** The missing events, in order, all above the cursor's offset. */
  events: StoredEvent[];
}

/** The gap sent when a channel's epoch changed: everything after `offset` of the old epoch is gone. */
export function epochGap(offset: number): HistoryGap {
  return { from: offset + 1, to: Number.MAX_SAFE_INTEGER, reason: 'epoch_changed' };
}

/** Reads what a cursor is missing, up to `until` (the offset that revealed the jump, exclusive). */
export async function fillFrom(broker: Broker, channel: string, cursor: Cursor, until: number): Promise<Fill> {
  const history = await broker.history(channel, { since: { epoch: cursor.epoch, offset: cursor.offset } });
  // The channel was reset while we read: the old epoch's missing events are gone; the new epoch's come live.
  if (history.epoch !== cursor.epoch) return { events: [], gap: { ...epochGap(cursor.offset), to: until - 1 } };
  const events = history.events.filter((e) => e.epoch === history.epoch && e.offset < until);
  const fill: Fill = { events };
  if (history.gap) fill.gap = { ...history.gap, to: Math.min(history.gap.to, until - 1) };
  else if (events.length > 0 ? events[events.length - 1]!.offset < until - 1 : cursor.offset < until - 1) {
    // History holds less than the jump asks for (trimmed meanwhile): say so rather than skip silently.
    const from = events.length > 0 ? events[events.length - 1]!.offset + 1 : cursor.offset + 1;
    fill.gap = { from, to: until - 1, reason: 'history_expired' };
  }
  return fill;
}

/**
 * Applies a fill to `cursor`: reports the gap where it falls among the events, hands on each event above the
 * position, and leaves the cursor after the last of them (or after the gap).
 */
export function applyFill(
  cursor: Cursor,
  fill: Fill,
  onGap: (gap: HistoryGap) => void,
  onEvent: (event: StoredEvent) => void,
): void {
  let gap = fill.gap;
  for (const e of fill.events) {
    if (gap && e.offset > gap.to) {
      if (cursor.offset < gap.from) onGap(gap);
      cursor.offset = Math.max(cursor.offset, gap.to);
      gap = undefined;
    }
    if (e.offset > cursor.offset) {
      cursor.offset = e.offset;
      onEvent(e);
    }
  }
  if (gap) {
    if (cursor.offset < gap.from) onGap(gap);
    cursor.offset = Math.max(cursor.offset, gap.to);
  }
}
