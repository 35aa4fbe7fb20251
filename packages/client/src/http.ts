/**
 * @module http
 * `VigilHttp`: the hub's REST API for browsers and Node (global `fetch`), with the same credential as the WebSocket
 * client, a timeout per request, and replies typed from `@vigil/protocol`. A hub error (`{error: {code, message,
 * details}}`) rejects with a `VigilClientError` carrying that code, message and details (plus `status`), so a form can
 * show `details.field` next to the field; an unreachable hub rejects with `request_failed`, a slow one with `timeout`.
 */
import type {
  AlertDetail,
  AlertInfo,
  AlertList,
  ChannelHistory,
  ChannelList,
  CurrentValues,
  HubStats,
  IncidentData,
  IncidentList,
  IngestReply,
  PublishReply,
  RangeAgg,
  RangeResult,
  RuleInfo,
  RuleList,
  RuleSpec,
  SeriesList,
  Silence,
  SilenceList,
  SilenceMatcher,
  StatsResult,
  TaskData,
  TaskList,
  WhoAmI,
} from '@vigil/protocol';
import { VigilClientError } from './errors.js';

export type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;

export interface VigilHttpOptions {
  /** The hub's base URL (`http://127.0.0.1:4280`); empty or omitted in a page the hub serves (same origin). */
  url?: string;
  /** The credential (API key or JWT) sent as `Authorization: Bearer`; called for each request. */
  getToken?: () => string | undefined | Promise<string | undefined>;
  /** Timeout of each request, ms. Default 10,000. */
  timeoutMs?: number;
  /** A `fetch` to use instead of the global one. */
  fetch?: FetchLike;
}

export const DEFAULT_HTTP_TIMEOUT_MS = 10_000;

type Query = Record<string, string | number | boolean | undefined>;

export interface RangeQuery {
  /** ms since the epoch, RFC 3339, `now` or `now-<duration>`. Default: `to` minus 15 minutes. */
  from?: number | string;
  to?: number | string;
  /** ms or a duration such as `10s`. Default: about 1,000 points. */
  step?: number | string;
  agg?: RangeAgg;
  labels?: Record<string, string>;
}

export interface SeriesFilter {
  prefix?: string;
  labels?: Record<string, string>;
}

export interface AlertQuery {
  /** Pending and firing alerts only. */
  active?: boolean;
  state?: 'pending' | 'firing' | 'resolved';
  rule?: string;
  since?: number;
  limit?: number;
}

export interface SilenceInput {
  matchers: SilenceMatcher[];
  starts_at?: number | string;
  ends_at: number | string;
  by: string;
  comment: string;
}

const labelsParam = (labels: Record<string, string> | undefined) =>
  labels && Object.keys(labels).length > 0 ? JSON.stringify(labels) : undefined;

const seg = encodeURIComponent;

/** A failed fetch's reason: Node's `fetch failed` hides the socket error (`ECONNREFUSED …`) in `cause`. */
function describeCause(err: unknown): string {
  const cause = (err as { cause?: unknown } | undefined)?.cause;
  if (cause instanceof Error) {
    const code = (cause as { code?: unknown }).code;
    return typeof code === 'string' && !cause.message.includes(code) ? `${code} ${cause.message}` : cause.message;
  }
  return err instanceof Error ? err.message : String(err);
}

export class VigilHttp {
  private readonly base: string;
  private readonly timeoutMs: number;
  private readonly fetchImpl: FetchLike;

  constructor(private readonly options: VigilHttpOptions = {}) {
    this.base = (options.url ?? '').replace(/\/+$/, '');
    this.timeoutMs = options.timeoutMs ?? DEFAULT_HTTP_TIMEOUT_MS;
    const global = (globalThis as { fetch?: FetchLike }).fetch;
    if (!options.fetch && typeof global !== 'function') throw new TypeError('VigilHttp: no fetch implementation');
    // Browsers refuse a `fetch` called with another `this` (Illegal invocation): call it through the global.
    this.fetchImpl =
      options.fetch ?? ((input, init) => (globalThis as unknown as { fetch: FetchLike }).fetch(input, init));
  }

