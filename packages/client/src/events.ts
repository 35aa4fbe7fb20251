/**
 * @module events
 * The typed event maps of the SDK: connection states and their contexts, the data of each built-in event kind
 * (with `IncidentData`, defined here), and the events a `Subscription` emits. An event's type follows from the
 * patterns it was subscribed with: `subscribe('alerts')` yields `alert` events, `subscribe('metrics.>')`
 * `metric_update` events; other channels yield `VigilEvent`, narrowed with `isKind()`.
 */
import type {
  AlertData,
  GapReason,
  IncidentData,
  IncidentEventKind,
  IncidentStatus,
  IncidentTimelineEntry,
  MetricUpdateData,
  Priority,
  TaskData,
  WelcomeFrame,
} from '@vigil/protocol';
import type { VigilClientError } from './errors.js';
import type { Transport } from './options.js';

/** Connection states. See docs/client.md for the transitions. */
export const State = {
  Disconnected: 'disconnected',
  Connecting: 'connecting',
  Connected: 'connected',
  Reconnecting: 'reconnecting',
  Closed: 'closed',
} as const;
export type State = (typeof State)[keyof typeof State];

/**
 * Codes of transitions that the client starts itself. Others carry the WebSocket close code or the `closing` frame's
 * code (1001 shutdown, 4001 unauthorized, 4008 slow consumer, 4009 heartbeat timeout, ...).
 */
export const LocalCode = {
  /** `connect()` was called, or the welcome arrived. */
  OK: 0,
  /** `close()` was called. */
  CLOSE_CALLED: 1000,
  /** The connection was lost without a close frame. */
  ABNORMAL: 1006,
  /** No welcome within `connectTimeoutMs`. */
  CONNECT_TIMEOUT: 3000,
  /** No frame at all within `heartbeatTimeoutMs` after a ping. */
  HEARTBEAT_TIMEOUT: 3001,
  /** The token provider threw or rejected. */
  TOKEN_FAILED: 3002,
} as const;

export interface StateContext {
  oldState: State;
  newState: State;
  code: number;
  reason: string;
  /** The reconnect attempt under way or scheduled (1 for the first); 0 outside `reconnecting`. */
  attempt: number;
}

export interface ReconnectingContext {
  /** 1 for the first attempt after a connection was lost, then 2, 3, ... until one gets a welcome. */
  attempt: number;
  /** The wait before this attempt, ms. */
  delayMs: number;
  /** The close code or `closing` code that caused it. */
  code: number;
  reason: string;
}

export interface ConnectedContext {
  session: string;
  node: string;
  welcome: WelcomeFrame;
  /** True from the second connection on. */
  reconnected: boolean;
  /** The transport of this connection. */
  transport: Transport;
}

export interface TransportContext {
  /** The transport now in use. */
  transport: Transport;
  /** The one before, if the client was connected before. */
  previous: Transport | undefined;
}

export interface ClientErrorContext {
  error: VigilClientError;
}

export interface ClientEvents {
  state: StateContext;
  connected: ConnectedContext;
  /** A reconnect was scheduled: one per attempt, while the state stays `reconnecting`. */
  reconnecting: ReconnectingContext;
  /** Errors without a caller to reject: `error` frames, token provider failures, undecodable frames. */
  error: ClientErrorContext;
  /** The connection came up on another transport than the last one (a fallback to SSE, or back to WebSocket). */
  transport: TransportContext;
  /** A personal message sent to this connection (or its credential) with `POST /api/v1/sessions/message`. */
  message: { data: unknown; ts: number };
}

// ---- event data ----

export type { IncidentData, IncidentStatus, IncidentTimelineEntry };
export type IncidentPriority = Priority;
export type IncidentKind = IncidentEventKind;

/** The data type of each known event kind. */
export interface KindDataMap {
  metric_update: MetricUpdateData;
  alert: AlertData;
  task_update: TaskData;
  incident_created: IncidentData;
  incident_updated: IncidentData;
  incident_resolved: IncidentData;
  incident_escalated: IncidentData;
  incident_assigned: IncidentData;
  incident_commented: IncidentData;
}

export type KnownKind = keyof KindDataMap;

interface EventBase {
  channel: string;
  offset: number;
  ts: number;
  /** The epoch the offset belongs to. */
  epoch: string;
}

/** An event of a known kind, discriminated by `kind`. */
export type KnownEvent<K extends KnownKind = KnownKind> = {
  [P in K]: EventBase & { kind: P; data: KindDataMap[P] };
}[K];

/** An event of any other kind (application channels, `system_status`, `message`). */
export interface OtherEvent extends EventBase {
  kind: string;
  data: unknown;
}

export type VigilEvent = KnownEvent | OtherEvent;

/** The event type for a subscription pattern: built-in channels give their kinds, others `VigilEvent`. */
export type EventForPattern<P extends string> = P extends 'alerts'
  ? KnownEvent<'alert'>
  : P extends 'tasks'
    ? KnownEvent<'task_update'>
    : P extends 'incidents'
      ? KnownEvent<IncidentKind>
      : P extends `metrics.${string}`
        ? KnownEvent<'metric_update'>
        : VigilEvent;

/** Narrows any event by kind: `if (isKind(e, 'alert')) e.data.severity`. */
export function isKind<K extends KnownKind>(event: VigilEvent, kind: K): event is KnownEvent<K> {
  return event.kind === kind;
}

// ---- subscription events ----

export interface SnapshotContext {
  channel: string;
  offset: number;
  epoch: string;
  data: unknown;
}

export interface GapContext {
  channel: string;
  /** First missing offset. */
  from: number;
  /** Last missing offset; `Number.MAX_SAFE_INTEGER` for `epoch_changed`. */
  to: number;
  reason: GapReason;
}

export interface SubscribedEntry {
  channel: string;
  epoch: string;
  offset: number;
  recovered?: boolean;
}

export interface SubscribedContext {
  subscriptions: SubscribedEntry[];
  /** True when this followed a reconnect or a retry. */
  resubscribed: boolean;
}

export interface SubscriptionErrorContext {
  error: VigilClientError;
  /** Whether the client will retry the subscribe (with backoff). */
  willRetry: boolean;
}

export interface SubscriptionEvents<E extends VigilEvent = VigilEvent> {
  event: E;
  snapshot: SnapshotContext;
  gap: GapContext;
  error: SubscriptionErrorContext;
  subscribed: SubscribedContext;
}
