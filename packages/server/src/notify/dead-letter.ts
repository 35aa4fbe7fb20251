/**
 * @module dead-letter
 * The dead-letter log of notifications that failed for good (alert webhooks and incident escalations alike), kept
 * in the state store. Bounded by the store: past its `max_failures` rows the oldest go.
 */
import type { StateStore } from '../storage/state-store.js';

export type FailureKind = 'alert_webhook' | 'escalation';

export interface NotificationFailure {
  id: number;
  /** ms since the epoch. */
  at: number;
  kind: FailureKind;
  url: string;
  group_key: string;
  attempts: number;
  last_error: string;
  payload: unknown;
}

export type NewFailure = Omit<NotificationFailure, 'id'>;

export class DeadLetterLog {
  private pending = new Set<Promise<unknown>>();

  constructor(
    private readonly store: StateStore,
    private readonly log?: (msg: string, extra: Record<string, unknown>) => void,
  ) {}

  /** Records a failure; a store error is logged, never thrown into the sender. */
  record(failure: NewFailure): void {
    const p = this.store
      .recordFailure(failure)
      .catch((err: unknown) => this.log?.('could not record a failed notification', { err: String(err) }))
      .finally(() => this.pending.delete(p));
    this.pending.add(p);
  }

  /** Resolves once every failure recorded so far is in the store. */
  async settled(): Promise<void> {
    await Promise.all([...this.pending]);
  }

  /** Newest first. */
  async list(opts: { limit?: number | undefined; since?: number | undefined } = {}): Promise<NotificationFailure[]> {
    await this.settled();
    return this.store.listFailures(opts);
  }

  async count(): Promise<number> {
    await this.settled();
    return this.store.countFailures();
  }
}
