/**
 * @module postgres-state-store
 * The StateStore on PostgreSQL (`store.engine: postgres`): the nodes of a cluster share one schema, so an alert,
 * incident or task written through any node is read by every node. Tables live in `store.schema` (created when
 * missing). Migrations are numbered in `vigil_migrations`; `open()` applies the missing ones in one transaction under
 * an advisory lock, so nodes starting together migrate once. Append new steps; never edit an applied one.
 */
import pg from 'pg';
import { HOST_COLUMNS, type HostRecord, type HostRow, hostFromRow, hostToRow } from '../fleet/host-store.js';
import type { Incident } from '../incidents/types.js';
import type { Task, TaskStatus } from '../tasks/task-store.js';
import {
  ALERT_COLUMNS,
  ALERT_UPDATED,
  type AlertRow,
  alertFromRow,
  alertToRow,
  type FailureRow,
  failureFromRow,
  TASK_COLUMNS,
  type TaskRow,
  taskFromRow,
  taskToRow,
} from './sqlite-state-store.js';
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

/** The schema's history: step N is version N. */
export const POSTGRES_STATE_MIGRATIONS: readonly string[] = [
  `CREATE TABLE rules (name TEXT PRIMARY KEY, spec TEXT NOT NULL, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL);
   CREATE TABLE alerts (
     seq BIGSERIAL NOT NULL, id TEXT PRIMARY KEY, fingerprint TEXT NOT NULL, rule TEXT NOT NULL, status TEXT NOT NULL,
     severity TEXT NOT NULL, value DOUBLE PRECISION, threshold DOUBLE PRECISION, labels TEXT NOT NULL,
     annotations TEXT NOT NULL, starts_at BIGINT NOT NULL, ends_at BIGINT, ack_by TEXT, ack_at BIGINT,
     ack_comment TEXT, source TEXT NOT NULL, silenced BOOLEAN NOT NULL, flapping BOOLEAN NOT NULL DEFAULT FALSE,
     series_key TEXT, clear_since BIGINT, updated_at BIGINT NOT NULL);
   CREATE INDEX alerts_status ON alerts (status);
   CREATE INDEX alerts_rule ON alerts (rule, updated_at);
   CREATE INDEX alerts_updated ON alerts (updated_at);
   CREATE TABLE alert_transitions (seq BIGSERIAL PRIMARY KEY, alert_id TEXT NOT NULL, at BIGINT NOT NULL,
     status TEXT NOT NULL, severity TEXT NOT NULL, value DOUBLE PRECISION, note TEXT);
   CREATE INDEX alert_transitions_alert ON alert_transitions (alert_id, at);
   CREATE TABLE silences (seq BIGSERIAL NOT NULL, id TEXT PRIMARY KEY, matchers TEXT NOT NULL,
     starts_at BIGINT NOT NULL, ends_at BIGINT NOT NULL, created_by TEXT NOT NULL, comment TEXT NOT NULL,
     created_at BIGINT NOT NULL);
   CREATE TABLE incidents (seq BIGSERIAL NOT NULL, id TEXT PRIMARY KEY, status TEXT NOT NULL,
     group_key TEXT NOT NULL, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL, body TEXT NOT NULL);
   CREATE INDEX incidents_status_created ON incidents (status, created_at);
   CREATE INDEX incidents_created ON incidents (created_at);
   CREATE TABLE incident_alerts (alert_id TEXT PRIMARY KEY,
     incident_id TEXT NOT NULL REFERENCES incidents (id) ON DELETE CASCADE, status TEXT NOT NULL);
   CREATE INDEX incident_alerts_incident ON incident_alerts (incident_id);
   CREATE TABLE tasks (seq BIGSERIAL NOT NULL, id TEXT PRIMARY KEY, name TEXT NOT NULL, status TEXT NOT NULL,
     progress DOUBLE PRECISION, processed BIGINT NOT NULL DEFAULT 0, total BIGINT, errors BIGINT NOT NULL DEFAULT 0,
     eta_s DOUBLE PRECISION, details TEXT NOT NULL DEFAULT '{}', started_at BIGINT NOT NULL,
     updated_at BIGINT NOT NULL, ended_at BIGINT, stalled_since BIGINT, rate_at BIGINT, rate_pos DOUBLE PRECISION,
     rate DOUBLE PRECISION);
   CREATE INDEX tasks_started ON tasks (started_at DESC);
   CREATE INDEX tasks_status_updated ON tasks (status, updated_at);
   CREATE INDEX tasks_ended ON tasks (ended_at) WHERE ended_at IS NOT NULL;
   CREATE TABLE notification_failures (id BIGSERIAL PRIMARY KEY, at BIGINT NOT NULL, kind TEXT NOT NULL,
     url TEXT NOT NULL, group_key TEXT NOT NULL, attempts INTEGER NOT NULL, last_error TEXT NOT NULL,
     payload TEXT NOT NULL);
   CREATE INDEX notification_failures_at ON notification_failures (at);`,
  `CREATE TABLE hosts (id TEXT PRIMARY KEY, source TEXT NOT NULL, status TEXT NOT NULL, labels TEXT NOT NULL,
     info TEXT, first_seen BIGINT NOT NULL, last_seen BIGINT NOT NULL, status_since BIGINT NOT NULL,
     node TEXT NOT NULL, summary TEXT, last_batch_ts BIGINT NOT NULL);`,
];

