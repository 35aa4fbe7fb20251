/**
 * @module unreliable-broker
 * Test support: a Broker that wraps another and delivers to this node's listeners the way a networked engine may:
 * late (after `publish` has resolved), sometimes twice, and sometimes not at all (as across a lost connection). The
 * history is the wrapped broker's, so what was not delivered can still be recovered. Delivery stays in offset order
 * per channel, as Redis pub/sub keeps it.
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
} from '../broker/broker.js';

export interface Unreliability {
  /** Chance that an event is delivered twice. */
  duplicate: number;
  /** Chance that an event is never delivered. */
  lose: number;
  /** Longest delivery delay, ms (each event waits a random time up to it, in order). */
  maxDelayMs: number;
  random: () => number;
}

export class UnreliableBroker implements Broker {
  readonly engine: string;
  private readonly listeners: EventListener[] = [];
  private queue: StoredEvent[] = [];
  private draining = false;
  private unlisten: (() => void) | undefined;

  constructor(
    private readonly inner: Broker,
    private readonly how: Unreliability,
  ) {
    this.engine = inner.engine;
  }

  async start(): Promise<void> {
    await this.inner.start();
    this.unlisten = this.inner.onEvent((e) => {
      if (this.how.random() < this.how.lose) return;
      this.queue.push(e);
      if (this.how.random() < this.how.duplicate) this.queue.push(e);
      this.drain();
    });
  }

  private drain(): void {
    if (this.draining) return;
    this.draining = true;
    setTimeout(() => {
      const batch = this.queue.splice(0, 1 + Math.floor(this.how.random() * 20));
      for (const e of batch) for (const l of this.listeners) l(e);
      this.draining = false;
      if (this.queue.length > 0) this.drain();
    }, this.how.random() * this.how.maxDelayMs);
  }

  publish(input: PublishInput): Promise<StoredEvent> {
    return this.inner.publish(input);
  }

  history(channel: string, query?: HistoryQuery): Promise<HistoryResult> {
    return this.inner.history(channel, query);
  }

  position(channel: string): Promise<StreamPosition> {
    return this.inner.position(channel);
  }

  channels(): Promise<ChannelInfo[]> {
    return this.inner.channels();
  }

  onEvent(listener: EventListener): () => void {
    this.listeners.push(listener);
    return () => {
      const i = this.listeners.indexOf(listener);
      if (i >= 0) this.listeners.splice(i, 1);
    };
  }

  watch(pattern: string): Promise<void> {
    return this.inner.watch(pattern);
  }

  unwatch(pattern: string): Promise<void> {
    return this.inner.unwatch(pattern);
  }

  async close(): Promise<void> {
    this.unlisten?.();
    this.listeners.length = 0;
    await this.inner.close();
  }
}