  /** One request; resolves with the parsed JSON body (undefined for 204). */
  async request<T>(method: string, path: string, init: { query?: Query; body?: unknown } = {}): Promise<T> {
    let url = `${this.base}${path}`;
    if (init.query) {
      const q = new URLSearchParams();
      for (const [k, v] of Object.entries(init.query)) if (v !== undefined) q.set(k, String(v));
      const text = q.toString();
      if (text) url += `?${text}`;
    }
    const headers: Record<string, string> = { accept: 'application/json' };
    if (init.body !== undefined) headers['content-type'] = 'application/json';
    const token = await this.options.getToken?.();
    if (token) headers.authorization = `Bearer ${token}`;
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), this.timeoutMs);
    let res: Response;
    let text: string;
    try {
      res = await this.fetchImpl(url, {
        method,
        headers,
        body: init.body === undefined ? undefined : JSON.stringify(init.body),
        signal: abort.signal,
      });
      text = await res.text();
    } catch (err) {
      if (abort.signal.aborted) {
        throw new VigilClientError('timeout', `${method} ${path}: no answer within ${this.timeoutMs} ms`);
      }
      throw new VigilClientError('request_failed', `${method} ${path}: ${describeCause(err)}`, {
        url: `${this.base}${path}`,
      });
    } finally {
      clearTimeout(timer);
    }
    let body: unknown;
    try {
      body = text === '' ? undefined : JSON.parse(text);
    } catch {
      body = undefined;
    }
    if (!res.ok) {
      const error = (body as { error?: { code?: unknown; message?: unknown; details?: unknown } } | undefined)?.error;
      const details = { ...((error?.details as Record<string, unknown> | undefined) ?? {}), status: res.status };
      if (error && typeof error.code === 'string') {
        throw new VigilClientError(error.code, String(error.message ?? res.statusText), details, true);
      }
      throw new VigilClientError(`http_${res.status}`, text.slice(0, 200) || res.statusText, details, true);
    }
    return body as T;
  }

  get<T>(path: string, query?: Query): Promise<T> {
    return this.request<T>('GET', path, { query });
  }

  post<T>(path: string, body: unknown = {}): Promise<T> {
    return this.request<T>('POST', path, { body });
  }

  // ---- hub and channels ----

  stats(): Promise<HubStats> {
    return this.get('/api/v1/stats');
  }

  whoami(): Promise<WhoAmI> {
    return this.get('/api/v1/whoami');
  }

  channels(): Promise<ChannelList> {
    return this.get('/api/v1/channels');
  }

  history(channel: string, options: { since?: number; limit?: number } = {}): Promise<ChannelHistory> {
    return this.get(`/api/v1/channels/${seg(channel)}/history`, options);
  }

  publish(channel: string, data: unknown, kind?: string): Promise<PublishReply> {
    return this.post('/api/v1/publish', kind === undefined ? { channel, data } : { channel, data, kind });
  }

  // ---- metrics ----

  ingest(
    samples: { name: string; value: number; labels?: Record<string, string>; ts?: number }[],
  ): Promise<IngestReply> {
    return this.post('/api/v1/metrics', samples);
  }

  series(filter: SeriesFilter = {}): Promise<SeriesList> {
    return this.get('/api/v1/metrics', { prefix: filter.prefix, labels: labelsParam(filter.labels) });
  }

  current(filter: SeriesFilter = {}): Promise<CurrentValues> {
    return this.get('/api/v1/metrics/current', { prefix: filter.prefix, labels: labelsParam(filter.labels) });
  }

  query(metric: string, q: RangeQuery = {}): Promise<RangeResult> {
    return this.get(`/api/v1/metrics/${seg(metric)}`, {
      from: q.from,
      to: q.to,
      step: q.step,
      agg: q.agg,
      labels: labelsParam(q.labels),
    });
  }

  metricStats(metric: string, window = '5m', labels?: Record<string, string>): Promise<StatsResult> {
    return this.get(`/api/v1/metrics/${seg(metric)}/stats`, { window, labels: labelsParam(labels) });
  }

  // ---- alerts, rules, silences ----

  rules(): Promise<RuleList> {
    return this.get('/api/v1/rules');
  }

  createRule(spec: RuleSpec): Promise<RuleInfo> {
    return this.post('/api/v1/rules', spec);
  }

  updateRule(name: string, spec: RuleSpec): Promise<RuleInfo> {
    return this.request('PUT', `/api/v1/rules/${seg(name)}`, { body: spec });
  }

  deleteRule(name: string): Promise<void> {
    return this.request('DELETE', `/api/v1/rules/${seg(name)}`);
  }

  alerts(q: AlertQuery = {}): Promise<AlertList> {
    return this.get('/api/v1/alerts', { ...q });
  }

  alert(id: string): Promise<AlertDetail> {
    return this.get(`/api/v1/alerts/${seg(id)}`);
  }

  ackAlert(id: string, by?: string, comment?: string): Promise<AlertInfo> {
    return this.post(`/api/v1/alerts/${seg(id)}/ack`, { by, comment });
  }

  silences(): Promise<SilenceList> {
    return this.get('/api/v1/silences');
  }

  createSilence(input: SilenceInput): Promise<Silence> {
    return this.post('/api/v1/silences', input);
  }

  expireSilence(id: string): Promise<Silence> {
    return this.request('DELETE', `/api/v1/silences/${seg(id)}`);
  }

  // ---- incidents and tasks ----

  incidents(q: { status?: IncidentData['status']; limit?: number } = {}): Promise<IncidentList> {
    return this.get('/api/v1/incidents', q);
  }

  incident(id: string): Promise<IncidentData> {
    return this.get(`/api/v1/incidents/${seg(id)}`);
  }

  ackIncident(id: string, by: string, comment?: string): Promise<IncidentData> {
    return this.post(`/api/v1/incidents/${seg(id)}/ack`, { by, comment });
  }

  assignIncident(id: string, assignee: string | null, by?: string): Promise<IncidentData> {
    return this.post(`/api/v1/incidents/${seg(id)}/assign`, { assignee, by });
  }

  commentIncident(id: string, by: string, text: string): Promise<IncidentData> {
    return this.post(`/api/v1/incidents/${seg(id)}/comments`, { by, text });
  }

  resolveIncident(id: string, by?: string, comment?: string): Promise<IncidentData> {
    return this.post(`/api/v1/incidents/${seg(id)}/resolve`, { by, comment });
  }

  tasks(q: { status?: TaskData['status']; limit?: number } = {}): Promise<TaskList> {
    return this.get('/api/v1/tasks', q);
  }

  task(id: string): Promise<TaskData> {
    return this.get(`/api/v1/tasks/${seg(id)}`);
  }
}