/** BIGINT (20) and NUMERIC counts come back as JS numbers: every value stored is below 2^53. */
const TYPES = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === 20) return (v: string) => Number(v);
    return pg.types.getTypeParser(oid, format);
  },
} as pg.CustomTypesConfig;

export interface PostgresStateStoreOptions {
  /** `postgres://user@host:port/database`. */
  url: string;
  /** Schema of the tables (default `public`); created when missing. */
  schema?: string;
  /** Most connections held (default 10). */
  poolSize?: number;
  /** Rows kept in the dead-letter log (default 10,000). */
  maxFailures?: number;
}

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/** Positional parameters `$from..$from+n-1`. */
function params(n: number, from = 1): string {
  return Array.from({ length: n }, (_, i) => `$${from + i}`).join(', ');
}

export class PostgresStateStore implements StateStore {
  readonly engine = 'postgres';
  private pool: pg.Pool | undefined;
  readonly schema: string;
  private readonly maxFailures: number;

  constructor(private readonly opts: PostgresStateStoreOptions) {
    this.schema = opts.schema ?? 'public';
    if (!SCHEMA_NAME.test(this.schema)) throw new Error(`invalid PostgreSQL schema name '${this.schema}'`);
    this.maxFailures = opts.maxFailures ?? DEFAULT_MAX_FAILURES;
  }

  private get db(): pg.Pool {
    if (!this.pool) throw new Error('state store is not open');
    return this.pool;
  }

  async open(): Promise<void> {
    if (this.pool) return;
    const pool = new pg.Pool({
      connectionString: this.opts.url,
      max: this.opts.poolSize ?? 10,
      types: TYPES,
      options: `-c search_path=${this.schema}`,
      connectionTimeoutMillis: 10_000,
    });
    // A connection lost while idle is replaced on the next query; the pool must not throw it at the process.
    pool.on('error', () => {});
    try {
      await this.migrate(pool);
    } catch (err) {
      await pool.end();
      throw err;
    }
    this.pool = pool;
  }

