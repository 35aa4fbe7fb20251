/**
 * @module schema
 * The configuration schema and its defaults, in one place. Keys are snake_case in files; every option's default is
 * stated here and in docs/configuration.md.
 */
import { type Static, Type } from '@sinclair/typebox';
import { DURATION_PATTERN } from './duration.js';

const Duration = (def: string, description: string) =>
  Type.Union([Type.Integer({ minimum: 0 }), Type.String({ pattern: DURATION_PATTERN })], { default: def, description });

export const HistoryRuleSchema = Type.Object(
  {
    pattern: Type.String({ minLength: 1, maxLength: 255, description: 'Channel name or pattern (`*`, `>`).' }),
    max_events: Type.Optional(Type.Integer({ minimum: 0, maximum: 10_000_000 })),
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
      },
      { additionalProperties: false, default: {} },
    ),
    history: Type.Object(
      {
        max_events: Type.Integer({ default: 1000, minimum: 0, maximum: 10_000_000 }),
        max_age: Duration('10m', 'How long events stay in channel history.'),
        channels: Type.Array(HistoryRuleSchema, {
          default: [],
          description: 'Per-pattern overrides; first match wins.',
        }),
      },
      { additionalProperties: false, default: {} },
    ),
    http: Type.Object(
      {
        body_limit: Type.Integer({ default: 10_485_760, minimum: 1024, description: 'Largest HTTP body, bytes.' }),
        sse_max_queue_bytes: Type.Integer({ default: 1_048_576, minimum: 4096 }),
      },
      { additionalProperties: false, default: {} },
    ),
  },
  { additionalProperties: false },
);

export type RawConfig = Static<typeof ConfigSchema>;
