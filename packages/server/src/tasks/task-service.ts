/**
 * @module task-service
 * The tasks part's logic: create and update tasks, derive progress and ETA, publish every change as `task_update` on
 * `tasks`, detect stalls (raising and resolving a `task_stalled` alert), and purge finished tasks past retention.
 * SQLite is the source of truth; the clock is injected so that tests can drive time.
 */
import { randomUUID } from 'node:crypto';
import { VigilError } from '@vigil/protocol';
import type { AlertBus } from '../alerts/types.js';
import type { StateStore } from '../storage/state-store.js';
import type { TasksConfig } from './config.js';
import { etaSeconds, observe, type RateState, rescale } from './eta.js';
import { FINISHED_STATUSES, type Task, type TaskRecord, type TaskStatus } from './task-store.js';

export const TASKS_CHANNEL = 'tasks';
export const TASK_UPDATE = 'task_update';
export const STALL_ALERT = 'task_stalled';
/** Largest `details` object kept, as JSON. */
export const MAX_DETAILS_BYTES = 16_384;
export const DEFAULT_LIST_LIMIT = 100;
/** Most unfinished tasks kept in memory for `active()`; past it the least recently updated go. */
export const MAX_ACTIVE_KEPT = 10_000;

export interface CreateTaskInput {
  name: string;
  total?: number | null | undefined;
  details?: Record<string, unknown> | undefined;
}

export interface TaskPatch {
  progress?: number | undefined;
  processed?: number | undefined;
  total?: number | null | undefined;
  errors?: number | undefined;
  status?: 'running' | 'succeeded' | 'failed' | 'cancelled' | undefined;
  details?: Record<string, unknown> | undefined;
}

export interface TaskServiceDeps {
  store: StateStore;
  config: TasksConfig;
  emit: (channel: string, kind: string, data: unknown) => Promise<unknown>;
  alerts?: AlertBus | undefined;
  now?: (() => number) | undefined;
  newId?: (() => string) | undefined;
  log?: ((level: 'warn' | 'error', msg: string, extra?: Record<string, unknown>) => void) | undefined;
}

export function isFinished(status: TaskStatus): boolean {
  return FINISHED_STATUSES.includes(status);
}

function sameContent(a: Task, b: Task): boolean {
  return (
    a.status === b.status &&
    a.progress === b.progress &&
    a.processed === b.processed &&
    a.total === b.total &&
    a.errors === b.errors &&
    JSON.stringify(a.details) === JSON.stringify(b.details)
  );
}

function checkDetails(details: Record<string, unknown>): void {
  const size = Buffer.byteLength(JSON.stringify(details));
  if (size > MAX_DETAILS_BYTES) {
    throw new VigilError('bad_request', `details is ${size} bytes as JSON; the limit is ${MAX_DETAILS_BYTES}`, {
      path: 'details',
    });
  }
}

export class TaskService {
  private readonly store: StateStore;
  private readonly now: () => number;
  private readonly newId: () => string;
  private timer: NodeJS.Timeout | undefined;
  private checking: Promise<unknown> | undefined;
  private readonly updating = new Map<string, Promise<unknown>>();
  /** Unfinished tasks, least recently updated first, as this node last wrote or loaded them. */
  private readonly unfinished = new Map<string, Task>();

  constructor(private readonly deps: TaskServiceDeps) {
    this.store = deps.store;
    this.now = deps.now ?? Date.now;
    this.newId = deps.newId ?? randomUUID;
  }

  /** Checks at once (so stalls that happened while the hub was down are seen), then every `checkIntervalMs`. */
  async start(): Promise<void> {
    for (const status of ['stalled', 'running'] as const) {
      const tasks = await this.store.listTasks({ status, limit: MAX_ACTIVE_KEPT });
      for (const t of tasks.sort((a, b) => a.updated_at - b.updated_at)) this.remember(t);
    }
    await this.check();
    this.timer = setInterval(() => {
      this.checking ??= this.check()
        .catch((err: unknown) => this.log('error', 'task check failed', { err: String(err) }))
        .finally(() => {
          this.checking = undefined;
        });
    }, this.deps.config.checkIntervalMs);
    this.timer.unref();
  }

  /** Runs the stall and retention checks (true) or leaves them to another node (false). */
  async lead(leader: boolean): Promise<void> {
    if (!leader) {
      clearInterval(this.timer);
      this.timer = undefined;
      await this.checking;
      return;
    }
    if (this.timer === undefined) await this.start();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.checking;
  }

  async get(id: string): Promise<Task | undefined> {
    return (await this.store.getTask(id))?.task;
  }

  /** Running and stalled tasks, most recently updated first (as this node last wrote or loaded them). */
  active(): Task[] {
    return [...this.unfinished.values()].reverse();
  }

  private remember(task: Task): void {
    this.unfinished.delete(task.id);
    if (isFinished(task.status)) return;
    this.unfinished.set(task.id, task);
    if (this.unfinished.size > MAX_ACTIVE_KEPT) this.unfinished.delete(this.unfinished.keys().next().value!);
  }

  /** The task, or `not_found`. */
  async require(id: string): Promise<Task> {
    const task = await this.get(id);
    if (!task) throw new VigilError('not_found', `No task '${id}'`, { id });
    return task;
  }

  /** Newest first. */
  list(opts: { status?: TaskStatus | undefined; limit?: number | undefined } = {}): Promise<Task[]> {
    return this.store.listTasks({ status: opts.status, limit: opts.limit ?? DEFAULT_LIST_LIMIT });
  }

