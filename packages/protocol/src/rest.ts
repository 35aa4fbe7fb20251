/**
 * @module rest
 * The replies of the hub's REST API (`/api/v1/...`), as the dashboard, the CLI and the SDK read them. Types only:
 * importing them adds nothing to a bundle. The routes' JSON schemas (server side) validate what is sent; these say
 * what a reader gets. `docs/http-api.md` describes each route.
 */
import type { ErrorBody } from './errors.js';
import type { Severity } from './filter.js';
import type { AlertData, IncidentData, MetricUpdateData, TaskData } from './kinds.js';

/** Any error answer: `{error: {code, message, details?}}` with a registry code. */
export interface ErrorReply {
  error: ErrorBody;
}

// ---- hub and channels ----

/** `GET /api/v1/stats` and the `stats` call. */
export interface HubStats {
  node: string;
  /** The hub's version. */
  version: string;
  uptime_s: number;
  broker: string;
  connections: number;
  connections_total: number;
  subscriptions: number;
  channels: number;
  messages_in: number;
  messages_out: number;
  events_published: number;
  queue_drops: number;
  /** Gap frames sent to clients since start, every reason together. */
  gaps: number;
  /** Connections closed for staying too slow (4008) since start. */
  slow_consumer_closes: number;
  /** The whole cluster: live nodes (this one included) and their totals; one node on the memory engine. */
  cluster: ClusterStats;
}

/** One node of a cluster, as `GET /api/v1/cluster` and the `cluster.nodes` call report it. */
export interface ClusterNode {
  id: string;
  /** host:port the node listens on. */
  address: string;
  started_at: number;
  uptime_s: number;
  connections: number;
  subscriptions: number;
  /** Holds the leader lease. */
  leader: boolean;
  /** ms since the epoch. */
  last_heartbeat: number;
}

export interface ClusterStats {
  nodes: number;
  connections: number;
  subscriptions: number;
  per_node: ClusterNode[];
}

/** One row of `GET /api/v1/channels`. */
export interface ChannelInfo {
  channel: string;
  epoch: string;
  offset: number;
  /** Subscriptions on this node whose pattern matches the channel. */
  subscribers: number;
  history_size: number;
  /** ms since the epoch. */
  last_ts: number;
}

export interface ChannelList {
  channels: ChannelInfo[];
}

/** An event held in a channel's history. */
export interface HistoryEvent {
  channel: string;
  offset: number;
  ts: number;
  kind: string;
  data: unknown;
}

/** `GET /api/v1/channels/:channel/history` and the `channels.history` call. */
export interface ChannelHistory {
  channel: string;
  epoch: string;
  /** The channel's newest offset. */
  offset: number;
  events: HistoryEvent[];
}

/** `POST /api/v1/publish` and the `publish` op. */
export interface PublishReply {
  channel: string;
  offset: number;
  epoch: string;
}

/** `GET /api/v1/whoami`: what the credential of the request may do. With auth off: everything. */
export interface WhoAmI {
  /** Whether the hub checks credentials. */
  auth: boolean;
  /** The API key's name or the JWT's subject; null with auth off. */
  principal: string | null;
  kind: 'api_key' | 'jwt' | null;
  scopes: ('read' | 'publish' | 'admin')[];
  /** Granted channel patterns; null grants every channel. */
  channels: string[] | null;
  /** When a JWT stops being accepted, ms since the epoch. */
  expires_at?: number;
}

// ---- metrics ----

/** `POST /api/v1/metrics`, `/api/v1/write/prometheus`, `/api/v1/write/influx`. */
export interface IngestReply {
  accepted: number;
  rejected: number;
  errors: { index?: number; line?: number; code: string; message: string; metric?: string }[];
}

export interface SeriesRef {
  metric: string;
  labels: Record<string, string>;
}

/** `GET /api/v1/metrics`. */
export interface SeriesList {
  series: SeriesRef[];
}

/** One row of `GET /api/v1/metrics/current`; `value` is null for NaN or ±Infinity. */
export type CurrentValue = Omit<MetricUpdateData, 'value'> & { value: number | null };

export interface CurrentValues {
  metrics: CurrentValue[];
}

