/**
 * @module dead-letter
 * The dead-letter log of notifications that failed for good (`notification_failures` in the state database): alert
 * webhooks and incident escalations alike. Bounded: past `maxRows` the oldest rows go.
 */
import { migrate, type StateDb } from '../storage/state-db.js';

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

interface Row {
  id: number;
  at: number;
  kind: FailureKind;
  url: string;
  group_key: string;
  attempts: number;
  last_error: string;
  payload: string;
}

const MIGRATIONS = [
  `CREATE TABLE notification_failures (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     at INTEGER NOT NULL,
     kind TEXT NOT NULL,
     url TEXT NOT NULL,
     group_key TEXT NOT NULL,
     attempts INTEGER NOT NULL,
     last_error TEXT NOT NULL,
     payload TEXT NOT NULL
   );
   CREATE INDEX notification_failures_at ON notification_failures (at)`,
];

export class DeadLetterLog {
  constructor(
    private readonly db: StateDb,
    private readonly maxRows = 10_000,
  ) {
    migrate(db, 'notify', MIGRATIONS);
  }

  record(failure: NewFailure): number {
    const id = Number(
      this.db
        .prepare(
          `INSERT INTO notification_failures (at, kind, url, group_key, attempts, last_error, payload)
           VALUES (?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(
          failure.at,
          failure.kind,
          failure.url,
          failure.group_key,
          failure.attempts,
          failure.last_error,
          JSON.stringify(failure.payload),
        ).lastInsertRowid,
    );
    if (id % 100 === 0) this.prune();
    return id;
  }

  /** Newest first. */
  list(opts: { limit?: number; since?: number } = {}): NotificationFailure[] {
    const rows = this.db
      .prepare('SELECT * FROM notification_failures WHERE at >= ? ORDER BY id DESC LIMIT ?')
      .all(opts.since ?? 0, opts.limit ?? 100) as Row[];
    return rows.map((r) => ({ ...r, payload: JSON.parse(r.payload) as unknown }));
  }

  count(): number {
    return (this.db.prepare('SELECT COUNT(*) AS n FROM notification_failures').get() as { n: number }).n;
  }

  private prune(): void {
    this.db
      .prepare('DELETE FROM notification_failures WHERE id <= (SELECT MAX(id) FROM notification_failures) - ?')
      .run(this.maxRows);
  }
}
