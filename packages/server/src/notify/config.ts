/**
 * @module notify-config
 * Configuration of notifiers (`notifications:` in the config file).
 */
import { type Static, Type } from '@sinclair/typebox';
import { DurationSchema as Duration, parseDuration } from '../config/duration.js';

export const WebhookSchema = Type.Object(
  {
    url: Type.String({ pattern: '^https?://' }),
    name: Type.Optional(
      Type.String({ minLength: 1, description: '`receiver` in the payload; `webhook-<n>` (1-based) by default.' }),
    ),
    group_by: Type.Array(Type.String({ minLength: 1 }), { default: ['alertname'] }),
    group_wait: Duration('30s', 'Wait before the first notification of a new group.'),
    group_interval: Duration('5m', 'Wait before notifying a group again after it changed.'),
    repeat_interval: Duration('4h', 'Wait before repeating an unchanged firing group.'),
    send_resolved: Type.Boolean({ default: true }),
    timeout: Duration('10s', 'HTTP timeout of one delivery attempt.'),
    max_attempts: Type.Integer({ default: 5, minimum: 1, maximum: 100 }),
    backoff: Duration('1s', 'First retry delay; doubles per attempt, with jitter.'),
  },
  { additionalProperties: false },
);

export const NotificationsConfigSchema = Type.Object(
  {
    webhooks: Type.Array(WebhookSchema, { default: [] }),
    external_url: Type.Optional(
      Type.String({
        pattern: '^https?://',
        description: "The hub's URL as receivers see it (`externalURL`); `http://<host>:<port>` by default.",
      }),
    ),
  },
  { additionalProperties: false, default: {} },
);

export interface WebhookConfig {
  readonly url: string;
  readonly name: string;
  readonly groupBy: readonly string[];
  readonly groupWaitMs: number;
  readonly groupIntervalMs: number;
  readonly repeatIntervalMs: number;
  readonly sendResolved: boolean;
  readonly timeoutMs: number;
  readonly maxAttempts: number;
  readonly backoffMs: number;
}

export interface NotificationsConfig {
  readonly webhooks: readonly WebhookConfig[];
  readonly externalUrl: string | undefined;
}

export function toNotificationsConfig(raw: Static<typeof NotificationsConfigSchema>): NotificationsConfig {
  return {
    externalUrl: raw.external_url?.replace(/\/+$/, ''),
    webhooks: raw.webhooks.map((w, i) => ({
      url: w.url,
      name: w.name ?? `webhook-${i + 1}`,
      groupBy: [...w.group_by],
      groupWaitMs: parseDuration(w.group_wait)!,
      groupIntervalMs: parseDuration(w.group_interval)!,
      repeatIntervalMs: parseDuration(w.repeat_interval)!,
      sendResolved: w.send_resolved,
      timeoutMs: parseDuration(w.timeout)!,
      maxAttempts: w.max_attempts,
      backoffMs: parseDuration(w.backoff)!,
    })),
  };
}
