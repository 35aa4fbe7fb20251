/**
 * @module schema
 * The configuration schema and its defaults, in one place. Keys are snake_case in files; every option's default is
 * stated here and in docs/configuration.md.
 */
import { type Static, Type } from '@sinclair/typebox';
import { AlertsConfigSchema } from '../alerts/config.js';
import { AuthConfigSchema } from '../auth/config.js';
import { DialectsConfigSchema } from '../dialects/config.js';
import { FleetConfigSchema } from '../fleet/config.js';
import { IncidentsConfigSchema } from '../incidents/config.js';
import { NotificationsConfigSchema } from '../notify/config.js';
import { TasksConfigSchema } from '../tasks/config.js';
import { DURATION_PATTERN, DurationSchema as Duration } from './duration.js';

const MiB = 1_048_576;

export const HistoryRuleSchema = Type.Object(
  {
    pattern: Type.String({ minLength: 1, maxLength: 255, description: 'Channel name or pattern (`*`, `>`).' }),
    max_events: Type.Optional(Type.Integer({ minimum: 0, maximum: 10_000_000 })),
    max_bytes: Type.Optional(Type.Integer({ minimum: 0, description: 'Estimated bytes kept per channel.' })),
    max_age: Type.Optional(
      Type.Union([Type.Integer({ minimum: 0 }), Type.String({ pattern: DURATION_PATTERN })], {
        description: 'How long events stay in history; default: history.max_age.',
      }),
    ),
  },
  { additionalProperties: false },
);

