/**
 * @module notify
 * The notifications part: one `WebhookNotifier` per configured webhook, all fed by the AlertBus, sharing one
 * dead-letter log. `createNotifiers()` returns the HubPart to push into `hub.parts`.
 */
import type { Logger } from 'pino';
import type { AlertBus } from '../alerts/types.js';
import type { HubPart } from '../part.js';
import type { StateStore } from '../storage/state-store.js';
import type { NotificationsConfig } from './config.js';
import { DeadLetterLog } from './dead-letter.js';
import { notifyRoutes } from './routes.js';
import { realScheduler, type Scheduler } from './scheduler.js';
import { type NotifierStats, WebhookNotifier } from './webhook-notifier.js';

/** What the part needs from the hub; `Hub` satisfies it. */
export interface NotifyHost {
  readonly config: {
    readonly notifications: NotificationsConfig;
    readonly host: string;
    readonly port: number;
    readonly tls?: unknown;
  };
  readonly state: StateStore;
  readonly log?: Pick<Logger, 'warn'>;
  /** Publishes an event (notification results go on `incidents`). */
  emit?(channel: string, kind: string, data: unknown): Promise<unknown>;
}

export interface NotifyOptions {
  /** Clock and timers; real ones by default. */
  scheduler?: Scheduler;
  /** Overrides `notifications.external_url` and the `http://host:port` default. */
  externalURL?: string;
  /** Jitter source for retry backoff. */
  random?: () => number;
}

export interface Notifications {
  part: HubPart;
  notifiers: WebhookNotifier[];
  deadLetters: DeadLetterLog;
  /** Notifications that failed for good, as held in the dead-letter log. */
  failureCount(): Promise<number>;
  stats(): (NotifierStats & { url: string; receiver: string })[];
}

function defaultExternalURL(host: string, port: number, tls: boolean): string {
  return `${tls ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

export function createNotifiers(hub: NotifyHost, alerts: AlertBus, opts: NotifyOptions = {}): Notifications {
  const config = hub.config.notifications;
  const scheduler = opts.scheduler ?? realScheduler();
  const deadLetters = new DeadLetterLog(hub.state, (msg, extra) => hub.log?.warn(extra, msg));
  const externalURL =
    opts.externalURL ??
    config.externalUrl ??
    defaultExternalURL(hub.config.host, hub.config.port, hub.config.tls !== undefined);
  const notifiers = config.webhooks.map(
    (webhook) =>
      new WebhookNotifier(webhook, {
        scheduler,
        deadLetters,
        externalURL,
        receiver: webhook.name,
        random: opts.random,
        log: hub.log,
        publish: (kind, data) => {
          hub.emit?.('incidents', kind, data).catch(() => {});
        },
      }),
  );
  // Listen from the start, so that no change between creation and start is missed.
  for (const n of notifiers) n.attach(alerts);
  return {
    notifiers,
    deadLetters,
    failureCount: () => deadLetters.count(),
    stats: () => notifiers.map((n) => ({ ...n.stats(), url: n.url, receiver: n.config.name })),
    part: {
      name: 'notifications',
      // Alerts already firing (restored by the engine before this part started) join their groups.
      start() {
        for (const alert of alerts.active()) for (const n of notifiers) n.handle(alert, 'transition', undefined);
      },
      routes: (app) => notifyRoutes(app, deadLetters),
      async stop() {
        for (const n of notifiers) n.stop();
        await deadLetters.settled();
      },
    },
  };
}

export type { NotificationsConfig, WebhookConfig } from './config.js';
export type { NotificationFailure } from './dead-letter.js';
export type { AlertmanagerPayload } from './payload.js';
export { WebhookNotifier } from './webhook-notifier.js';
