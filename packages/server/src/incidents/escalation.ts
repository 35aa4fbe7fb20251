/**
 * @module escalation
 * Delivery of escalations: `POST {type: 'incident_escalated', incident}` to the escalation target of the new level,
 * retried like alert webhooks; a delivery that fails for good lands in the notifications dead-letter log.
 */
import type { Logger } from 'pino';
import type { DeadLetterLog } from '../notify/dead-letter.js';
import { postJson } from '../notify/delivery.js';
import type { Scheduler } from '../notify/scheduler.js';
import type { Incident } from './types.js';

export interface EscalationDelivery {
  readonly timeoutMs: number;
  readonly maxAttempts: number;
  readonly backoffMs: number;
}

export const DEFAULT_ESCALATION_DELIVERY: EscalationDelivery = { timeoutMs: 10_000, maxAttempts: 5, backoffMs: 1_000 };

/** Level 1 notifies the first target, level 2 the second, and so on; past the end, the last target again. */
export function escalationTarget(targets: readonly string[], level: number): string | undefined {
  if (targets.length === 0 || level < 1) return undefined;
  return targets[Math.min(level, targets.length) - 1];
}

export interface EscalationSenderDeps {
  readonly scheduler: Scheduler;
  readonly deadLetters: DeadLetterLog;
  readonly delivery: EscalationDelivery;
  readonly random?: () => number;
  readonly log?: Pick<Logger, 'warn'>;
}

export class EscalationSender {
  private readonly abort = new AbortController();
  private inFlight = 0;

  constructor(private readonly deps: EscalationSenderDeps) {}

  /** Deliveries in progress. */
  pending(): number {
    return this.inFlight;
  }

  /** Sends in the background; never throws. */
  send(incident: Incident, url: string): void {
    if (this.abort.signal.aborted) return;
    this.inFlight++;
    this.deliver(incident, url)
      .catch((err: unknown) => this.deps.log?.warn({ err, url }, 'escalation delivery crashed'))
      .finally(() => this.inFlight--);
  }

  stop(): void {
    this.abort.abort();
  }

  private async deliver(incident: Incident, url: string): Promise<void> {
    const payload = { type: 'incident_escalated', incident };
    const result = await postJson(url, payload, {
      ...this.deps.delivery,
      scheduler: this.deps.scheduler,
      random: this.deps.random,
      signal: this.abort.signal,
    });
    if (result.ok || result.aborted) return;
    this.deps.log?.warn(
      { url, incident: incident.id, attempts: result.attempts, error: result.error },
      'escalation delivery failed for good',
    );
    this.deps.deadLetters.record({
      at: this.deps.scheduler.now(),
      kind: 'escalation',
      url,
      group_key: incident.group_key,
      attempts: result.attempts,
      last_error: result.error ?? 'unknown error',
      payload,
    });
  }
}
