/**
 * @module alert-store
 * Persistence of the alerts part in the state database: API-created rules, every alert (one row per alert, updated
 * at each transition), the transitions themselves, and silences. Writes are queued and committed in one
 * transaction per event-loop turn, after the events have been published.
 */
import type { AlertTransition } from '@vigil/protocol';
import type { Statement } from 'better-sqlite3';
import { migrate, type StateDb } from '../storage/state-db.js';
import type { Alert, AlertStatus } from './types.js';

const MIGRATIONS = [
  `CREATE TABLE rules (name TEXT PRIMARY KEY, spec TEXT NOT NULL, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);
   CREATE TABLE alerts (
     id TEXT PRIMARY KEY, fingerprint TEXT NOT NULL, rule TEXT NOT NULL, status TEXT NOT NULL, severity TEXT NOT NULL,
     value REAL, threshold REAL, labels TEXT NOT NULL, annotations TEXT NOT NULL, starts_at INTEGER NOT NULL,
     ends_at INTEGER, ack_by TEXT, ack_at INTEGER, ack_comment TEXT, source TEXT NOT NULL, silenced INTEGER NOT NULL,
     flapping INTEGER NOT NULL DEFAULT 0, series_key TEXT, clear_since INTEGER, updated_at INTEGER NOT NULL);
   CREATE INDEX alerts_status ON alerts (status);
   CREATE INDEX alerts_rule ON alerts (rule, updated_at);
   CREATE INDEX alerts_updated ON alerts (updated_at);
   CREATE TABLE alert_transitions (alert_id TEXT NOT NULL, at INTEGER NOT NULL, status TEXT NOT NULL,
     severity TEXT NOT NULL, value REAL, note TEXT);
   CREATE INDEX alert_transitions_alert ON alert_transitions (alert_id, at);
   CREATE TABLE silences (id TEXT PRIMARY KEY, matchers TEXT NOT NULL, starts_at INTEGER NOT NULL,
     ends_at INTEGER NOT NULL, created_by TEXT NOT NULL, comment TEXT NOT NULL, created_at INTEGER NOT NULL);`,
];

export interface StoredAlert extends Alert {
  series_key: string | null;
  clear_since: number | null;
  flapping: boolean;
}

export type Transition = AlertTransition;

export interface SilenceRow {
  id: string;
  matchers: string;
  starts_at: number;
  ends_at: number;
  created_by: string;
  comment: string;
  created_at: number;
}

interface AlertRow {
  id: string;
  fingerprint: string;
  rule: string;
  status: AlertStatus;
  severity: Alert['severity'];
  value: number | null;
  threshold: number | null;
  labels: string;
  annotations: string;
  starts_at: number;
  ends_at: number | null;
  ack_by: string | null;
  ack_at: number | null;
  ack_comment: string | null;
  source: Alert['source'];
  silenced: number;
  flapping: number;
  series_key: string | null;
  clear_since: number | null;
  updated_at: number;
}

function fromRow(r: AlertRow): StoredAlert {
  const a: StoredAlert = {
    id: r.id,
    rule: r.rule,
    status: r.status,
    severity: r.severity,
    value: r.value,
    threshold: r.threshold,
    labels: JSON.parse(r.labels) as Record<string, string>,
    annotations: JSON.parse(r.annotations) as Record<string, string>,
    starts_at: r.starts_at,
    source: r.source,
    fingerprint: r.fingerprint,
    silenced: r.silenced === 1,
    updated_at: r.updated_at,
    series_key: r.series_key,
    clear_since: r.clear_since,
    flapping: r.flapping === 1,
  };
  if (r.ends_at !== null) a.ends_at = r.ends_at;
  if (r.ack_by !== null) a.acknowledged_by = r.ack_by;
  if (r.ack_at !== null) a.acknowledged_at = r.ack_at;
  if (r.ack_comment !== null) a.ack_comment = r.ack_comment;
  return a;
}

export interface AlertQuery {
  state?: AlertStatus;
  rule?: string;
  since?: number;
  limit: number;
}

export class AlertStore {
  private queue: (() => void)[] = [];
  private scheduled = false;

  private readonly upsertAlert: Statement;
  private readonly insertTransition: Statement;