export const ConfigSchema = Type.Object(
  {
    host: Type.String({ default: '127.0.0.1', minLength: 1, description: 'Address to listen on.' }),
    port: Type.Integer({ default: 4280, minimum: 0, maximum: 65535, description: 'TCP port; 0 picks a free one.' }),
    data_dir: Type.String({ default: './data', minLength: 1, description: 'Directory for the SQLite file and state.' }),
    node_id: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'Node name; default host-pid.' })),
    log_level: Type.Union(
      ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)),
      { default: 'info' },
    ),
    insecure: Type.Boolean({
      default: false,
      description: 'Allow binding a non-loopback address while auth is not configured.',
    }),
    auth: AuthConfigSchema,
    tls: Type.Optional(
      Type.Object(
        {
          cert: Type.String({
            minLength: 1,
            description: 'PEM certificate chain, server certificate first; relative to the working directory.',
          }),
          key: Type.String({ minLength: 1, description: 'PEM private key of the certificate.' }),
        },
        {
          additionalProperties: false,
          description: 'Serve HTTPS and WSS on `port` with this certificate; absent: plain HTTP and WS.',
        },
      ),
    ),
    shutdown_timeout: Duration('5s', 'Longest graceful shutdown before the process exits anyway.'),
    gateway: Type.Object(
      {
        path: Type.String({ default: '/ws', pattern: '^/' }),
        max_payload: Type.Integer({ default: 1_048_576, minimum: 1024, description: 'Largest inbound frame, bytes.' }),
        max_subscriptions: Type.Integer({ default: 1000, minimum: 1, description: 'Subscriptions per connection.' }),
        max_queue_bytes: Type.Integer({ default: 1_048_576, minimum: 4096, description: 'Outbound queue bound.' }),
        slow_consumer_timeout: Duration('10s', 'How long a queue may stay full before the client is closed (4008).'),
        ping_interval: Duration('25s', 'WebSocket ping interval.'),
        pong_timeout: Duration('10s', 'Close with 4009 when no pong arrives within this time.'),
        compression: Type.Boolean({ default: false, description: 'Offer permessage-deflate.' }),
        allowed_origins: Type.Array(Type.String({ minLength: 1 }), {
          default: [],
          description: 'Browser origins allowed to connect; empty allows any. Clients without an Origin header pass.',
        }),
        rate_limit: Type.Object(
          {
            messages_per_s: Type.Number({
              default: 5000,
              exclusiveMinimum: 0,
              description: 'Sustained frames per second per connection.',
            }),
            burst: Type.Integer({ default: 10_000, minimum: 1, description: 'Frames a connection may send at once.' }),
            max_violations: Type.Integer({
              default: 50,
              minimum: 1,
              description: 'Frames refused within 10 s before the connection is closed with 4029.',
            }),
          },
          { additionalProperties: false, default: {} },
        ),
      },
      { additionalProperties: false, default: {} },
    ),
    limits: Type.Object(
      {
        max_connections: Type.Integer({
          default: 10_000,
          minimum: 1,
          description: 'WebSocket sessions and SSE streams open at once, all clients together.',
        }),
        max_connections_per_ip: Type.Integer({
          default: 1000,
          minimum: 1,
          description: 'WebSocket sessions and SSE streams open at once from one address.',
        }),
        max_connections_per_credential: Type.Integer({
          default: 1000,
          minimum: 1,
          description: 'WebSocket sessions and SSE streams open at once with one credential (API key or JWT subject).',
        }),
        new_connections_per_ip_per_minute: Type.Integer({
          default: 1200,
          minimum: 1,
          description: 'New WebSocket sessions and SSE streams one address may open per minute.',
        }),
        requests_per_s_per_ip: Type.Number({
          default: 2000,
          exclusiveMinimum: 0,
          description: 'HTTP requests per second from one address (bursts of twice as many).',
        }),
        requests_per_s_per_credential: Type.Number({
          default: 1000,
          exclusiveMinimum: 0,
          description: 'HTTP requests per second with one credential (bursts of twice as many).',
        }),
        subscription_changes_per_s: Type.Number({
          default: 1000,
          exclusiveMinimum: 0,
          description:
            'Channel patterns one client may subscribe to or unsubscribe from per second, over all its connections together (bursts of five times as many). A client is its credential, or its address without one.',
        }),
      },
      { additionalProperties: false, default: {} },
    ),
    history: Type.Object(
      {
        max_events: Type.Integer({ default: 1000, minimum: 0, maximum: 10_000_000 }),
        max_age: Duration('10m', 'How long events stay in channel history.'),
        max_bytes: Type.Integer({
          default: 16 * MiB,
          minimum: 0,
          description: 'Estimated bytes of history kept per channel.',
        }),
        max_total_bytes: Type.Integer({
          default: 256 * MiB,
          minimum: MiB,
          description: 'Estimated bytes of history kept by all channels together; the largest are cut back first.',
        }),
        max_channels: Type.Integer({
          default: 100_000,
          minimum: 1,
          description: 'Channels the hub keeps a position for; a publish to one more is refused (channel_limit).',
        }),
        channels: Type.Array(HistoryRuleSchema, {
          default: [],
          description: 'Per-pattern overrides; first match wins.',
        }),
      },
      { additionalProperties: false, default: {} },
    ),
    metrics: Type.Object(
      {
        collect_interval: Duration('1s', 'How often the system collector runs; 0 turns it off.'),
        status_interval: Duration('5s', 'How often `system.status` is published.'),
        max_series_per_metric: Type.Integer({ default: 10_000, minimum: 1 }),
        max_series: Type.Integer({ default: 100_000, minimum: 1 }),
        hot_window: Duration('15m', 'Full-resolution window kept in memory per series.'),
        anomaly_window: Duration('5m', 'Window of the rolling z-score.'),
        hot_max_bytes: Type.Integer({
          default: 256 * MiB,
          minimum: MiB,
          description: 'Bytes the hot windows of all series may hold together (16 per sample).',
        }),
        max_points: Type.Integer({ default: 11_000, minimum: 10, description: 'Most points per series in a query.' }),
        max_query_series: Type.Integer({
          default: 1000,
          minimum: 1,
          description: 'Most series one range query or window-statistics request may cover.',
        }),
        max_response_points: Type.Integer({
          default: 100_000,
          minimum: 10,
          description: 'Most points in one range query answer, all series together.',
        }),
        stream_max_rate: Type.Integer({
          default: 20_000,
          minimum: 1,
          description: 'metric_update events per second published as samples arrive; past it, coalesced per tick.',
        }),
        stream_tick: Duration('1s', 'Period of the coalesced metric_update stream past stream_max_rate.'),
        retention: Type.Object(
          {
            raw: Duration('2d', 'Raw samples.'),
            '1m': Duration('30d', '1-minute rollups.'),
            '1h': Duration('1y', '1-hour rollups.'),
          },
          { additionalProperties: false, default: {} },
        ),
        retention_interval: Duration('1m', 'How often the retention job runs.'),
        checkpoint_interval: Duration('2m', 'How often open raw chunks are sealed and rollups written.'),
        flush_interval: Duration('10ms', 'Longest wait before queued samples are committed (one commit per interval).'),
        synchronous: Type.Union([Type.Literal('full'), Type.Literal('normal')], {
          default: 'full',
          description: 'SQLite synchronous mode: full survives power loss, normal only process crashes.',
        }),
        scrape: Type.Array(
          Type.Object(
            {
              url: Type.String({ pattern: '^https?://' }),
              interval: Duration('15s', 'Scrape interval.'),
              timeout: Duration('10s', 'Scrape timeout.'),
              labels: Type.Record(Type.String({ pattern: '^[a-zA-Z_][a-zA-Z0-9_]*$' }), Type.String(), { default: {} }),
            },
            { additionalProperties: false },
          ),
          { default: [], description: 'Prometheus text endpoints to pull from.' },
        ),
      },
      { additionalProperties: false, default: {} },
    ),
    alerts: AlertsConfigSchema,
    tasks: TasksConfigSchema,
    fleet: FleetConfigSchema,
    incidents: IncidentsConfigSchema,
    notifications: NotificationsConfigSchema,
    dialects: DialectsConfigSchema,
    broker: Type.Object(
      {
        engine: Type.Union([Type.Literal('memory'), Type.Literal('redis')], {
          default: 'memory',
          description: 'memory: one node; redis: several nodes share channels, history and presence through Redis.',
        }),
        url: Type.String({
          default: 'redis://127.0.0.1:6379',
          pattern: '^rediss?://',
          description: 'Redis URL (engine redis).',
        }),
        prefix: Type.String({
          default: 'vigil:',
          minLength: 1,
          maxLength: 64,
          description: 'Prefix of every Redis key and pub/sub channel; the nodes of one cluster share it.',
        }),
      },
      { additionalProperties: false, default: {} },
    ),
    store: Type.Object(
      {
        engine: Type.Union([Type.Literal('sqlite'), Type.Literal('postgres')], {
          default: 'sqlite',
          description:
            'Where alerts, rules, silences, incidents, tasks and the notification dead-letter log live. sqlite: ' +
            '`<data_dir>/state.db` of this node; postgres: a PostgreSQL database the nodes of a cluster share.',
        }),
        url: Type.String({
          default: 'postgres://127.0.0.1:5432/vigil',
          pattern: '^postgres(ql)?://',
          description: 'PostgreSQL connection URL (engine postgres).',
        }),
        schema: Type.String({
          default: 'public',
          pattern: '^[a-z_][a-z0-9_]{0,62}$',
          description: 'PostgreSQL schema of the tables (created when missing); the nodes of one cluster share it.',
        }),
        pool_size: Type.Integer({
          default: 10,
          minimum: 1,
          maximum: 100,
          description: 'Most PostgreSQL connections one node holds.',
        }),
        max_failures: Type.Integer({
          default: 10_000,
          minimum: 1,
          maximum: 10_000_000,
          description: 'Rows kept in the dead-letter log of failed notifications; past it the oldest go.',
        }),
      },
      { additionalProperties: false, default: {} },
    ),
    dashboard: Type.Object(
      {
        enabled: Type.Boolean({ default: true, description: 'Serve the dashboard at `/`.' }),
        dir: Type.Optional(
          Type.String({
            minLength: 1,
            description: "The dashboard's built files; default: the @vigil/dashboard build.",
          }),
        ),
      },
      { additionalProperties: false, default: {} },
    ),
    http: Type.Object(
      {
        body_limit: Type.Integer({ default: 10_485_760, minimum: 1024, description: 'Largest HTTP body, bytes.' }),
        sse_max_queue_bytes: Type.Integer({ default: 1_048_576, minimum: 4096 }),
        cors: Type.Object(
          {
            allowed_origins: Type.Array(Type.String({ pattern: '^(\\*|https?://[^/?#\\s]+/?)$' }), {
              default: [],
              description:
                'Browser origins (`https://ops.example.com`, or `*` for any) that may call the REST API and the SSE stream from another site; empty: off.',
            }),
            max_age: Duration('10m', 'How long a browser may cache the answer to a preflight request.'),
          },
          { additionalProperties: false, default: {} },
        ),
        publish_body_limit: Type.Optional(
          Type.Integer({
            minimum: 1024,
            description: 'Largest `POST /api/v1/publish` body, bytes; default: gateway.max_payload.',
          }),
        ),
      },
      { additionalProperties: false, default: {} },
    ),
  },
  { additionalProperties: false },
);

export type RawConfig = Static<typeof ConfigSchema>;
