/**
 * @module memory-broker
 * The default, single-process broker. One epoch per broker instance (a restart starts a new epoch, so clients see
 * `epoch_changed`), offsets per channel starting at 1, and a bounded history: per channel by count, age and bytes,
 * and for the whole hub by total bytes (the largest channels are cut back first) and number of channels.
 */
import { VigilError } from '@vigil/protocol';
import type {
  Broker,
  ChannelInfo,
  EventListener,
  HistoryQuery,
  HistoryResult,
  PublishInput,
  StoredEvent,
  StreamPosition,
} from './broker.js';
import { newEpoch } from './broker.js';
import { BUDGET_LOW_WATER, channelOverhead, eventBytes, type HistoryPolicies, waterLevel } from './history-policy.js';

interface ChannelState {
  offset: number;
  /** Held events from `head` on; the slots before it are emptied as events leave (see `drop`). */
  events: (StoredEvent | undefined)[];
  /** Estimated bytes of each event in `events`. */
  sizes: number[];
  head: number;
  /** Bytes of the events from `head` on. */
  bytes: number;
  lastTs: number;
}

export interface MemoryBrokerOptions {
  policies: HistoryPolicies;
  now?: () => number;
}

export class MemoryBroker implements Broker {
  readonly engine = 'memory';
  readonly epoch = newEpoch();
  private readonly states = new Map<string, ChannelState>();
  private readonly listeners: EventListener[] = [];
  private readonly now: () => number;
  private readonly policies: HistoryPolicies;
  /** Bytes held by every channel's history, channel overhead included. */
  private totalBytes = 0;

  constructor(options: MemoryBrokerOptions) {
    this.policies = options.policies;
    this.now = options.now ?? Date.now;
  }

  async start(): Promise<void> {}

  async publish(input: PublishInput): Promise<StoredEvent> {
    return this.publishSync(input);
  }

  /** Synchronous publish: the hot path of the single-process hub. */
  publishSync(input: PublishInput): StoredEvent {
    let state = this.states.get(input.channel);
    if (!state) {
      const max = this.policies.budget.max_channels;
      if (this.states.size >= max) {
        throw new VigilError(
          'channel_limit',
          `The hub holds ${this.states.size} channels (the limit); '${input.channel}' is new`,
          {
            channel: input.channel,
            limit: max,
          },
        );
      }
      state = { offset: 0, events: [], sizes: [], head: 0, bytes: 0, lastTs: 0 };
      this.states.set(input.channel, state);
      this.totalBytes += channelOverhead(input.channel);
    }
    const ts = input.ts ?? this.now();
    state.offset += 1;
    const event: StoredEvent = {
      channel: input.channel,
      epoch: this.epoch,
      offset: state.offset,
      ts,
      kind: input.kind,
      data: input.data,
    };
    const bytes = eventBytes(event);
    state.events.push(event);
    state.sizes.push(bytes);
    state.bytes += bytes;
    this.totalBytes += bytes;
    state.lastTs = ts;
    this.trim(input.channel, state);
    if (this.totalBytes > this.policies.budget.max_total_bytes) this.rebalance();
    for (const listener of this.listeners) listener(event);
    return event;
  }

  private trim(channel: string, state: ChannelState, maxBytes = Number.POSITIVE_INFINITY): void {
    const policy = this.policies.for(channel);
    const size = state.events.length - state.head;
    if (size > policy.max_events) this.drop(state, size - policy.max_events);
    const oldest = this.now() - policy.max_age_ms;
    while (state.head < state.events.length && state.events[state.head]!.ts < oldest) this.drop(state, 1);
    const limit = Math.min(policy.max_bytes, maxBytes);
    while (state.bytes > limit && state.head < state.events.length) this.drop(state, 1);
    if (state.head > 256 && state.head * 2 > state.events.length) {
      state.events = state.events.slice(state.head);
      state.sizes = state.sizes.slice(state.head);
      state.head = 0;
    }
  }

  /** Drops the `n` oldest events held. */
  private drop(state: ChannelState, n: number): void {
    const end = state.head + n;
    let freed = 0;
    for (let i = state.head; i < end; i++) {
      freed += state.sizes[i]!;
      // The slot lets go of the event at once: the array itself is compacted only now and then, and until then a
      // dropped event would stay in memory beyond every byte budget.
      state.events[i] = undefined;
    }
    state.head = end;
    state.bytes -= freed;
    this.totalBytes -= freed;
  }

  /** Over the total budget: cuts the largest channels back until the total is at the low-water mark. */
  private rebalance(): void {
    const budget = this.policies.budget.max_total_bytes;
    let overhead = 0;
    const sizes: number[] = [];
    for (const [channel, state] of this.states) {
      overhead += channelOverhead(channel);
      sizes.push(state.bytes);
    }
    const level = waterLevel(sizes, Math.max(0, budget * BUDGET_LOW_WATER - overhead));
    if (level === Number.POSITIVE_INFINITY) return;
    for (const [channel, state] of this.states) if (state.bytes > level) this.trim(channel, state, level);
  }

  async history(channel: string, query: HistoryQuery = {}): Promise<HistoryResult> {
    const state = this.states.get(channel);
    if (!state) {
      const result: HistoryResult = { epoch: this.epoch, offset: 0, events: [] };
      if (query.since && query.since.epoch !== this.epoch) {
        result.gap = { from: query.since.offset + 1, to: Number.MAX_SAFE_INTEGER, reason: 'epoch_changed' };
      }
      return result;
    }
    this.trim(channel, state);
    const held = state.events;
    const first = state.head < held.length ? held[state.head]!.offset : state.offset + 1;
    const result: HistoryResult = { epoch: this.epoch, offset: state.offset, events: [] };
    let start = state.head;
    if (query.since) {
      const since = query.since;
      if (since.epoch !== this.epoch) {
        result.gap = { from: since.offset + 1, to: Number.MAX_SAFE_INTEGER, reason: 'epoch_changed' };
      } else if (since.offset + 1 < first) {
        result.gap = { from: since.offset + 1, to: first - 1, reason: 'history_expired' };
      } else {
        start = state.head + (since.offset + 1 - first);
      }
      const end = query.limit !== undefined ? Math.min(held.length, start + query.limit) : held.length;
      // Slots from `head` on are all filled.
      result.events = held.slice(start, end) as StoredEvent[];
    } else {
      const from = query.limit !== undefined ? Math.max(start, held.length - query.limit) : start;
      result.events = held.slice(from) as StoredEvent[];
    }
    return result;
  }

  async position(channel: string): Promise<StreamPosition> {
    return { epoch: this.epoch, offset: this.states.get(channel)?.offset ?? 0 };
  }

  async channels(): Promise<ChannelInfo[]> {
    const out: ChannelInfo[] = [];
    for (const [channel, state] of this.states) {
      this.trim(channel, state);
      out.push({
        channel,
        epoch: this.epoch,
        offset: state.offset,
        history_size: state.events.length - state.head,
        history_bytes: state.bytes,
        last_ts: state.lastTs,
      });
    }
    return out;
  }

  onEvent(listener: EventListener): () => void {
    this.listeners.push(listener);
    return () => {
      const i = this.listeners.indexOf(listener);
      if (i >= 0) this.listeners.splice(i, 1);
    };
  }

  async watch(_pattern: string): Promise<void> {}

  async unwatch(_pattern: string): Promise<void> {}

  async close(): Promise<void> {
    this.listeners.length = 0;
  }
}
