/**
 * @module subscription-set
 * The client's subscriptions: validates and registers them, tracks which patterns are in use (a pattern may be shared
 * only by subscriptions with the same filter and mode, since the hub keeps one subscription per pattern), and routes
 * incoming `event`, `snapshot` and `gap` frames to every subscription that takes them.
 */
import type { EventFrame, GapFrame, SnapshotFrame } from '@vigil/protocol';
import { isValidPattern } from '@vigil/protocol/wire';
import { VigilClientError } from './errors.js';
import type { Subscription } from './subscription.js';

export class SubscriptionSet implements Iterable<Subscription> {
  private readonly subs = new Set<Subscription>();
  private readonly owners = new Map<string, { key: string; count: number }>();

  [Symbol.iterator](): Iterator<Subscription> {
    return this.subs.values();
  }

  get size(): number {
    return this.subs.size;
  }

  has(sub: Subscription): boolean {
    return this.subs.has(sub);
  }

  /** Registers `sub`; throws `invalid_pattern` or `subscription_conflict` without registering anything. */
  add(sub: Subscription): void {
    if (sub.patterns.length === 0)
      throw new VigilClientError('invalid_pattern', 'subscribe needs at least one pattern');
    for (const p of sub.patterns) {
      if (!isValidPattern(p)) throw new VigilClientError('invalid_pattern', `Invalid pattern '${p}'`, { pattern: p });
    }
    const key = JSON.stringify([sub.options.filter ?? null, sub.options.mode ?? 'stream']);
    for (const p of sub.patterns) {
      const owner = this.owners.get(p);
      if (owner && owner.key !== key) throw new VigilClientError('subscription_conflict', undefined, { pattern: p });
    }
    for (const p of sub.patterns) {
      const owner = this.owners.get(p);
      if (owner) owner.count++;
      else this.owners.set(p, { key, count: 1 });
    }
    this.subs.add(sub);
  }

  /** Unregisters `sub`; returns the patterns that no subscription uses any more (undefined if it was not here). */
  remove(sub: Subscription): string[] | undefined {
    if (!this.subs.delete(sub)) return undefined;
    const unused: string[] = [];
    for (const p of sub.patterns) {
      const owner = this.owners.get(p);
      if (owner && --owner.count === 0) {
        this.owners.delete(p);
        unused.push(p);
      }
    }
    return unused;
  }

  event(frame: EventFrame): void {
    for (const sub of this.subs) sub.deliver(frame);
  }

  snapshot(frame: SnapshotFrame): void {
    for (const sub of this.subs) sub.deliverSnapshot(frame);
  }

  gap(frame: GapFrame): void {
    for (const sub of this.subs) sub.deliverGap(frame);
  }

  /** The connection went away: every subscription waits for the next one. */
  markPending(): void {
    for (const sub of this.subs) sub.markPending();
  }
}