  async create(input: CreateTaskInput): Promise<Task> {
    const details = input.details ?? {};
    checkDetails(details);
    const now = this.now();
    const total = input.total ?? null;
    const progress = total === null ? null : 0;
    const rate = progress === null ? null : observe(null, now, progress);
    const task: Task = {
      id: this.newId(),
      name: input.name,
      status: 'running',
      progress,
      processed: 0,
      total,
      errors: 0,
      eta_s: null,
      details,
      started_at: now,
      updated_at: now,
    };
    await this.store.insertTask({ task, rate });
    this.remember(task);
    await this.publish(task);
    return task;
  }

  /**
   * Applies a report from the task's owner. Any report of a stalled task makes it running again (unless it finishes
   * it). A finished task is final: a patch that would change it is `bad_request`, one that changes nothing (a retried
   * final report) returns it as it is.
   */
  update(id: string, patch: TaskPatch): Promise<Task> {
    // Updates of one task run one after another: each reads what the one before wrote.
    const run = (this.updating.get(id) ?? Promise.resolve()).then(() => this.apply(id, patch));
    const tail = run.catch(() => {});
    this.updating.set(id, tail);
    void tail.then(() => {
      if (this.updating.get(id) === tail) this.updating.delete(id);
    });
    return run;
  }

  private async apply(id: string, patch: TaskPatch): Promise<Task> {
    const record = await this.store.getTask(id);
    if (!record) throw new VigilError('not_found', `No task '${id}'`, { id });
    const prev = record.task;
    const next: Task = { ...prev };
    if (patch.details !== undefined) {
      next.details = { ...prev.details, ...patch.details };
      checkDetails(next.details);
    }
    if (patch.processed !== undefined) next.processed = patch.processed;
    if (patch.total !== undefined) next.total = patch.total;
    if (patch.errors !== undefined) next.errors = patch.errors;
    if (patch.progress !== undefined) next.progress = patch.progress;
    else if ((patch.processed !== undefined || patch.total !== undefined) && next.total !== null) {
      next.progress = Math.min(1, next.processed / next.total);
    }
    next.status = patch.status ?? (prev.status === 'stalled' ? 'running' : prev.status);
    if (next.status === 'succeeded' && patch.progress === undefined) next.progress = 1;

    if (isFinished(prev.status)) {
      if (sameContent(prev, next)) return prev;
      throw new VigilError(
        'bad_request',
        next.status === prev.status
          ? `Task '${id}' is ${prev.status}; a finished task cannot change`
          : `Task '${id}' is ${prev.status}; a finished task cannot become ${next.status}`,
        { id, status: prev.status },
      );
    }

    const now = this.now();
    next.updated_at = now;
    delete next.stalled_since;
    let rate: RateState | null = record.rate;
    if (isFinished(next.status)) {
      next.ended_at = now;
      next.eta_s = null;
    } else {
      if (prev.total !== null && next.total !== null && prev.total !== next.total && patch.progress === undefined) {
        rate = rescale(rate, prev.total, next.total);
      }
      rate = next.progress === null ? null : observe(rate, now, next.progress);
      next.eta_s = etaSeconds(rate, now);
    }
    await this.store.updateTask({ task: next, rate });
    this.remember(next);
    if (prev.status === 'stalled') this.alert(next, 'resolved');
    await this.publish(next);
    return next;
  }

  /**
   * Marks running tasks silent for `stallAfterMs` as stalled (a `stallAfterMs` of 0 turns this off) and deletes
   * finished tasks that ended more than `retentionMs` ago.
   */
  async check(): Promise<{ stalled: number; purged: number }> {
    const { stallAfterMs, retentionMs } = this.deps.config;
    const now = this.now();
    const stale = stallAfterMs > 0 ? await this.store.staleRunningTasks(now - stallAfterMs) : [];
    for (const record of stale) await this.markStalled(record, record.task.updated_at + stallAfterMs);
    const purged = await this.store.purgeFinishedTasks(now - retentionMs);
    return { stalled: stale.length, purged };
  }

  private async markStalled(record: TaskRecord, since: number): Promise<void> {
    const task: Task = { ...record.task, status: 'stalled', stalled_since: since, eta_s: null };
    await this.store.updateTask({ task, rate: record.rate });
    this.remember(task);
    this.alert(task, 'firing');
    await this.publish(task);
  }

  private alert(task: Task, status: 'firing' | 'resolved'): void {
    const { alerts, config } = this.deps;
    if (!alerts || !config.alertOnStall) return;
    const silentFor = Math.round(config.stallAfterMs / 1000);
    // Raised on the leader's engine (in a cluster); a failure is logged.
    alerts
      .raise({
        name: STALL_ALERT,
        status,
        severity: 'warning',
        labels: { task_id: task.id, task_name: task.name },
        annotations: {
          summary:
            status === 'firing'
              ? `Task '${task.name}' has reported nothing for ${silentFor}s`
              : `Task '${task.name}' is ${task.status}`,
        },
      })
      .catch((err: unknown) => {
        this.log('error', 'could not raise the task_stalled alert', { task: task.id, err: String(err) });
      });
  }

  /** The state is already stored: a failed publish is logged, not thrown. */
  private async publish(task: Task): Promise<void> {
    try {
      await this.deps.emit(TASKS_CHANNEL, TASK_UPDATE, task);
    } catch (err) {
      this.log('error', 'could not publish task_update', { task: task.id, err: String(err) });
    }
  }

  private log(level: 'warn' | 'error', msg: string, extra?: Record<string, unknown>): void {
    this.deps.log?.(level, msg, extra);
  }
}
