/**
 * @module subscription
 * One `client.subscribe()`: its patterns and options, its resume positions, and its events. Positions are kept per
 * concrete channel as `{epoch, offset}`: seeded from the subscribe result for exact channels, advanced by each event
 * delivered, reset by an `epoch_changed` gap, and sent back as `recover` when the client resubscribes. An event whose
 * offset is not above the channel's position in the same epoch is a duplicate and is dropped.
 */
import type { EventFrame, EventPredicate, Filter, GapFrame, Mode, SnapshotFrame } from '@vigil/protocol';
import { compileFilter, isWildcard, matchChannel } from '@vigil/protocol/wire';
import { Backoff, type BackoffOptions } from './backoff.js';
import { Emitter } from './emitter.js';
import type { VigilClientError } from './errors.js';
import type { SubscribedEntry, SubscriptionEvents, VigilEvent } from './events.js';

export interface SubscribeOptions {
  /** Server-side filter; also applied by the client when several subscriptions overlap. */
  filter?: Filter;
  /** `stream` (default) or `latest`. */
  mode?: Mode;
  /** Ask for snapshots of stateful channels (default true). */
  snapshot?: boolean;
}

export interface StreamPosition {
  epoch: string;
  offset: number;
}

export type SubscriptionState = 'subscribing' | 'subscribed' | 'unsubscribed';

/** What a subscription needs from its client. */
export interface SubscriptionHost {
  removeSubscription(sub: Subscription<VigilEvent>): void;
  /** Delays of resubscribe retries. */
  backoff: BackoffOptions;
}

export interface SubscribeFrameBody {
  op: 'subscribe';
  channels: string[];
  filter?: Filter;
  mode?: Mode;
  snapshot?: boolean;
  recover?: Record<string, StreamPosition>;
}

export class Subscription<E extends VigilEvent = VigilEvent> extends Emitter<SubscriptionEvents<E>> {
  readonly patterns: readonly string[];
  readonly options: Readonly<SubscribeOptions>;
  private _state: SubscriptionState = 'subscribing';
  private readonly positions = new Map<string, StreamPosition>();
  private readonly patternEpochs = new Map<string, string>();
  private readonly predicate: EventPredicate | undefined;
  private subscribedOnce = false;
  private readonly retry: Backoff;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;

  /** @internal Created by `VigilClient.subscribe()`. */
  constructor(
    private readonly host: SubscriptionHost,
    patterns: string[],
    options: SubscribeOptions,
  ) {
    super();
    this.patterns = Object.freeze([...new Set(patterns)]);
    this.options = Object.freeze({ ...options });
    this.predicate = compileFilter(options.filter);
    this.retry = new Backoff(host.backoff);
  }

  get state(): SubscriptionState {
    return this._state;
  }

  /** The resume position of each concrete channel seen so far. */
  get channelPositions(): ReadonlyMap<string, StreamPosition> {
    return this.positions;
  }

  /** Stops the subscription; the client unsubscribes from the patterns no other subscription uses. */
  unsubscribe(): void {
    if (this._state === 'unsubscribed') return;
    this._state = 'unsubscribed';
    this.cancelRetry();
    this.host.removeSubscription(this);
  }

  matches(channel: string): boolean {
    for (const p of this.patterns) if (matchChannel(p, channel)) return true;
    return false;
  }

  /** @internal The subscribe frame (without id), with `recover` for every tracked channel. */
  buildFrame(): SubscribeFrameBody {
    const frame: SubscribeFrameBody = { op: 'subscribe', channels: [...this.patterns] };
    if (this.options.filter !== undefined) frame.filter = this.options.filter;
    if (this.options.mode !== undefined) frame.mode = this.options.mode;
    if (this.options.snapshot !== undefined) frame.snapshot = this.options.snapshot;
    if (this.positions.size > 0) {
      frame.recover = {};
      for (const [channel, pos] of this.positions) frame.recover[channel] = { epoch: pos.epoch, offset: pos.offset };
    }
    return frame;
  }