  private async migrate(pool: pg.Pool): Promise<void> {
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`vigil_migrations:${this.schema}`]);
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${this.schema}`);
      await client.query(
        'CREATE TABLE IF NOT EXISTS vigil_migrations (part TEXT NOT NULL, version INTEGER NOT NULL, ' +
          'applied_at TIMESTAMPTZ NOT NULL DEFAULT now(), PRIMARY KEY (part, version))',
      );
      const done = new Set(
        (await client.query<{ version: number }>("SELECT version FROM vigil_migrations WHERE part = 'state'")).rows.map(
          (r) => r.version,
        ),
      );
      for (const [i, sql] of POSTGRES_STATE_MIGRATIONS.entries()) {
        if (done.has(i + 1)) continue;
        await client.query(sql);
        await client.query("INSERT INTO vigil_migrations (part, version) VALUES ('state', $1)", [i + 1]);
      }
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      throw err;
    } finally {
      client.release();
    }
  }

  async close(): Promise<void> {
    const pool = this.pool;
    this.pool = undefined;
    await pool?.end();
  }

  private async transaction(fn: (client: pg.PoolClient) => Promise<void>): Promise<void> {
    const client = await this.db.connect();
    try {
      await client.query('BEGIN');
      await fn(client);
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      throw err;
    } finally {
      client.release();
    }
  }

  // ---- rules, alerts, silences ----

  async rules(): Promise<StoredRule[]> {
    return (await this.db.query<StoredRule>('SELECT name, spec FROM rules ORDER BY name')).rows;
  }

  async saveRule(name: string, spec: unknown, now: number): Promise<void> {
    await this.db.query(
      `INSERT INTO rules (name, spec, created_at, updated_at) VALUES ($1, $2, $3, $3)
       ON CONFLICT (name) DO UPDATE SET spec = excluded.spec, updated_at = excluded.updated_at`,
      [name, JSON.stringify(spec), now],
    );
  }

  async deleteRule(name: string): Promise<void> {
    await this.db.query('DELETE FROM rules WHERE name = $1', [name]);
  }

  async saveAlerts(writes: readonly AlertWrite[]): Promise<void> {
    if (writes.length === 0) return;
    const upsert = `INSERT INTO alerts (${ALERT_COLUMNS.join(', ')}) VALUES (${params(ALERT_COLUMNS.length)})
      ON CONFLICT (id) DO UPDATE SET ${ALERT_UPDATED.map((c) => `${c} = excluded.${c}`).join(', ')}`;
    await this.transaction(async (client) => {
      for (const { alert, transition } of writes) {
        const row = alertToRow(alert, true);
        await client.query(
          upsert,
          ALERT_COLUMNS.map((c) => row[c]),
        );
        if (transition) {
          await client.query(
            'INSERT INTO alert_transitions (alert_id, at, status, severity, value, note) VALUES ($1, $2, $3, $4, $5, $6)',
            [alert.id, transition.at, transition.status, transition.severity, transition.value, transition.note],
          );
        }
      }
    });
  }

  async activeAlerts(): Promise<StoredAlert[]> {
    const { rows } = await this.db.query<AlertRow>("SELECT * FROM alerts WHERE status != 'resolved' ORDER BY seq");
    return rows.map(alertFromRow);
  }

  async getAlert(id: string): Promise<StoredAlert | undefined> {
    const { rows } = await this.db.query<AlertRow>('SELECT * FROM alerts WHERE id = $1', [id]);
    return rows[0] && alertFromRow(rows[0]);
  }

  async queryAlerts(q: AlertQuery): Promise<StoredAlert[]> {
    const where: string[] = [];
    const args: (string | number)[] = [];
    if (q.state) {
      args.push(q.state);
      where.push(`status = $${args.length}`);
    }
    if (q.rule) {
      args.push(q.rule);
      where.push(`rule = $${args.length}`);
    }
    if (q.since !== undefined) {
      args.push(q.since);
      where.push(`updated_at >= $${args.length}`);
    }
    args.push(q.limit);
    const sql = `SELECT * FROM alerts ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
      ORDER BY updated_at DESC, seq DESC LIMIT $${args.length}`;
    return (await this.db.query<AlertRow>(sql, args)).rows.map(alertFromRow);
  }

  async transitions(id: string): Promise<Transition[]> {
    const { rows } = await this.db.query<Transition>(
      'SELECT at, status, severity, value, note FROM alert_transitions WHERE alert_id = $1 ORDER BY at, seq',
      [id],
    );
    return rows;
  }

  async silences(): Promise<SilenceRow[]> {
    const { rows } = await this.db.query<SilenceRow>(
      'SELECT id, matchers, starts_at, ends_at, created_by, comment, created_at FROM silences ORDER BY created_at DESC, seq DESC',
    );
    return rows;
  }

  async saveSilence(s: SilenceRow): Promise<void> {
    await this.db.query(
      `INSERT INTO silences (id, matchers, starts_at, ends_at, created_by, comment, created_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO UPDATE SET ends_at = excluded.ends_at`,
      [s.id, s.matchers, s.starts_at, s.ends_at, s.created_by, s.comment, s.created_at],
    );
  }

  // ---- incidents ----

  async saveIncident(record: IncidentRecord, changed: readonly string[]): Promise<void> {
    const { incident } = record;
    await this.transaction(async (client) => {
      await client.query(
        `INSERT INTO incidents (id, status, group_key, created_at, updated_at, body) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (id) DO UPDATE SET status = excluded.status, updated_at = excluded.updated_at,
           body = excluded.body`,
        [
          incident.id,
          incident.status,
          incident.group_key,
          incident.created_at,
          incident.updated_at,
          JSON.stringify(incident),
        ],
      );
      for (const alertId of changed) {
        const status = record.members.get(alertId);
        if (!status) continue;
        await client.query(
          `INSERT INTO incident_alerts (alert_id, incident_id, status) VALUES ($1, $2, $3)
           ON CONFLICT (alert_id) DO UPDATE SET status = excluded.status`,
          [alertId, incident.id, status],
        );
      }
    });
  }

  async getIncident(id: string): Promise<IncidentRecord | undefined> {
    const { rows } = await this.db.query<{ body: string }>('SELECT body FROM incidents WHERE id = $1', [id]);
    return rows[0] && this.withMembers(JSON.parse(rows[0].body) as Incident);
  }

  async incidentOfAlert(alertId: string): Promise<string | undefined> {
    const { rows } = await this.db.query<{ incident_id: string }>(
      'SELECT incident_id FROM incident_alerts WHERE alert_id = $1',
      [alertId],
    );
    return rows[0]?.incident_id;
  }

  async listIncidents(opts: { status?: Incident['status'] | undefined; limit: number }): Promise<Incident[]> {
    const { rows } = opts.status
      ? await this.db.query<{ body: string }>(
          'SELECT body FROM incidents WHERE status = $1 ORDER BY created_at DESC, seq DESC LIMIT $2',
          [opts.status, opts.limit],
        )
      : await this.db.query<{ body: string }>(
          'SELECT body FROM incidents ORDER BY created_at DESC, seq DESC LIMIT $1',
          [opts.limit],
        );
    return rows.map((r) => JSON.parse(r.body) as Incident);
  }

  async activeIncidents(): Promise<IncidentRecord[]> {
    const { rows } = await this.db.query<{ body: string }>(
      "SELECT body FROM incidents WHERE status != 'resolved' ORDER BY created_at, seq",
    );
    const records: IncidentRecord[] = [];
    for (const r of rows) records.push(await this.withMembers(JSON.parse(r.body) as Incident));
    return records;
  }

  private async withMembers(incident: Incident): Promise<IncidentRecord> {
    const { rows } = await this.db.query<{ alert_id: string; status: 'firing' | 'resolved' }>(
      'SELECT alert_id, status FROM incident_alerts WHERE incident_id = $1',
      [incident.id],
    );
    return { incident, members: new Map(rows.map((r) => [r.alert_id, r.status])) };
  }

  // ---- tasks ----

  async insertTask(record: TaskRecord): Promise<void> {
    const row = taskToRow(record);
    await this.db.query(
      `INSERT INTO tasks (${TASK_COLUMNS.join(', ')}) VALUES (${params(TASK_COLUMNS.length)})`,
      TASK_COLUMNS.map((c) => row[c]),
    );
  }

  async updateTask(record: TaskRecord): Promise<void> {
    const row = taskToRow(record);
    const cols = TASK_COLUMNS.filter((c) => c !== 'id');
    await this.db.query(`UPDATE tasks SET ${cols.map((c, i) => `${c} = $${i + 2}`).join(', ')} WHERE id = $1`, [
      row.id,
      ...cols.map((c) => row[c]),
    ]);
  }

  async getTask(id: string): Promise<TaskRecord | undefined> {
    const { rows } = await this.db.query<TaskRow>(`SELECT ${TASK_COLUMNS.join(', ')} FROM tasks WHERE id = $1`, [id]);
    return rows[0] ? taskFromRow(rows[0]) : undefined;
  }

  async listTasks(opts: { status?: TaskStatus | undefined; limit: number }): Promise<Task[]> {
    const cols = TASK_COLUMNS.join(', ');
    const { rows } =
      opts.status === undefined
        ? await this.db.query<TaskRow>(`SELECT ${cols} FROM tasks ORDER BY started_at DESC, seq DESC LIMIT $1`, [
            opts.limit,
          ])
        : await this.db.query<TaskRow>(
            `SELECT ${cols} FROM tasks WHERE status = $1 ORDER BY started_at DESC, seq DESC LIMIT $2`,
            [opts.status, opts.limit],
          );
    return rows.map((r) => taskFromRow(r).task);
  }

  async staleRunningTasks(before: number): Promise<TaskRecord[]> {
    const { rows } = await this.db.query<TaskRow>(
      `SELECT ${TASK_COLUMNS.join(', ')} FROM tasks WHERE status = 'running' AND updated_at <= $1
       ORDER BY updated_at, seq`,
      [before],
    );
    return rows.map(taskFromRow);
  }

  async purgeFinishedTasks(before: number): Promise<number> {
    const result = await this.db.query('DELETE FROM tasks WHERE ended_at IS NOT NULL AND ended_at <= $1', [before]);
    return result.rowCount ?? 0;
  }

  // ---- fleet ----

  async hosts(): Promise<HostRecord[]> {
    return (await this.db.query<HostRow>('SELECT * FROM hosts ORDER BY id')).rows.map(hostFromRow);
  }

  async saveHost(record: HostRecord): Promise<void> {
    const row = hostToRow(record);
    await this.db.query(
      `INSERT INTO hosts (${HOST_COLUMNS.join(', ')}) VALUES (${params(HOST_COLUMNS.length)})
       ON CONFLICT (id) DO UPDATE SET ${HOST_COLUMNS.filter((c) => c !== 'id')
         .map((c) => `${c} = excluded.${c}`)
         .join(', ')}`,
      HOST_COLUMNS.map((c) => row[c]),
    );
  }

  async deleteHost(id: string): Promise<void> {
    await this.db.query('DELETE FROM hosts WHERE id = $1', [id]);
  }

  // ---- dead-letter log ----

  async recordFailure(failure: NewFailure): Promise<number> {
    const { rows } = await this.db.query<{ id: number }>(
      `INSERT INTO notification_failures (at, kind, url, group_key, attempts, last_error, payload)
       VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
      [
        failure.at,
        failure.kind,
        failure.url,
        failure.group_key,
        failure.attempts,
        failure.last_error,
        JSON.stringify(failure.payload),
      ],
    );
    const id = rows[0]!.id;
    await this.db.query('DELETE FROM notification_failures WHERE id <= $1', [id - this.maxFailures]);
    return id;
  }

  async listFailures(opts: { limit?: number | undefined; since?: number | undefined }): Promise<NotificationFailure[]> {
    const { rows } = await this.db.query<FailureRow>(
      'SELECT * FROM notification_failures WHERE at >= $1 ORDER BY id DESC LIMIT $2',
      [opts.since ?? 0, opts.limit ?? 100],
    );
    return rows.map(failureFromRow);
  }

  async countFailures(): Promise<number> {
    const { rows } = await this.db.query<{ n: number }>('SELECT COUNT(*) AS n FROM notification_failures');
    return rows[0]!.n;
  }
}
