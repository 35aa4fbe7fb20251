/**
 * @module webhook-notifier
 * One configured webhook: groups alerts by the webhook's `group_by` labels and notifies each group on Alertmanager's
 * schedule. A new group waits `group_wait`, then is looked at every `group_interval`: it is sent again when a new
 * alert fires in it or (with `send_resolved`) one resolves, and an unchanged firing group is repeated once
 * `repeat_interval` has passed since its last notification. Silenced alerts stay in their group but are left out.
 *
 * The AlertBus listener only updates in-memory groups; sending runs on timers, so a slow or dead receiver never holds
 * up rule evaluation.
 */
import type { Logger } from 'pino';
import type { Alert, AlertBus, AlertChange, AlertStatus } from '../alerts/types.js';
import type { WebhookConfig } from './config.js';
import type { DeadLetterLog } from './dead-letter.js';
import { postJson } from './delivery.js';
import { groupLabelsOf, labelSetString } from './labels.js';
import { buildPayload } from './payload.js';
import type { Scheduler, TimerHandle } from './scheduler.js';

export interface WebhookNotifierDeps {
  readonly scheduler: Scheduler;
  readonly deadLetters: DeadLetterLog;
  /** The hub's URL as receivers should see it (`externalURL`, and the base of each `generatorURL`). */
  readonly externalURL: string;
  /** `receiver` in the payload. */
  readonly receiver: string;
  readonly random?: () => number;
  readonly log?: Pick<Logger, 'warn'>;
  /** Publishes `notification_sent` and `notification_failed` on the `incidents` channel. */
  readonly publish?: (kind: 'notification_sent' | 'notification_failed', data: NotificationEvent) => void;
}

/** The data of a `notification_sent` or `notification_failed` event. */
export interface NotificationEvent {
  receiver: string;
  url: string;
  group_key: string;
  alert_ids: string[];
  attempts: number;
  error?: string;
  at: number;
}

/** What was last notified for a group: Alertmanager's notification log entry. */
interface Notified {
  firing: Set<string>;
  resolved: Set<string>;
  at: number;
}

interface Group {
  readonly key: string;
  readonly labels: Record<string, string>;
  /** Latest state of each alert, by fingerprint: a recurrence replaces the resolved alert it follows. */
  readonly alerts: Map<string, Readonly<Alert>>;
  timer: TimerHandle | undefined;
  last: Notified | undefined;
}

export interface NotifierStats {
  /** Notifications delivered. */
  sent: number;
  /** Notifications that failed for good (each one is in the dead-letter log). */
  failed: number;
  /** Groups currently held. */
  groups: number;
  /** Deliveries in progress (attempts and the waits between them). */
  in_flight: number;
}

export interface GroupView {
  key: string;
  labels: Record<string, string>;
  alerts: number;
  last_notified_at: number | null;
}

const alertKey = (a: Readonly<Alert>) => a.fingerprint || a.id;

export class WebhookNotifier {
  private readonly groups = new Map<string, Group>();
  private readonly abort = new AbortController();
  private stopped = false;
  private sent = 0;
  private failed = 0;
  private inFlight = 0;

  constructor(
    readonly config: WebhookConfig,
    private readonly deps: WebhookNotifierDeps,
  ) {}

  get url(): string {
    return this.config.url;
  }

  /** Registers this notifier's listener on the bus. */
  attach(bus: AlertBus): void {
    bus.onChange((alert, change, previous) => this.handle(alert, change, previous));
  }

  /** The AlertBus listener: synchronous, in-memory only. */
  handle(alert: Readonly<Alert>, _change?: AlertChange, _previous?: AlertStatus): void {
    if (this.stopped || alert.status === 'pending') return;
    const labels = groupLabelsOf(alert, this.config.groupBy);
    const key = `{}:${labelSetString(labels)}`;
    let group = this.groups.get(key);
    if (!group) {
      if (alert.status !== 'firing' || alert.silenced) return;
      group = { key, labels, alerts: new Map(), timer: undefined, last: undefined };
      this.groups.set(key, group);
      this.schedule(group, this.config.groupWaitMs);
    }
    group.alerts.set(alertKey(alert), { ...alert, labels: { ...alert.labels }, annotations: { ...alert.annotations } });
  }

  stats(): NotifierStats {
    return { sent: this.sent, failed: this.failed, groups: this.groups.size, in_flight: this.inFlight };
  }

