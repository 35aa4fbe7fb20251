/**
 * @module load
 * Loads configuration once at start: the file (`vigil.config.yaml`/`.yml`/`.json`, or `--config`), then `VIGIL_*`
 * environment variables, then flags. Validates against the schema, fills defaults, and returns a frozen result.
 * A bad value raises a ConfigError that names the key.
 */
import { existsSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { Value } from '@sinclair/typebox/value';
import { isValidPattern } from '@vigil/protocol';
import { parse as parseYaml } from 'yaml';
import { type AlertsConfig, toAlertsConfig } from '../alerts/config.js';
import { type AuthConfig, toAuthConfig } from '../auth/config.js';
import type { HistoryRule } from '../broker/history-policy.js';
import { type DialectsConfig, toDialectsConfig } from '../dialects/config.js';
import { type FleetConfig, toFleetConfig } from '../fleet/config.js';
import { type CorsConfig, normalizeOrigin } from '../http/cors.js';
import { readTls, type TlsConfig, TlsFileError } from '../http/tls.js';
import { type IncidentsConfig, toIncidentsConfig } from '../incidents/config.js';
import type { ConnectionLimitsConfig } from '../limits/connection-limits.js';
import type { RequestRateConfig } from '../limits/request-rate.js';
import { type NotificationsConfig, toNotificationsConfig } from '../notify/config.js';
import { type TasksConfig, toTasksConfig } from '../tasks/config.js';
import { parseDuration } from './duration.js';
import { envOptions, envValue, setPath } from './env.js';
import { explainError } from './explain.js';
import { ConfigSchema, type RawConfig } from './schema.js';

export class ConfigError extends Error {
  constructor(
    readonly key: string,
    reason: string,
  ) {
    super(`${key}: ${reason}`);
    this.name = 'ConfigError';
  }
}

export interface Config {
  readonly host: string;
  readonly port: number;
  readonly dataDir: string;
  readonly nodeId: string;
  readonly logLevel: RawConfig['log_level'];
  readonly insecure: boolean;
  /** Credentials and their checks; undefined when auth is off. */
  readonly auth: AuthConfig | undefined;
  /** Certificate and key files (absolute paths) when the hub serves HTTPS and WSS itself; undefined: plain. */
  readonly tls: TlsConfig | undefined;
  readonly shutdownTimeoutMs: number;
  readonly gateway: {
    readonly path: string;
    readonly maxPayload: number;
    readonly maxSubscriptions: number;
    readonly maxQueueBytes: number;
    readonly slowConsumerTimeoutMs: number;
    readonly pingIntervalMs: number;
    readonly pongTimeoutMs: number;
    readonly compression: boolean;
    readonly allowedOrigins: readonly string[];
    readonly rateLimit: { readonly messagesPerS: number; readonly burst: number; readonly maxViolations: number };
  };
  readonly limits: ConnectionLimitsConfig & RequestRateConfig;
  readonly history: {
    readonly maxEvents: number;
    readonly maxAgeMs: number;
    readonly maxBytes: number;
    readonly maxTotalBytes: number;
    readonly maxChannels: number;
    readonly channels: readonly HistoryRule[];
  };
  readonly metrics: {
    readonly collectIntervalMs: number;
    readonly statusIntervalMs: number;
    readonly maxSeriesPerMetric: number;
    readonly maxSeries: number;
    readonly hotWindowMs: number;
    readonly anomalyWindowMs: number;
    readonly hotMaxBytes: number;
    readonly maxPoints: number;
    readonly maxQuerySeries: number;
    readonly maxResponsePoints: number;
    readonly streamMaxRate: number;
    readonly streamTickMs: number;
    readonly retention: { readonly rawMs: number; readonly oneMinuteMs: number; readonly oneHourMs: number };
    readonly retentionIntervalMs: number;
    readonly checkpointIntervalMs: number;
    readonly flushIntervalMs: number;
    readonly synchronous: 'full' | 'normal';
    readonly scrape: readonly ScrapeTarget[];
  };
  readonly alerts: AlertsConfig;
  readonly tasks: TasksConfig;
  readonly fleet: FleetConfig;
  readonly incidents: IncidentsConfig;
  readonly notifications: NotificationsConfig;
  readonly dialects: DialectsConfig;
  readonly http: {
    readonly bodyLimit: number;
    readonly sseMaxQueueBytes: number;
    readonly publishBodyLimit: number;
    readonly cors: CorsConfig;
  };
  readonly broker: { readonly engine: 'memory' | 'redis'; readonly url: string; readonly prefix: string };
  readonly store: {
    readonly engine: 'sqlite' | 'postgres';
    readonly url: string;
    readonly schema: string;
    readonly poolSize: number;
    readonly maxFailures: number;
  };
  /** `dir` undefined: the build of the @vigil/dashboard package, when it is installed and built. */
  readonly dashboard: { readonly enabled: boolean; readonly dir: string | undefined };
  /** The file the configuration came from, if any. */
  readonly source: string | undefined;
}

export interface ScrapeTarget {
  readonly url: string;
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly labels: Readonly<Record<string, string>>;
}

export interface ConfigSources {
  /** Parsed command-line flags (already named as config keys: host, port, data_dir, config). */
  flags?: {
    host?: string;
    port?: string | number;
    data_dir?: string;
    config?: string;
    insecure?: boolean;
    broker?: string;
    broker_url?: string;
    store?: string;
    store_url?: string;
  };
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Extra values merged over the file (used by tests and embedding). */
  overrides?: Record<string, unknown>;
}

/** The variables of every scalar option (see env.ts). */
const ENV_OPTIONS = envOptions(ConfigSchema);

/** Short names: `VIGIL_BROKER=redis` is `VIGIL_BROKER_ENGINE=redis` (which wins when both are set). */
const ENV_ALIASES: [string, string[]][] = [
  ['VIGIL_BROKER', ['broker', 'engine']],
  ['VIGIL_STORE', ['store', 'engine']],
];

const DEFAULT_FILES = ['vigil.config.yaml', 'vigil.config.yml', 'vigil.config.json'];

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function readFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError('config', `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  let value: unknown;
  try {
    value = path.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    throw new ConfigError(
      'config',
      `${path} is not valid ${path.endsWith('.json') ? 'JSON' : 'YAML'}: ${(err as Error).message}`,
    );
  }
  if (value === null || value === undefined) return {};
  if (!isPlainObject(value)) throw new ConfigError('config', `${path} must hold a mapping of keys`);
  return value;
}

/** Numbers given as strings (env, flags) become numbers so that the schema can check them. */
function coercePort(value: unknown): unknown {
  return typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
}

/** Loopback addresses: binding them needs no auth. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

function pathToKey(path: string): string {
  return path.replace(/^\//, '').replaceAll('/', '.') || '(root)';
}

function ms(value: unknown, key: string): number {
  const n = parseDuration(value);
  if (n === undefined) throw new ConfigError(key, `not a duration: ${JSON.stringify(value)}`);
  return n;
}

export function loadConfig(sources: ConfigSources = {}): Config {
  const env = sources.env ?? process.env;
  const cwd = sources.cwd ?? process.cwd();
  const flags = sources.flags ?? {};
  let file = flags.config ?? env.VIGIL_CONFIG;
  if (file) {
    file = resolve(cwd, file);
    if (!existsSync(file)) throw new ConfigError('config', `file not found: ${file}`);
  } else {
    file = DEFAULT_FILES.map((f) => resolve(cwd, f)).find((f) => existsSync(f));
  }
  const raw: Record<string, unknown> = file ? readFile(file) : {};
  for (const [name, path] of ENV_ALIASES) {
    const v = env[name];
    if (v !== undefined && v !== '') setPath(raw, path, v);
  }
  for (const [name, option] of ENV_OPTIONS) {
    const v = env[name];
    if (v === undefined || v === '') continue;
    setPath(raw, option.path, envValue(v, option.kind));
  }
  const secret = env.VIGIL_AUTH_JWT_SECRET;
  if (secret) {
    const auth = isPlainObject(raw.auth) ? raw.auth : {};
    raw.auth = { ...auth, jwt: { ...(isPlainObject(auth.jwt) ? auth.jwt : {}), secret } };
  }
  if (sources.overrides) Object.assign(raw, sources.overrides);
  if (flags.host !== undefined) raw.host = flags.host;
  if (flags.port !== undefined) raw.port = coercePort(flags.port);
  if (flags.data_dir !== undefined) raw.data_dir = flags.data_dir;
  if (flags.insecure) raw.insecure = true;
  if (flags.broker !== undefined || flags.broker_url !== undefined) {
    const broker = isPlainObject(raw.broker) ? { ...raw.broker } : {};
    if (flags.broker !== undefined) broker.engine = flags.broker;
    if (flags.broker_url !== undefined) broker.url = flags.broker_url;
    raw.broker = broker;
  }
  if (flags.store !== undefined || flags.store_url !== undefined) {
    const store = isPlainObject(raw.store) ? { ...raw.store } : {};
    if (flags.store !== undefined) store.engine = flags.store;
    if (flags.store_url !== undefined) store.url = flags.store_url;
    raw.store = store;
  }

  const withDefaults = Value.Default(ConfigSchema, structuredClone(raw));
  if (!Value.Check(ConfigSchema, withDefaults)) {
    const first = Value.Errors(ConfigSchema, withDefaults).First();
    const key = first ? pathToKey(first.path) : 'config';
    const got = first ? JSON.stringify(first.value) : '';
    throw new ConfigError(key, `${first ? explainError(first) : 'invalid'}${got !== undefined ? ` (got ${got})` : ''}`);
  }
  const c = withDefaults as RawConfig;
  const auth = c.auth === undefined ? undefined : toAuthConfig(c.auth);
  if (auth !== undefined && 'key' in auth) throw new ConfigError(auth.key, auth.reason);
  if (!isLoopback(c.host) && !c.insecure && auth === undefined) {
    throw new ConfigError(
      'host',
      `binding ${c.host} exposes the hub without authentication; configure auth, bind 127.0.0.1, or pass --insecure (insecure: true)`,
    );
  }
  let tls: TlsConfig | undefined;
  if (c.tls !== undefined) {
    tls = { cert: resolve(cwd, c.tls.cert), key: resolve(cwd, c.tls.key) };
    try {
      readTls(tls);
    } catch (err) {
      if (err instanceof TlsFileError) throw new ConfigError(err.key, err.message);
      throw err;
    }
  }
  c.history.channels.forEach((r, i) => {
    if (!isValidPattern(r.pattern)) {
      throw new ConfigError(
        `history.channels.${i}.pattern`,
        `not a channel name or pattern: ${JSON.stringify(r.pattern)}`,
      );
    }
  });
  const g = c.gateway;
  const m = c.metrics;
  const alerts = toAlertsConfig(c.alerts);
  if ('key' in alerts) throw new ConfigError(alerts.key, alerts.reason);
  const dialects = toDialectsConfig(c.dialects, g.path);
  if ('key' in dialects) throw new ConfigError(dialects.key, dialects.reason);
  const config: Config = {
    host: c.host,
    port: c.port,
    dataDir: resolve(cwd, c.data_dir),
    nodeId: c.node_id ?? `${hostname()}-${process.pid}`,
    logLevel: c.log_level,
    insecure: c.insecure,
    auth,
    tls,
    shutdownTimeoutMs: ms(c.shutdown_timeout, 'shutdown_timeout'),
    gateway: {
      path: g.path,
      maxPayload: g.max_payload,
      maxSubscriptions: g.max_subscriptions,
      maxQueueBytes: g.max_queue_bytes,
      slowConsumerTimeoutMs: ms(g.slow_consumer_timeout, 'gateway.slow_consumer_timeout'),
      pingIntervalMs: Math.max(1, ms(g.ping_interval, 'gateway.ping_interval')),
      pongTimeoutMs: Math.max(1, ms(g.pong_timeout, 'gateway.pong_timeout')),
      compression: g.compression,
      allowedOrigins: [...g.allowed_origins],
      rateLimit: {
        messagesPerS: g.rate_limit.messages_per_s,
        burst: g.rate_limit.burst,
        maxViolations: g.rate_limit.max_violations,
      },
    },
    limits: {
      maxConnections: c.limits.max_connections,
      maxConnectionsPerIp: c.limits.max_connections_per_ip,
      maxConnectionsPerCredential: c.limits.max_connections_per_credential,
      newConnectionsPerIpPerMinute: c.limits.new_connections_per_ip_per_minute,
      requestsPerSPerIp: c.limits.requests_per_s_per_ip,
      requestsPerSPerCredential: c.limits.requests_per_s_per_credential,
      subscriptionChangesPerS: c.limits.subscription_changes_per_s,
    },
    history: {
      maxEvents: c.history.max_events,
      maxAgeMs: ms(c.history.max_age, 'history.max_age'),
      maxBytes: c.history.max_bytes,
      maxTotalBytes: c.history.max_total_bytes,
      maxChannels: c.history.max_channels,
      channels: c.history.channels.map((r, i) => {
        const rule: HistoryRule = { pattern: r.pattern };
        if (r.max_events !== undefined) rule.max_events = r.max_events;
        if (r.max_bytes !== undefined) rule.max_bytes = r.max_bytes;
        if (r.max_age !== undefined) rule.max_age_ms = ms(r.max_age, `history.channels.${i}.max_age`);
        return rule;
      }),
    },
    metrics: {
      collectIntervalMs: ms(m.collect_interval, 'metrics.collect_interval'),
      statusIntervalMs: Math.max(100, ms(m.status_interval, 'metrics.status_interval')),
      maxSeriesPerMetric: m.max_series_per_metric,
      maxSeries: m.max_series,
      hotWindowMs: ms(m.hot_window, 'metrics.hot_window'),
      anomalyWindowMs: ms(m.anomaly_window, 'metrics.anomaly_window'),
      hotMaxBytes: m.hot_max_bytes,
      maxPoints: m.max_points,
      maxQuerySeries: m.max_query_series,
      maxResponsePoints: m.max_response_points,
      streamMaxRate: m.stream_max_rate,
      streamTickMs: Math.max(10, ms(m.stream_tick, 'metrics.stream_tick')),
      retention: {
        rawMs: ms(m.retention.raw, 'metrics.retention.raw'),
        oneMinuteMs: ms(m.retention['1m'], 'metrics.retention.1m'),
        oneHourMs: ms(m.retention['1h'], 'metrics.retention.1h'),
      },
      retentionIntervalMs: Math.max(1000, ms(m.retention_interval, 'metrics.retention_interval')),
      checkpointIntervalMs: Math.max(1000, ms(m.checkpoint_interval, 'metrics.checkpoint_interval')),
      flushIntervalMs: Math.max(1, ms(m.flush_interval, 'metrics.flush_interval')),
      synchronous: m.synchronous,
      scrape: m.scrape.map((t, i) => ({
        url: t.url,
        intervalMs: Math.max(100, ms(t.interval, `metrics.scrape.${i}.interval`)),
        timeoutMs: Math.max(100, ms(t.timeout, `metrics.scrape.${i}.timeout`)),
        labels: { ...t.labels },
      })),
    },
    alerts,
    tasks: toTasksConfig(c.tasks),
    fleet: toFleetConfig(c.fleet, {
      cluster: c.broker.engine === 'redis' || c.store.engine === 'postgres',
      nodeId: c.node_id,
    }),
    incidents: toIncidentsConfig(c.incidents),
    notifications: toNotificationsConfig(c.notifications),
    dialects,
    http: {
      bodyLimit: c.http.body_limit,
      sseMaxQueueBytes: c.http.sse_max_queue_bytes,
      publishBodyLimit: c.http.publish_body_limit ?? Math.min(g.max_payload, c.http.body_limit),
      cors: {
        allowedOrigins: c.http.cors.allowed_origins.map(normalizeOrigin),
        maxAgeMs: ms(c.http.cors.max_age, 'http.cors.max_age'),
      },
    },
    broker: { engine: c.broker.engine, url: c.broker.url, prefix: c.broker.prefix },
    store: {
      engine: c.store.engine,
      url: c.store.url,
      schema: c.store.schema,
      poolSize: c.store.pool_size,
      maxFailures: c.store.max_failures,
    },
    dashboard: {
      enabled: c.dashboard.enabled,
      dir: c.dashboard.dir === undefined ? undefined : resolve(cwd, c.dashboard.dir),
    },
    source: file,
  };
  return deepFreeze(config);
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
