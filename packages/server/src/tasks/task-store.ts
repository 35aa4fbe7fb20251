/**
 * @module task-store
 * The tasks table in the hub's state database: one row per task, holding what clients see plus the ETA estimator's
 * state (`rate_*`), so that both survive a restart.
 */

import type { TaskData } from '@vigil/protocol';
import { migrate, type StateDb } from '../storage/state-db.js';
import type { RateState } from './eta.js';

export const TASK_STATUSES = [
  'running',
  'stalled',
  'succeeded',
  'failed',
  'cancelled',
] as const satisfies readonly TaskData['status'][];
export type TaskStatus = TaskData['status'];
export const FINISHED_STATUSES: readonly TaskStatus[] = ['succeeded', 'failed', 'cancelled'];

/** A task as published on `tasks` and returned by the API: the protocol's `TaskData`. */
export type Task = TaskData;

/** A stored task: the public record and the ETA estimator's state. */
export interface TaskRecord {
  task: Task;
  rate: RateState | null;
}

interface Row {
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

const MIGRATIONS = [
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

const COLUMNS =
  'id, name, status, progress, processed, total, errors, eta_s, details, started_at, updated_at, ended_at, ' +
  'stalled_since, rate_at, rate_pos, rate';

function fromRow(r: Row): TaskRecord {
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
  const rate = r.rate_at === null || r.rate_pos === null ? null : { at: r.rate_at, pos: r.rate_pos, rate: r.rate };
  return { task, rate };
}

function toRow({ task, rate }: TaskRecord): Row {
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

export class TaskStore {
  private readonly insertStmt;
  private readonly updateStmt;
  private readonly getStmt;
  private readonly staleStmt;
  private readonly purgeStmt;
  private readonly listAllStmt;
  private readonly listStatusStmt;

  constructor(db: StateDb) {
    migrate(db, 'tasks', MIGRATIONS);
    const names = COLUMNS.split(', ');
    this.insertStmt = db.prepare(`INSERT INTO tasks (${COLUMNS}) VALUES (${names.map((c) => `@${c}`).join(', ')})`);
    this.updateStmt = db.prepare(
      `UPDATE tasks SET ${names
        .filter((c) => c !== 'id')
        .map((c) => `${c} = @${c}`)
        .join(', ')} WHERE id = @id`,
    );
    this.getStmt = db.prepare<[string], Row>(`SELECT ${COLUMNS} FROM tasks WHERE id = ?`);
    this.staleStmt = db.prepare<[number], Row>(
      `SELECT ${COLUMNS} FROM tasks WHERE status = 'running' AND updated_at <= ? ORDER BY updated_at`,
    );
    this.purgeStmt = db.prepare<[number]>('DELETE FROM tasks WHERE ended_at IS NOT NULL AND ended_at <= ?');
    this.listAllStmt = db.prepare<[number], Row>(
      `SELECT ${COLUMNS} FROM tasks ORDER BY started_at DESC, rowid DESC LIMIT ?`,
    );
    this.listStatusStmt = db.prepare<[string, number], Row>(
      `SELECT ${COLUMNS} FROM tasks WHERE status = ? ORDER BY started_at DESC, rowid DESC LIMIT ?`,
    );
  }

  insert(record: TaskRecord): void {
    this.insertStmt.run(toRow(record));
  }

  update(record: TaskRecord): void {
    this.updateStmt.run(toRow(record));
  }

  get(id: string): TaskRecord | undefined {
    const row = this.getStmt.get(id);
    return row ? fromRow(row) : undefined;
  }

  /** Newest first (by start time), optionally of one status. */
  list(opts: { status?: TaskStatus | undefined; limit: number }): Task[] {
    const rows =
      opts.status === undefined ? this.listAllStmt.all(opts.limit) : this.listStatusStmt.all(opts.status, opts.limit);
    return rows.map((r) => fromRow(r).task);
  }

  /** Running tasks whose last report is at or before `before`. */
  staleRunning(before: number): TaskRecord[] {
    return this.staleStmt.all(before).map(fromRow);
  }

  /** Deletes finished tasks that ended at or before `before`; returns how many. */
  purgeFinished(before: number): number {
    return this.purgeStmt.run(before).changes;
  }
}
