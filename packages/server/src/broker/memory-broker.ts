/**
 * @module memory-broker
 * The default, single-process broker. One epoch per broker instance (a restart starts a new epoch, so clients see
 * `epoch_changed`), offsets per channel starting at 1, and a bounded history per channel trimmed by count and age.
 */
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
import type { HistoryPolicies } from './history-policy.js';

interface ChannelState {
  offset: number;
  events: StoredEvent[];
  head: number;
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
      state = { offset: 0, events: [], head: 0, lastTs: 0 };
      this.states.set(input.channel, state);
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
    state.events.push(event);
    state.lastTs = ts;
    this.trim(input.channel, state);
    for (const listener of this.listeners) listener(event);
    return event;
  }

  private trim(channel: string, state: ChannelState): void {
    const policy = this.policies.for(channel);
    const size = state.events.length - state.head;
    if (size > policy.max_events) state.head += size - policy.max_events;
    const oldest = this.now() - policy.max_age_ms;
    while (state.head < state.events.length && state.events[state.head]!.ts < oldest) state.head++;
    if (state.head > 256 && state.head * 2 > state.events.length) {
      state.events = state.events.slice(state.head);
      state.head = 0;
    }
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
      result.events = held.slice(start, end);
    } else {
      const from = query.limit !== undefined ? Math.max(start, held.length - query.limit) : start;
      result.events = held.slice(from);
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