  groupViews(): GroupView[] {
    return [...this.groups.values()].map((g) => ({
      key: g.key,
      labels: { ...g.labels },
      alerts: g.alerts.size,
      last_notified_at: g.last?.at ?? null,
    }));
  }

  /** Cancels every timer and any delivery in flight; the listener ignores later changes. */
  stop(): void {
    this.stopped = true;
    this.abort.abort();
    for (const g of this.groups.values()) if (g.timer !== undefined) this.deps.scheduler.clearTimeout(g.timer);
    this.groups.clear();
  }

  private schedule(group: Group, delayMs: number): void {
    group.timer = this.deps.scheduler.setTimeout(() => {
      group.timer = undefined;
      this.flush(group).catch((err: unknown) => this.deps.log?.warn({ err, url: this.url }, 'notifier flush failed'));
    }, delayMs);
  }

  private async flush(group: Group): Promise<void> {
    if (this.stopped) return;
    const started = this.deps.scheduler.now();
    const snapshot = [...group.alerts.values()];
    const notifiable = snapshot.filter((a) => !a.silenced);
    const firing = notifiable.filter((a) => a.status === 'firing');
    const resolved = notifiable.filter((a) => a.status === 'resolved');
    let done = true;
    if (notifiable.length > 0 && this.needsUpdate(group.last, firing, resolved, started)) {
      const outgoing = this.config.sendResolved ? [...firing, ...resolved] : firing;
      if (outgoing.length > 0) {
        this.inFlight++;
        try {
          done = await this.send(group, outgoing);
        } finally {
          this.inFlight--;
        }
      }
      if (this.stopped) return;
      if (done) {
        group.last = {
          firing: new Set(firing.map((a) => a.id)),
          resolved: new Set(resolved.map((a) => a.id)),
          at: started,
        };
      }
    }
    if (done) {
      // Resolved alerts leave the group once they have been dealt with, unless they changed meanwhile.
      for (const a of snapshot) {
        if (a.status === 'resolved' && group.alerts.get(alertKey(a)) === a) group.alerts.delete(alertKey(a));
      }
    }
    if (group.alerts.size === 0) {
      this.groups.delete(group.key);
      return;
    }
    this.schedule(group, Math.max(0, started + this.config.groupIntervalMs - this.deps.scheduler.now()));
  }

  /** Alertmanager's dedup rule. */
  private needsUpdate(last: Notified | undefined, firing: Alert[], resolved: Alert[], now: number): boolean {
    if (!last) return firing.length > 0;
    if (firing.some((a) => !last.firing.has(a.id))) return true;
    if (firing.length === 0) return last.firing.size > 0;
    if (this.config.sendResolved && resolved.some((a) => !last.resolved.has(a.id))) return true;
    return now - last.at >= this.config.repeatIntervalMs;
  }

  private async send(group: Group, alerts: Readonly<Alert>[]): Promise<boolean> {
    const payload = buildPayload({
      receiver: this.deps.receiver,
      groupKey: group.key,
      groupLabels: group.labels,
      externalURL: this.deps.externalURL,
      alerts,
    });
    const result = await postJson(this.config.url, payload, {
      timeoutMs: this.config.timeoutMs,
      maxAttempts: this.config.maxAttempts,
      backoffMs: this.config.backoffMs,
      scheduler: this.deps.scheduler,
      random: this.deps.random,
      signal: this.abort.signal,
    });
    const event = (): NotificationEvent => ({
      receiver: this.deps.receiver,
      url: this.config.url,
      group_key: group.key,
      alert_ids: alerts.map((a) => a.id),
      attempts: result.attempts,
      at: this.deps.scheduler.now(),
    });
    if (result.ok) {
      this.sent++;
      this.deps.publish?.('notification_sent', event());
      return true;
    }
    if (result.aborted || this.stopped) return false;
    this.failed++;
    this.deps.publish?.('notification_failed', { ...event(), error: result.error ?? 'unknown error' });
    const failure = {
      at: this.deps.scheduler.now(),
      kind: 'alert_webhook' as const,
      url: this.config.url,
      group_key: group.key,
      attempts: result.attempts,
      last_error: result.error ?? 'unknown error',
      payload,
    };
    this.deps.deadLetters.record(failure);
    this.deps.log?.warn(
      { url: this.config.url, group_key: group.key, attempts: result.attempts, error: result.error },
      'webhook notification failed for good',
    );
    return false;
  }
}
