/**
 * @module sqlite-state-store
 * The StateStore on SQLite (`<data_dir>/state.db` in WAL mode, synchronous FULL): the default engine of a single node.
 * Migrations are numbered per part (alerts, incidents, tasks, notify) in the `migrations` table; append new steps,
 * never edit an applied one. Calls run synchronously inside and resolve at once.
 */
import type { AlertStatus } from '../alerts/types.js';
import { HOST_COLUMNS, type HostRecord, type HostRow, hostFromRow, hostToRow } from '../fleet/host-store.js';
import type { Incident } from '../incidents/types.js';
import type { FailureKind } from '../notify/dead-letter.js';
import type { RateState } from '../tasks/eta.js';
import type { Task, TaskStatus } from '../tasks/task-store.js';
import { migrate, openStateDb, type StateDb } from './state-db.js';
import {
  type AlertQuery,
  type AlertWrite,
  DEFAULT_MAX_FAILURES,
  type IncidentRecord,
  type NewFailure,
  type NotificationFailure,
  type SilenceRow,
  type StateStore,
  type StoredAlert,
  type StoredRule,
  type TaskRecord,
  type Transition,
} from './state-store.js';

const ALERT_MIGRATIONS = [
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

const INCIDENT_MIGRATIONS = [
  `CREATE TABLE incidents (
     id TEXT PRIMARY KEY,
     status TEXT NOT NULL,
     group_key TEXT NOT NULL,
     created_at INTEGER NOT NULL,
     updated_at INTEGER NOT NULL,
     body TEXT NOT NULL
   );
   CREATE INDEX incidents_status_created ON incidents (status, created_at);
   CREATE INDEX incidents_created ON incidents (created_at);
   CREATE TABLE incident_alerts (
     alert_id TEXT PRIMARY KEY,
     incident_id TEXT NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
     status TEXT NOT NULL
   );
   CREATE INDEX incident_alerts_incident ON incident_alerts (incident_id)`,
];

const TASK_MIGRATIONS = [
  `CREATE TABLE tasks (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    status TEXT NOT NULL,
    progress REAL,
    processed INTEGER NOT NULL DEFAULT 0,
    total INTEGER,
    errors INTEGER NOT NULL DEFAULT 0,
    eta_s REAL,
    details TEXT NOT NULL DEFAULT '{}',
    started_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    ended_at INTEGER,
    stalled_since INTEGER,
    rate_at INTEGER,
    rate_pos REAL,
    rate REAL
  );
  CREATE INDEX tasks_started ON tasks (started_at DESC);
  CREATE INDEX tasks_status_updated ON tasks (status, updated_at);
  CREATE INDEX tasks_ended ON tasks (ended_at) WHERE ended_at IS NOT NULL;`,
];

const FLEET_MIGRATIONS = [
  `CREATE TABLE hosts (
     id TEXT PRIMARY KEY,
     source TEXT NOT NULL,
     status TEXT NOT NULL,
     labels TEXT NOT NULL,
     info TEXT,
     first_seen INTEGER NOT NULL,
     last_seen INTEGER NOT NULL,
     status_since INTEGER NOT NULL,
     node TEXT NOT NULL,
     summary TEXT,
     last_batch_ts INTEGER NOT NULL
   )`,
];

const NOTIFY_MIGRATIONS = [
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

/** An alert as a row (shared by the SQL engines). */
export interface AlertRow {
  id: string;
  fingerprint: string;
  rule: string;
  status: AlertStatus;
  severity: StoredAlert['severity'];
  value: number | null;
  threshold: number | null;
  labels: string;
  annotations: string;
  starts_at: number;
  ends_at: number | null;
  ack_by: string | null;
  ack_at: number | null;
  ack_comment: string | null;
  source: StoredAlert['source'];
  silenced: number | boolean;
  flapping: number | boolean;
  series_key: string | null;
  clear_since: number | null;
  updated_at: number;
}

export const ALERT_COLUMNS = [
  'id',
  'fingerprint',
  'rule',
  'status',
  'severity',
  'value',
  'threshold',
  'labels',
  'annotations',
  'starts_at',
  'ends_at',
  'ack_by',
  'ack_at',
  'ack_comment',
  'source',
  'silenced',
  'flapping',
  'series_key',
  'clear_since',
  'updated_at',
] as const;

/** Columns an alert upsert changes (the rest are fixed at creation). */
export const ALERT_UPDATED = [
  'status',
  'severity',
  'value',
  'threshold',
  'labels',
  'annotations',
  'ends_at',
  'ack_by',
  'ack_at',
  'ack_comment',
  'silenced',
  'flapping',
  'clear_since',
  'updated_at',
] as const;

export function alertFromRow(r: AlertRow): StoredAlert {
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
    silenced: r.silenced === 1 || r.silenced === true,
    updated_at: r.updated_at,
    series_key: r.series_key,
    clear_since: r.clear_since,
    flapping: r.flapping === 1 || r.flapping === true,
  };
  if (r.ends_at !== null) a.ends_at = r.ends_at;
  if (r.ack_by !== null) a.acknowledged_by = r.ack_by;
  if (r.ack_at !== null) a.acknowledged_at = r.ack_at;
  if (r.ack_comment !== null) a.ack_comment = r.ack_comment;
  return a;
}

/** The row of an alert; booleans as 0/1 unless `nativeBooleans`. */
export function alertToRow(a: StoredAlert, nativeBooleans = false): AlertRow {
  return {
    id: a.id,
    fingerprint: a.fingerprint,
    rule: a.rule,
    status: a.status,
    severity: a.severity,
    value: a.value,
    threshold: a.threshold,
    labels: JSON.stringify(a.labels),
    annotations: JSON.stringify(a.annotations),
    starts_at: a.starts_at,
    ends_at: a.ends_at ?? null,
    ack_by: a.acknowledged_by ?? null,
    ack_at: a.acknowledged_at ?? null,
    ack_comment: a.ack_comment ?? null,
    source: a.source,
    silenced: nativeBooleans ? a.silenced : a.silenced ? 1 : 0,
    flapping: nativeBooleans ? a.flapping : a.flapping ? 1 : 0,
    series_key: a.series_key,
    clear_since: a.clear_since,
    updated_at: a.updated_at,
  };
}

/** A task as a row (shared by the SQL engines). */
export interface TaskRow {
  id: string;
  name: string;
  status: TaskStatus;
  progress: number | null;
  processed: number;
  total: number | null;
  errors: number;
  eta_s: number | null;
  details: string;
  started_at: number;
  updated_at: number;
  ended_at: number | null;
  stalled_since: number | null;
  rate_at: number | null;
  rate_pos: number | null;
  rate: number | null;
}

export const TASK_COLUMNS = [
  'id',
  'name',
  'status',
  'progress',
  'processed',
  'total',
  'errors',
  'eta_s',
  'details',
  'started_at',
  'updated_at',
  'ended_at',
  'stalled_since',
  'rate_at',
  'rate_pos',
  'rate',
] as const;

export function taskFromRow(r: TaskRow): TaskRecord {
  const task: Task = {
    id: r.id,
    name: r.name,
    status: r.status,
    progress: r.progress,
    processed: r.processed,
    total: r.total,
    errors: r.errors,
    eta_s: r.eta_s,
    details: JSON.parse(r.details) as Record<string, unknown>,
    started_at: r.started_at,
    updated_at: r.updated_at,
  };
  if (r.ended_at !== null) task.ended_at = r.ended_at;
  if (r.stalled_since !== null) task.stalled_since = r.stalled_since;
  const rate: RateState | null =
    r.rate_at === null || r.rate_pos === null ? null : { at: r.rate_at, pos: r.rate_pos, rate: r.rate };
  return { task, rate };
}

export function taskToRow({ task, rate }: TaskRecord): TaskRow {
  return {
    id: task.id,
    name: task.name,
    status: task.status,
    progress: task.progress,
    processed: task.processed,
    total: task.total,
    errors: task.errors,
    eta_s: task.eta_s,
    details: JSON.stringify(task.details),
    started_at: task.started_at,
    updated_at: task.updated_at,
    ended_at: task.ended_at ?? null,
    stalled_since: task.stalled_since ?? null,
    rate_at: rate?.at ?? null,
    rate_pos: rate?.pos ?? null,
    rate: rate?.rate ?? null,
  };
}

export interface FailureRow {
  id: number;
  at: number;
  kind: FailureKind;
  url: string;
  group_key: string;
  attempts: number;
  last_error: string;
  payload: string;
}

export function failureFromRow(r: FailureRow): NotificationFailure {
  return { ...r, payload: JSON.parse(r.payload) as unknown };
}

export interface SqliteStateStoreOptions {
  /** The database file (`<data_dir>/state.db`). */
  path: string;
  /** Rows kept in the dead-letter log (default 10,000). */
  maxFailures?: number;
}

export class SqliteStateStore implements StateStore {
  readonly engine = 'sqlite';
  private db: StateDb | undefined;
  private readonly maxFailures: number;

  constructor(private readonly opts: SqliteStateStoreOptions) {
    this.maxFailures = opts.maxFailures ?? DEFAULT_MAX_FAILURES;
  }

  private get d(): StateDb {
    if (!this.db) throw new Error('state store is not open');
    return this.db;
  }

  async open(): Promise<void> {
    this.openSync();
  }

  /** Opens the file and migrates at once (SQLite needs no wait). */
  openSync(): this {
    if (this.db) return this;
    const db = openStateDb(this.opts.path);
    migrate(db, 'alerts', ALERT_MIGRATIONS);
    migrate(db, 'incidents', INCIDENT_MIGRATIONS);
    migrate(db, 'tasks', TASK_MIGRATIONS);
    migrate(db, 'notify', NOTIFY_MIGRATIONS);
    migrate(db, 'fleet', FLEET_MIGRATIONS);
    // The migrations sit in the WAL until 1,000 pages pile up: move them into the file and empty the WAL.
    db.pragma('wal_checkpoint(TRUNCATE)');
    this.db = db;
    return this;
  }

  async close(): Promise<void> {
    this.db?.close();
    this.db = undefined;
  }

  // ---- rules, alerts, silences ----

  async rules(): Promise<StoredRule[]> {
    return this.d.prepare('SELECT name, spec FROM rules ORDER BY name').all() as StoredRule[];
  }

  async saveRule(name: string, spec: unknown, now: number): Promise<void> {
    this.d
      .prepare(
        `INSERT INTO rules (name, spec, created_at, updated_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (name) DO UPDATE SET spec = excluded.spec, updated_at = excluded.updated_at`,
      )
      .run(name, JSON.stringify(spec), now, now);
  }

  async deleteRule(name: string): Promise<void> {
    this.d.prepare('DELETE FROM rules WHERE name = ?').run(name);
  }

  async saveAlerts(writes: readonly AlertWrite[]): Promise<void> {
    if (writes.length === 0) return;
    const db = this.d;
    const upsert = db.prepare(
      `INSERT INTO alerts (${ALERT_COLUMNS.join(', ')}) VALUES (${ALERT_COLUMNS.map((c) => `@${c}`).join(', ')})
       ON CONFLICT (id) DO UPDATE SET ${ALERT_UPDATED.map((c) => `${c} = excluded.${c}`).join(', ')}`,
    );
    const insertTransition = db.prepare(
      'INSERT INTO alert_transitions (alert_id, at, status, severity, value, note) VALUES (?, ?, ?, ?, ?, ?)',
    );
    db.transaction(() => {
      for (const { alert, transition } of writes) {
        upsert.run(alertToRow(alert));
        if (transition) {
          insertTransition.run(
            alert.id,
            transition.at,
            transition.status,
            transition.severity,
            transition.value,
            transition.note,
          );
        }
      }
    })();
  }

  async activeAlerts(): Promise<StoredAlert[]> {
    return (this.d.prepare("SELECT * FROM alerts WHERE status != 'resolved'").all() as AlertRow[]).map(alertFromRow);
  }

  async getAlert(id: string): Promise<StoredAlert | undefined> {
    const row = this.d.prepare('SELECT * FROM alerts WHERE id = ?').get(id) as AlertRow | undefined;
    return row && alertFromRow(row);
  }

  async queryAlerts(q: AlertQuery): Promise<StoredAlert[]> {
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
    const sql = `SELECT * FROM alerts ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY updated_at DESC, rowid DESC LIMIT ?`;
    return (this.d.prepare(sql).all(...args, q.limit) as AlertRow[]).map(alertFromRow);
  }

  async transitions(id: string): Promise<Transition[]> {
    return this.d
      .prepare('SELECT at, status, severity, value, note FROM alert_transitions WHERE alert_id = ? ORDER BY at, rowid')
      .all(id) as Transition[];
  }

  async silences(): Promise<SilenceRow[]> {
    return this.d.prepare('SELECT * FROM silences ORDER BY created_at DESC, rowid DESC').all() as SilenceRow[];
  }

  async saveSilence(s: SilenceRow): Promise<void> {
    this.d
      .prepare(
        `INSERT INTO silences (id, matchers, starts_at, ends_at, created_by, comment, created_at)
         VALUES (@id, @matchers, @starts_at, @ends_at, @created_by, @comment, @created_at)
         ON CONFLICT (id) DO UPDATE SET ends_at = excluded.ends_at`,
      )
      .run(s);
  }

  // ---- incidents ----

  async saveIncident(record: IncidentRecord, changed: readonly string[]): Promise<void> {
    const { incident } = record;
    const db = this.d;
    db.transaction(() => {
      db.prepare(
        `INSERT INTO incidents (id, status, group_key, created_at, updated_at, body) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET status = excluded.status, updated_at = excluded.updated_at,
           body = excluded.body`,
      ).run(
        incident.id,
        incident.status,
        incident.group_key,
        incident.created_at,
        incident.updated_at,
        JSON.stringify(incident),
      );
      const upsert = db.prepare(
        `INSERT INTO incident_alerts (alert_id, incident_id, status) VALUES (?, ?, ?)
         ON CONFLICT (alert_id) DO UPDATE SET status = excluded.status`,
      );
      for (const alertId of changed) {
        const status = record.members.get(alertId);
        if (status) upsert.run(alertId, incident.id, status);
      }
    })();
  }

  async getIncident(id: string): Promise<IncidentRecord | undefined> {
    const row = this.d.prepare('SELECT body FROM incidents WHERE id = ?').get(id) as { body: string } | undefined;
    return row && this.withMembers(JSON.parse(row.body) as Incident);
  }

  async incidentOfAlert(alertId: string): Promise<string | undefined> {
    const row = this.d.prepare('SELECT incident_id FROM incident_alerts WHERE alert_id = ?').get(alertId) as
      | { incident_id: string }
      | undefined;
    return row?.incident_id;
  }

  async listIncidents(opts: { status?: Incident['status'] | undefined; limit: number }): Promise<Incident[]> {
    const rows = (
      opts.status
        ? this.d
            .prepare('SELECT body FROM incidents WHERE status = ? ORDER BY created_at DESC, rowid DESC LIMIT ?')
            .all(opts.status, opts.limit)
        : this.d.prepare('SELECT body FROM incidents ORDER BY created_at DESC, rowid DESC LIMIT ?').all(opts.limit)
    ) as { body: string }[];
    return rows.map((r) => JSON.parse(r.body) as Incident);
  }

  async activeIncidents(): Promise<IncidentRecord[]> {
    const rows = this.d
      .prepare("SELECT body FROM incidents WHERE status != 'resolved' ORDER BY created_at, rowid")
      .all() as { body: string }[];
    return rows.map((r) => this.withMembers(JSON.parse(r.body) as Incident));
  }

  private withMembers(incident: Incident): IncidentRecord {
    const rows = this.d
      .prepare('SELECT alert_id, status FROM incident_alerts WHERE incident_id = ?')
      .all(incident.id) as { alert_id: string; status: 'firing' | 'resolved' }[];
    return { incident, members: new Map(rows.map((r) => [r.alert_id, r.status])) };
  }

  // ---- tasks ----

  async insertTask(record: TaskRecord): Promise<void> {
    this.d
      .prepare(`INSERT INTO tasks (${TASK_COLUMNS.join(', ')}) VALUES (${TASK_COLUMNS.map((c) => `@${c}`).join(', ')})`)
      .run(taskToRow(record));
  }

  async updateTask(record: TaskRecord): Promise<void> {
    this.d
      .prepare(
        `UPDATE tasks SET ${TASK_COLUMNS.filter((c) => c !== 'id')
          .map((c) => `${c} = @${c}`)
          .join(', ')} WHERE id = @id`,
      )
      .run(taskToRow(record));
  }

  async getTask(id: string): Promise<TaskRecord | undefined> {
    const row = this.d.prepare(`SELECT ${TASK_COLUMNS.join(', ')} FROM tasks WHERE id = ?`).get(id) as
      | TaskRow
      | undefined;
    return row ? taskFromRow(row) : undefined;
  }

  async listTasks(opts: { status?: TaskStatus | undefined; limit: number }): Promise<Task[]> {
    const cols = TASK_COLUMNS.join(', ');
    const rows = (
      opts.status === undefined
        ? this.d.prepare(`SELECT ${cols} FROM tasks ORDER BY started_at DESC, rowid DESC LIMIT ?`).all(opts.limit)
        : this.d
            .prepare(`SELECT ${cols} FROM tasks WHERE status = ? ORDER BY started_at DESC, rowid DESC LIMIT ?`)
            .all(opts.status, opts.limit)
    ) as TaskRow[];
    return rows.map((r) => taskFromRow(r).task);
  }

  async staleRunningTasks(before: number): Promise<TaskRecord[]> {
    const rows = this.d
      .prepare(
        `SELECT ${TASK_COLUMNS.join(', ')} FROM tasks WHERE status = 'running' AND updated_at <= ? ORDER BY updated_at, rowid`,
      )
      .all(before) as TaskRow[];
    return rows.map(taskFromRow);
  }

  async purgeFinishedTasks(before: number): Promise<number> {
    return this.d.prepare('DELETE FROM tasks WHERE ended_at IS NOT NULL AND ended_at <= ?').run(before).changes;
  }

  // ---- fleet ----

  async hosts(): Promise<HostRecord[]> {
    return (this.d.prepare('SELECT * FROM hosts ORDER BY id').all() as HostRow[]).map(hostFromRow);
  }

  async saveHost(record: HostRecord): Promise<void> {
    this.d
      .prepare(
        `INSERT INTO hosts (${HOST_COLUMNS.join(', ')}) VALUES (${HOST_COLUMNS.map((c) => `@${c}`).join(', ')})
         ON CONFLICT (id) DO UPDATE SET ${HOST_COLUMNS.filter((c) => c !== 'id')
           .map((c) => `${c} = excluded.${c}`)
           .join(', ')}`,
      )
      .run(hostToRow(record));
  }

  async deleteHost(id: string): Promise<void> {
    this.d.prepare('DELETE FROM hosts WHERE id = ?').run(id);
  }

  // ---- dead-letter log ----

  async recordFailure(failure: NewFailure): Promise<number> {
    const id = Number(
      this.d
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
    this.d.prepare('DELETE FROM notification_failures WHERE id <= ?').run(id - this.maxFailures);
    return id;
  }

  async listFailures(opts: { limit?: number | undefined; since?: number | undefined }): Promise<NotificationFailure[]> {
    const rows = this.d
      .prepare('SELECT * FROM notification_failures WHERE at >= ? ORDER BY id DESC LIMIT ?')
      .all(opts.since ?? 0, opts.limit ?? 100) as FailureRow[];
    return rows.map(failureFromRow);
  }

  async countFailures(): Promise<number> {
    return (this.d.prepare('SELECT COUNT(*) AS n FROM notification_failures').get() as { n: number }).n;
  }
}