  constructor(private readonly db: StateDb) {
    migrate(db, 'alerts', MIGRATIONS);
    this.upsertAlert = db.prepare(
      `INSERT INTO alerts (id, fingerprint, rule, status, severity, value, threshold, labels, annotations, starts_at,
         ends_at, ack_by, ack_at, ack_comment, source, silenced, flapping, series_key, clear_since, updated_at)
       VALUES (@id, @fingerprint, @rule, @status, @severity, @value, @threshold, @labels, @annotations, @starts_at,
         @ends_at, @ack_by, @ack_at, @ack_comment, @source, @silenced, @flapping, @series_key, @clear_since, @updated_at)
       ON CONFLICT (id) DO UPDATE SET status = excluded.status, severity = excluded.severity, value = excluded.value,
         threshold = excluded.threshold, labels = excluded.labels, annotations = excluded.annotations,
         ends_at = excluded.ends_at, ack_by = excluded.ack_by, ack_at = excluded.ack_at,
         ack_comment = excluded.ack_comment, silenced = excluded.silenced, flapping = excluded.flapping,
         clear_since = excluded.clear_since, updated_at = excluded.updated_at`,
    );
    this.insertTransition = db.prepare(
      'INSERT INTO alert_transitions (alert_id, at, status, severity, value, note) VALUES (?, ?, ?, ?, ?, ?)',
    );
  }

  /** Queues a write; all queued writes commit together after the current turn. */
  private later(write: () => void): void {
    this.queue.push(write);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.commit());
    }
  }

  /** Commits queued writes now (also called at stop). */
  commit(): void {
    this.scheduled = false;
    const writes = this.queue;
    if (writes.length === 0) return;
    this.queue = [];
    this.db.transaction(() => {
      for (const w of writes) w();
    })();
  }

  saveAlert(a: StoredAlert, transition?: Transition): void {
    const row = {
      ...a,
      labels: JSON.stringify(a.labels),
      annotations: JSON.stringify(a.annotations),
      ends_at: a.ends_at ?? null,
      ack_by: a.acknowledged_by ?? null,
      ack_at: a.acknowledged_at ?? null,
      ack_comment: a.ack_comment ?? null,
      silenced: a.silenced ? 1 : 0,
      flapping: a.flapping ? 1 : 0,
    };
    this.later(() => {
      this.upsertAlert.run(row);
      if (transition) {
        this.insertTransition.run(
          a.id,
          transition.at,
          transition.status,
          transition.severity,
          transition.value,
          transition.note,
        );
      }
    });
  }

  activeAlerts(): StoredAlert[] {
    return (this.db.prepare("SELECT * FROM alerts WHERE status != 'resolved'").all() as AlertRow[]).map(fromRow);
  }

  getAlert(id: string): StoredAlert | undefined {
    const row = this.db.prepare('SELECT * FROM alerts WHERE id = ?').get(id) as AlertRow | undefined;
    return row && fromRow(row);
  }

  query(q: AlertQuery): StoredAlert[] {
    const where: string[] = [];
    const args: (string | number)[] = [];
    if (q.state) {
      where.push('status = ?');
      args.push(q.state);
    }
    if (q.rule) {
      where.push('rule = ?');
      args.push(q.rule);
    }
    if (q.since !== undefined) {
      where.push('updated_at >= ?');
      args.push(q.since);
    }
    const sql = `SELECT * FROM alerts ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY updated_at DESC LIMIT ?`;
    return (this.db.prepare(sql).all(...args, q.limit) as AlertRow[]).map(fromRow);
  }

  transitions(id: string): Transition[] {
    return this.db
      .prepare('SELECT at, status, severity, value, note FROM alert_transitions WHERE alert_id = ? ORDER BY at, rowid')
      .all(id) as Transition[];
  }

  rules(): { name: string; spec: string }[] {
    return this.db.prepare('SELECT name, spec FROM rules ORDER BY name').all() as { name: string; spec: string }[];
  }

  saveRule(name: string, spec: unknown, now: number): void {
    this.db
      .prepare(
        `INSERT INTO rules (name, spec, created_at, updated_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (name) DO UPDATE SET spec = excluded.spec, updated_at = excluded.updated_at`,
      )
      .run(name, JSON.stringify(spec), now, now);
  }

  deleteRule(name: string): void {
    this.db.prepare('DELETE FROM rules WHERE name = ?').run(name);
  }

  silences(): SilenceRow[] {
    return this.db.prepare('SELECT * FROM silences ORDER BY created_at DESC').all() as SilenceRow[];
  }

  saveSilence(s: SilenceRow): void {
    this.db
      .prepare(
        `INSERT INTO silences (id, matchers, starts_at, ends_at, created_by, comment, created_at)
         VALUES (@id, @matchers, @starts_at, @ends_at, @created_by, @comment, @created_at)
         ON CONFLICT (id) DO UPDATE SET ends_at = excluded.ends_at`,
      )
      .run(s);
  }
}
