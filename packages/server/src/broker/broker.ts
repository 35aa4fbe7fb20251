/**
 * @module broker
 * The Broker interface: it assigns each published event an offset and its channel's epoch, keeps channel history, and
 * delivers every event to the listeners of this node. The gateway only ever talks to this interface, so the memory
 * engine (one process) and the Redis engine (several nodes) are interchangeable.
 */

export interface PublishInput {
  channel: string;
  kind: string;
  data: unknown;
  /** Event time in ms since the epoch; the broker sets it when absent. */
  ts?: number;
}

export interface StoredEvent {
  channel: string;
  epoch: string;
  offset: number;
  ts: number;
  kind: string;
  data: unknown;
}

export interface StreamPosition {
  epoch: string;
  offset: number;
}

export interface HistoryQuery {
  /** Return events after this position. Absent: the newest `limit` events. */
  since?: StreamPosition;
  /** Maximum events returned; without `since` the newest ones are kept. Default: all retained. */
  limit?: number;
}

export type GapReason = 'history_expired' | 'epoch_changed';

export interface HistoryGap {
  from: number;
  to: number;
  reason: GapReason;
}

export interface HistoryResult {
  /** The channel's current epoch and newest offset (0 when nothing was ever published). */
  epoch: string;
  offset: number;
  events: StoredEvent[];
  /** Present when `since` asked for events the history no longer holds, or for another epoch. */
  gap?: HistoryGap;
}

export interface ChannelInfo {
  channel: string;
  epoch: string;
  offset: number;
  /** Events currently held in history. */
  history_size: number;
  /** Their estimated bytes (see `eventBytes` in history-policy.ts). */
  history_bytes: number;
  last_ts: number;
}

export interface HistoryPolicy {
  max_events: number;
  max_age_ms: number;
  /** Estimated bytes kept (see `eventBytes` in history-policy.ts); absent: no byte limit. */
  max_bytes?: number;
}

export type EventListener = (event: StoredEvent) => void;

export interface Broker {
  readonly engine: string;
  start(): Promise<void>;
  publish(input: PublishInput): Promise<StoredEvent>;
  history(channel: string, query?: HistoryQuery): Promise<HistoryResult>;
  position(channel: string): Promise<StreamPosition>;
  channels(): Promise<ChannelInfo[]>;
  /** Registers a listener for every event delivered to this node, in offset order per channel. */
  onEvent(listener: EventListener): () => void;
  /**
   * Tells the broker that this node has local subscribers for a pattern; resolves once every event published from
   * then on will be delivered to this node's listeners (so positions read after it miss nothing). The memory engine
   * delivers everything anyway; a networked engine uses it to receive only what this node needs.
   */
  watch(pattern: string): Promise<void>;
  /** This node no longer has local subscribers for a pattern. */
  unwatch(pattern: string): Promise<void>;
  close(): Promise<void>;
}

/** Epoch strings: unique per channel lifetime, short, URL- and SSE-id-safe. */
export function newEpoch(): string {
  return Date.now().toString(36) + Math.floor(Math.random() * 0x100000).toString(36);
}
