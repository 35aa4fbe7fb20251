/**
 * @module options
 * The options of `VigilClient`, their defaults in one place, and their one-time validation.
 */
import { type BackoffOptions, DEFAULT_MAX_DELAY_MS, DEFAULT_MIN_DELAY_MS } from './backoff.js';
import type { FetchLike } from './http.js';
import { DEFAULT_OFFLINE_MAX_AGE_MS, DEFAULT_OFFLINE_MAX_ITEMS, type OfflineQueueOptions } from './offline-queue.js';
import { buildUrl, type Encoding, type TokenTransport, type WebSocketConstructor } from './transport.js';

/** How the client reaches the hub: a WebSocket, or Server-Sent Events plus the REST API. */
export type Transport = 'websocket' | 'sse';

export interface VigilClientOptions {
  /** The hub: `ws://host:4280/ws`, `http://host:4280` (the `/ws` path is added) or `/ws` in a browser. */
  url: string;
  /** Wire encoding: `json` (default) or `msgpack`. */
  encoding?: Encoding;
  /** Called for a token before the first connect and again after a 4001 close. */
  getToken?: () => Promise<string> | string;
  /** Where the token goes: `auto` (header with the `ws` package, `?token=` otherwise), `header` or `query`. */
  tokenTransport?: TokenTransport;
  /** A WebSocket constructor to use instead of `globalThis.WebSocket` or the `ws` package. */
  WebSocket?: WebSocketConstructor;
  /** Reconnect and resubscribe delays (full jitter). Default 500 ms to 20 s. */
  backoff?: BackoffOptions;
  /** Timeout of each request (`publish`, `call`, `subscribe`), ms. Default 10,000. */
  requestTimeoutMs?: number;
  /** Time allowed from opening the socket to the welcome frame, ms. Default 10,000. */
  connectTimeoutMs?: number;
  /** How often to send the `ping` op, ms; 0 turns it off. Default: the welcome's `heartbeat.interval_ms`, at most 15 s. */
  heartbeatIntervalMs?: number;
  /** How long after a ping with no frame at all the link is dead, ms. Default: the welcome's `heartbeat.timeout_ms`, at most 10 s. */
  heartbeatTimeoutMs?: number;
  /** The bounds of the offline queue. Default 1000 items and 30 s. */
  offlineQueue?: OfflineQueueOptions;
  /**
   * Reconnect attempts in a row, after a lost connection or a failed connect, before the client gives up and turns
   * `disconnected` (`connect()` starts again). Default: no limit.
   */
  maxReconnectAttempts?: number;
  /**
   * The transports the client may use. Default `['websocket', 'sse']`: WebSocket, and Server-Sent Events plus the REST
   * API when a WebSocket cannot connect. `['websocket']` or `['sse']` forces one. WebSocket is tried first whenever it
   * is listed, whatever the order.
   */
  transports?: readonly Transport[];
  /** While connected over SSE, how often to try a WebSocket again and move back to it, ms; 0 never. Default 30,000. */
  websocketRetryMs?: number;
  /** The hub's HTTP base for SSE and REST. Default: `url` over http(s), without the WebSocket path's last segment. */
  httpUrl?: string;
  /** A `fetch` for the SSE transport instead of the global one. */
  fetch?: FetchLike;
}

export interface ResolvedOptions {
  url: string;
  encoding: Encoding;
  getToken: (() => Promise<string> | string) | undefined;
  tokenTransport: TokenTransport;
  WebSocket: WebSocketConstructor | undefined;
  backoff: Required<BackoffOptions>;
  requestTimeoutMs: number;
  connectTimeoutMs: number;
  heartbeatIntervalMs: number | undefined;
  heartbeatTimeoutMs: number | undefined;
  offlineQueue: Required<OfflineQueueOptions>;
  maxReconnectAttempts: number;
  transports: readonly Transport[];
  websocketRetryMs: number;
  httpUrl: string;
  fetch: FetchLike | undefined;
}

export const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
export const DEFAULT_WEBSOCKET_RETRY_MS = 30_000;