/** One metric of `GET /api/v1/metrics/summary` (the last 5 minutes of all its series). */
export interface MetricSummary {
  metric: string;
  series: number;
  count: number;
  avg: number | null;
  min: number | null;
  max: number | null;
  trend: number | null;
  last_ts: number | null;
}

export interface SummaryList {
  metrics: MetricSummary[];
}

export type RangeAgg = 'avg' | 'min' | 'max' | 'sum' | 'count' | 'last' | 'rate' | 'p95';
/** Where a range query's points came from: raw samples, or the 1-minute or 1-hour rollups. */
export type RangeTier = 'raw' | '1m' | '1h';

/** `GET /api/v1/metrics/:name` and the `metrics.query` call. Points are `[bucket start ms, value]`. */
export interface RangeResult {
  metric: string;
  from: number;
  to: number;
  step: number;
  agg: RangeAgg;
  tier: RangeTier;
  series: { labels: Record<string, string>; points: [number, number | null][] }[];
}

/** Statistics over a window of samples. */
export interface WindowStats {
  count: number;
  min: number | null;
  max: number | null;
  avg: number | null;
  median: number | null;
  stddev: number | null;
  p95: number | null;
  /** Least-squares slope over the window, units per second; null with fewer than two samples. */
  trend: number | null;
}

export interface SeriesStats extends WindowStats {
  labels: Record<string, string>;
  /** z-score of the latest sample against the anomaly window before it. */
  zscore: number | null;
}

/** `GET /api/v1/metrics/:name/stats`. */
export interface StatsResult {
  metric: string;
  window: string;
  series: SeriesStats[];
}

// ---- alerts ----

export type RuleKind = 'threshold' | 'anomaly' | 'absence';
export type RuleOp = '>' | '>=' | '<' | '<=' | '==' | '!=';
export type RuleAgg = 'last' | 'avg' | 'min' | 'max' | 'rate' | 'p95';

/** An alert rule as given (`POST /api/v1/rules`); durations are ms or text such as `30s`. */
export interface RuleSpec {
  name: string;
  kind: RuleKind;
  metric: string;
  labels?: Record<string, string>;
  agg?: RuleAgg;
  window?: number | string;
  op?: RuleOp;
  threshold?: number;
  resolve_threshold?: number;
  for?: number | string;
  keep_firing_for?: number | string;
  z?: number;
  z_critical?: number;
  severity: Severity;
  annotations?: Record<string, string>;
}

/** A rule as listed: the spec plus where it came from (config rules are read-only over REST). */
export interface RuleInfo extends RuleSpec {
  source: 'config' | 'api';
}

export interface RuleList {
  rules: RuleInfo[];
}

/** An alert as the REST API serves it: the wire `AlertData` plus what the hub keeps about it. */
export interface AlertInfo extends AlertData {
  ack_comment?: string;
  /** `rule` for the hub's own rules, `external` for alerts posted to /api/v1/alerts. */
  source: 'rule' | 'external';
  /** Hash of rule + labels. */
  fingerprint: string;
  /** True while a silence matches it. */
  silenced: boolean;
  updated_at: number;
  flapping?: boolean;
}

export interface AlertList {
  alerts: AlertInfo[];
}

export interface AlertTransition {
  at: number;
  status: AlertData['status'] | 'acknowledged' | 'silenced' | 'unsilenced';
  severity: string;
  value: number | null;
  note: string | null;
}

/** `GET /api/v1/alerts/:id`. */
export interface AlertDetail extends AlertInfo {
  transitions: AlertTransition[];
}

export interface SilenceMatcher {
  name: string;
  value: string;
  /** `=` (default), `!=`, `=~`, `!~`. */
  op?: '=' | '!=' | '=~' | '!~';
}

export interface Silence {
  id: string;
  matchers: SilenceMatcher[];
  starts_at: number;
  ends_at: number;
  by: string;
  comment: string;
  created_at: number;
  status: 'pending' | 'active' | 'expired';
}

export interface SilenceList {
  silences: Silence[];
}

// ---- incidents and tasks ----

export interface IncidentList {
  incidents: IncidentData[];
}

export interface TaskList {
  tasks: TaskData[];
}