  /** @internal The connection went away: the next connection resubscribes. */
  markPending(): void {
    this.cancelRetry();
    this.retry.reset();
    if (this._state !== 'unsubscribed') this._state = 'subscribing';
  }

  /** @internal Runs `resubscribe` after the next backoff delay. */
  scheduleRetry(resubscribe: () => void): void {
    this.cancelRetry();
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      resubscribe();
    }, this.retry.next());
  }

  private cancelRetry(): void {
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
  }

  /** @internal The reply to our subscribe. */
  handleSubscribed(entries: SubscribedEntry[]): void {
    if (this._state === 'unsubscribed') return;
    for (const entry of entries) {
      this.patternEpochs.set(entry.channel, entry.epoch);
      if (!isWildcard(entry.channel)) {
        const pos = this.positions.get(entry.channel);
        if (!pos) this.positions.set(entry.channel, { epoch: entry.epoch, offset: entry.offset });
        else if (pos.epoch !== entry.epoch) this.positions.set(entry.channel, { epoch: entry.epoch, offset: 0 });
      } else {
        for (const [channel, pos] of this.positions) {
          if (pos.epoch !== entry.epoch && matchChannel(entry.channel, channel)) {
            this.positions.set(channel, { epoch: entry.epoch, offset: 0 });
          }
        }
      }
    }
    this._state = 'subscribed';
    this.retry.reset();
    const resubscribed = this.subscribedOnce;
    this.subscribedOnce = true;
    this.emit('subscribed', { subscriptions: entries, resubscribed });
  }

  /** @internal A failed subscribe. */
  handleError(error: VigilClientError, willRetry: boolean): void {
    if (!willRetry && this._state !== 'unsubscribed') {
      this._state = 'unsubscribed';
      this.cancelRetry();
      this.host.removeSubscription(this);
    }
    this.emit('error', { error, willRetry });
  }

  /** @internal Routes an event; returns true when it was delivered. */
  deliver(frame: EventFrame): boolean {
    if (this._state !== 'subscribed' || !this.matches(frame.channel)) return false;
    if (this.predicate && !this.predicate(frame)) return false;
    const epoch = this.epochFor(frame.channel);
    const pos = this.positions.get(frame.channel);
    if (pos && pos.epoch === epoch && frame.offset <= pos.offset) return false;
    this.positions.set(frame.channel, { epoch, offset: frame.offset });
    const event = {
      channel: frame.channel,
      offset: frame.offset,
      ts: frame.ts,
      kind: frame.kind,
      data: frame.data,
      epoch,
    };
    this.emit('event', event as E);
    return true;
  }

  /** @internal */
  deliverSnapshot(frame: SnapshotFrame): void {
    if (this._state !== 'subscribed' || !this.matches(frame.channel)) return;
    this.emit('snapshot', {
      channel: frame.channel,
      offset: frame.offset,
      epoch: this.epochFor(frame.channel),
      data: frame.data,
    });
  }

  /** @internal A gap: surfaced as an event; `epoch_changed` restarts the channel at offset 0 of the new epoch. */
  deliverGap(frame: GapFrame): void {
    if (this._state !== 'subscribed' || !this.matches(frame.channel)) return;
    if (frame.reason === 'epoch_changed') {
      this.positions.set(frame.channel, { epoch: this.epochFor(frame.channel), offset: 0 });
    }
    this.emit('gap', { channel: frame.channel, from: frame.from, to: frame.to, reason: frame.reason });
  }

  /** The epoch of the latest subscribe result for the pattern that covers `channel` (exact names first). */
  private epochFor(channel: string): string {
    const exact = this.patternEpochs.get(channel);
    if (exact !== undefined) return exact;
    for (const [pattern, epoch] of this.patternEpochs) if (matchChannel(pattern, channel)) return epoch;
    return '';
  }
}