/** The HTTP base of a hub URL: `ws://h:1/ws` gives `http://h:1`, `wss://h/vigil/ws` gives `https://h/vigil`. */
export function httpBase(url: string): string {
  const u = new URL(buildUrl(url, undefined, false));
  u.protocol = u.protocol === 'wss:' ? 'https:' : 'http:';
  u.pathname = u.pathname.slice(0, u.pathname.lastIndexOf('/'));
  u.search = '';
  u.hash = '';
  return u.toString().replace(/\/+$/, '');
}

function nonNegative(name: string, value: number | undefined): void {
  if (value !== undefined && !(Number.isFinite(value) && value >= 0)) {
    throw new TypeError(`VigilClient: ${name} must be a finite number >= 0, got ${String(value)}`);
  }
}

/** Applies defaults and checks every option once; throws a `TypeError` naming the bad option. */
export function resolveOptions(options: VigilClientOptions): ResolvedOptions {
  if (typeof options?.url !== 'string') throw new TypeError('VigilClient: url is required');
  try {
    buildUrl(options.url, undefined, false);
  } catch {
    throw new TypeError(`VigilClient: invalid url '${options.url}'`);
  }
  if (options.encoding !== undefined && options.encoding !== 'json' && options.encoding !== 'msgpack') {
    throw new TypeError(`VigilClient: encoding must be 'json' or 'msgpack'`);
  }
  nonNegative('requestTimeoutMs', options.requestTimeoutMs);
  nonNegative('connectTimeoutMs', options.connectTimeoutMs);
  nonNegative('heartbeatIntervalMs', options.heartbeatIntervalMs);
  nonNegative('heartbeatTimeoutMs', options.heartbeatTimeoutMs);
  nonNegative('backoff.minDelayMs', options.backoff?.minDelayMs);
  nonNegative('backoff.maxDelayMs', options.backoff?.maxDelayMs);
  nonNegative('offlineQueue.maxItems', options.offlineQueue?.maxItems);
  nonNegative('offlineQueue.maxAgeMs', options.offlineQueue?.maxAgeMs);
  const max = options.maxReconnectAttempts;
  if (max !== undefined && !(max === Number.POSITIVE_INFINITY || (Number.isInteger(max) && max >= 0))) {
    throw new TypeError(`VigilClient: maxReconnectAttempts must be an integer >= 0 or Infinity, got ${String(max)}`);
  }
  const transports = options.transports ?? ['websocket', 'sse'];
  if (
    !Array.isArray(transports) ||
    transports.length === 0 ||
    transports.some((t) => t !== 'websocket' && t !== 'sse') ||
    new Set(transports).size !== transports.length
  ) {
    throw new TypeError("VigilClient: transports must list 'websocket' and/or 'sse' once each");
  }
  nonNegative('websocketRetryMs', options.websocketRetryMs);
  let http: string;
  try {
    http =
      options.httpUrl === undefined
        ? httpBase(options.url)
        : new URL(options.httpUrl, (globalThis as { location?: { href: string } }).location?.href).toString();
  } catch {
    throw new TypeError(`VigilClient: invalid httpUrl '${options.httpUrl}'`);
  }
  return {
    url: options.url,
    encoding: options.encoding ?? 'json',
    getToken: options.getToken,
    tokenTransport: options.tokenTransport ?? 'auto',
    WebSocket: options.WebSocket,
    backoff: {
      minDelayMs: options.backoff?.minDelayMs ?? DEFAULT_MIN_DELAY_MS,
      maxDelayMs: options.backoff?.maxDelayMs ?? DEFAULT_MAX_DELAY_MS,
      random: options.backoff?.random ?? Math.random,
    },
    requestTimeoutMs: options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
    connectTimeoutMs: options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
    heartbeatIntervalMs: options.heartbeatIntervalMs,
    heartbeatTimeoutMs: options.heartbeatTimeoutMs,
    offlineQueue: {
      maxItems: options.offlineQueue?.maxItems ?? DEFAULT_OFFLINE_MAX_ITEMS,
      maxAgeMs: options.offlineQueue?.maxAgeMs ?? DEFAULT_OFFLINE_MAX_AGE_MS,
    },
    maxReconnectAttempts: max ?? Number.POSITIVE_INFINITY,
    transports: [...transports],
    websocketRetryMs: options.websocketRetryMs ?? DEFAULT_WEBSOCKET_RETRY_MS,
    httpUrl: http.replace(/\/+$/, ''),
    fetch: options.fetch,
  };
}
