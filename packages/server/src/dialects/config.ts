/**
 * @module dialects-config
 * Configuration of the dialects (`dialects:` in the config file): per dialect whether it is mounted, its WebSocket
 * path and its HTTP paths. The defaults never take the v1 gateway's `/ws`; a configuration may give `/ws` to one
 * dialect once `gateway.path` has moved elsewhere. Every WebSocket path must be unique.
 */
import { type Static, Type } from '@sinclair/typebox';
import { DurationSchema as Duration, parseDuration } from '../config/duration.js';

const Path = (def: string, description: string) =>
  Type.String({ default: def, pattern: '^/[A-Za-z0-9_./-]*$', maxLength: 200, description });

export const DialectsConfigSchema = Type.Object(
  {
    perfmon: Type.Object(
      {
        enabled: Type.Boolean({ default: true, description: 'Mount the perfmon dialect.' }),
        path: Path('/perfmon/ws', 'WebSocket path of the perfmon dialect.'),
        summary_path: Path('/perfmon/summary', 'HTTP path of its metric summary.'),
        alerts_path: Path('/perfmon/alerts', 'HTTP path of its active alert list.'),
        metrics_path: Path('/perfmon/metrics', 'HTTP path of its latest-value listing (never `/metrics`).'),
      },
      { additionalProperties: false, default: {} },
    ),
    envelope: Type.Object(
      {
        enabled: Type.Boolean({ default: true, description: 'Mount the envelope dialect.' }),
        path: Path('/envelope/ws', 'WebSocket path of the envelope dialect.'),
        dashboard_path: Path('/dashboard', "Path that sends its users to Vigil's dashboard."),
        status_interval: Duration('5s', 'How often `metrics_update` is pushed to its clients.'),
        max_task_ids: Type.Integer({
          default: 1000,
          minimum: 1,
          maximum: 100_000,
          description: 'Most `task_ids` one subscribe filter may name.',
        }),
      },
      { additionalProperties: false, default: {} },
    ),
    incident: Type.Object(
      {
        enabled: Type.Boolean({ default: true, description: 'Mount the incident dialect.' }),
        path: Path('/incident/ws', 'WebSocket path of the incident dialect.'),
        alerts_path: Path('/v1/alerts', 'HTTP path where its clients submit alerts.'),
        incidents_path: Path('/v1/incidents', 'HTTP path of its incident list.'),
        session_timeout: Duration('5m', 'A session that sends nothing for this long is closed; 0 never closes one.'),
        max_subscriptions: Type.Integer({
          default: 32,
          minimum: 1,
          maximum: 1000,
          description: 'Subscriptions one session may hold.',
        }),
      },
      { additionalProperties: false, default: {} },
    ),
    rooms: Type.Object(
      {
        enabled: Type.Boolean({ default: true, description: 'Mount the rooms dialect.' }),
        path: Path('/api/ws/connect', 'WebSocket path of the rooms dialect.'),
        http_prefix: Path('/api/ws', 'Prefix of its HTTP management routes.'),
      },
      { additionalProperties: false, default: {} },
    ),
    streams: Type.Object(
      {
        enabled: Type.Boolean({ default: true, description: 'Mount the streams dialect.' }),
        path: Path('/api/ws/ws', 'WebSocket path of its system metrics stream.'),
        alerts_path: Path('/api/ws/ws/alerts', 'WebSocket path of its alert stream.'),
        broadcast_path: Path('/api/ws/broadcast/alert', 'HTTP path that broadcasts an alert.'),
        metrics_prefix: Path('/api/metrics', 'Prefix of its metric routes (`/current`, `/<metric_name>`).'),
        heartbeat_interval: Duration('30s', 'How often the alert stream sends `heartbeat`.'),
      },
      { additionalProperties: false, default: {} },
    ),
  },
  { additionalProperties: false, default: {} },
);

export interface DialectsConfig {
  readonly perfmon: {
    readonly enabled: boolean;
    readonly path: string;
    readonly summaryPath: string;
    readonly alertsPath: string;
    readonly metricsPath: string;
  };
  readonly envelope: {
    readonly enabled: boolean;
    readonly path: string;
    readonly dashboardPath: string;
    readonly statusIntervalMs: number;
    readonly maxTaskIds: number;
  };
  readonly incident: {
    readonly enabled: boolean;
    readonly path: string;
    readonly alertsPath: string;
    readonly incidentsPath: string;
    readonly sessionTimeoutMs: number;
    readonly maxSubscriptions: number;
  };
  readonly rooms: { readonly enabled: boolean; readonly path: string; readonly httpPrefix: string };
  readonly streams: {
    readonly enabled: boolean;
    readonly path: string;
    readonly alertsPath: string;
    readonly broadcastPath: string;
    readonly metricsPrefix: string;
    readonly heartbeatIntervalMs: number;
  };
}

/** Paths of the hub itself that no dialect HTTP route may take (`/api` itself, and what is under these). */
const HUB_PATHS = ['/metrics', '/health', '/ready', '/api/v1', '/api/docs'];

export function toDialectsConfig(
  raw: Static<typeof DialectsConfigSchema>,
  gatewayPath: string,
): DialectsConfig | { key: string; reason: string } {
  const config: DialectsConfig = {
    perfmon: {
      enabled: raw.perfmon.enabled,
      path: raw.perfmon.path,
      summaryPath: raw.perfmon.summary_path,
      alertsPath: raw.perfmon.alerts_path,
      metricsPath: raw.perfmon.metrics_path,
    },
    envelope: {
      enabled: raw.envelope.enabled,
      path: raw.envelope.path,
      dashboardPath: raw.envelope.dashboard_path,
      statusIntervalMs: Math.max(100, parseDuration(raw.envelope.status_interval)!),
      maxTaskIds: raw.envelope.max_task_ids,
    },
    incident: {
      enabled: raw.incident.enabled,
      path: raw.incident.path,
      alertsPath: raw.incident.alerts_path,
      incidentsPath: raw.incident.incidents_path,
      sessionTimeoutMs: parseDuration(raw.incident.session_timeout)!,
      maxSubscriptions: raw.incident.max_subscriptions,
    },
    rooms: { enabled: raw.rooms.enabled, path: raw.rooms.path, httpPrefix: raw.rooms.http_prefix },
    streams: {
      enabled: raw.streams.enabled,
      path: raw.streams.path,
      alertsPath: raw.streams.alerts_path,
      broadcastPath: raw.streams.broadcast_path,
      metricsPrefix: raw.streams.metrics_prefix,
      heartbeatIntervalMs: Math.max(100, parseDuration(raw.streams.heartbeat_interval)!),
    },
  };
  const taken = new Map<string, string>([[gatewayPath, 'gateway.path']]);
  const ws: [string, string, boolean][] = [
    ['dialects.perfmon.path', config.perfmon.path, config.perfmon.enabled],
    ['dialects.envelope.path', config.envelope.path, config.envelope.enabled],
    ['dialects.incident.path', config.incident.path, config.incident.enabled],
    ['dialects.rooms.path', config.rooms.path, config.rooms.enabled],
    ['dialects.streams.path', config.streams.path, config.streams.enabled],
    ['dialects.streams.alerts_path', config.streams.alertsPath, config.streams.enabled],
  ];
  for (const [key, path, enabled] of ws) {
    if (!enabled) continue;
    const other = taken.get(path);
    if (other) return { key, reason: `${path} is already the path of ${other}; give each WebSocket its own path` };
    taken.set(path, key);
  }
  const http: [string, string, boolean][] = [
    ['dialects.perfmon.summary_path', config.perfmon.summaryPath, config.perfmon.enabled],
    ['dialects.perfmon.alerts_path', config.perfmon.alertsPath, config.perfmon.enabled],
    ['dialects.perfmon.metrics_path', config.perfmon.metricsPath, config.perfmon.enabled],
    ['dialects.envelope.dashboard_path', config.envelope.dashboardPath, config.envelope.enabled],
    ['dialects.incident.alerts_path', config.incident.alertsPath, config.incident.enabled],
    ['dialects.incident.incidents_path', config.incident.incidentsPath, config.incident.enabled],
    ['dialects.rooms.http_prefix', config.rooms.httpPrefix, config.rooms.enabled],
    ['dialects.streams.broadcast_path', config.streams.broadcastPath, config.streams.enabled],
    ['dialects.streams.metrics_prefix', config.streams.metricsPrefix, config.streams.enabled],
  ];
  for (const [key, path, enabled] of http) {
    if (!enabled) continue;
    if (path === '/api' || HUB_PATHS.some((p) => path === p || path.startsWith(`${p}/`)) || taken.has(path)) {
      return { key, reason: `${path} belongs to the hub or to a WebSocket path; choose another` };
    }
  }
  return config;
}
