/**
 * @module state-store
 * The hub's state, behind one interface: API-created rules, alerts and their transitions, silences, incidents with
 * their member alerts, tasks with their ETA state, the fleet's hosts, and the dead-letter log of notifications that failed for good.
 * Every call is asynchronous so that a networked engine fits: SQLite (`<data_dir>/state.db`, the default) and
 * PostgreSQL (shared by the nodes of a cluster) implement it, and both pass `stateStoreConformance()`.
 *
 * The parts keep their working set in memory and write through this interface; reads that reach past the working
 * set (history, finished tasks, resolved incidents) come from the store, so on a shared engine every node sees what
 * any node wrote.
 */
import type { AlertQuery, SilenceRow, StoredAlert, Transition } from '../alerts/alert-store.js';
import type { HostRecord } from '../fleet/host-store.js';
import type { IncidentRecord } from '../incidents/store.js';
import type { Incident, IncidentStatus } from '../incidents/types.js';
import type { NewFailure, NotificationFailure } from '../notify/dead-letter.js';
import type { Task, TaskRecord, TaskStatus } from '../tasks/task-store.js';

export type {
  AlertQuery,
  IncidentRecord,
  NewFailure,
  NotificationFailure,
  SilenceRow,
  StoredAlert,
  TaskRecord,
  Transition,
};

/** One alert write: the alert as it now is, and the transition that made it so (if any). */
export interface AlertWrite {
  alert: StoredAlert;
  transition?: Transition | undefined;
}

/** A rule created through the API; `spec` is its JSON. */
export interface StoredRule {
  name: string;
  spec: string;
}

/** Rows kept in the dead-letter log by default; past it the oldest go. */
export const DEFAULT_MAX_FAILURES = 10_000;

export interface StateStore {
  /** `sqlite` or `postgres`. */
  readonly engine: string;
  /** Connects and applies the schema migrations that have not run yet. Called once, before any other call. */
  open(): Promise<void>;
  /** Waits for writes in flight and closes. */
  close(): Promise<void>;

  // ---- rules, alerts, silences ----
  rules(): Promise<StoredRule[]>;
  /** Creates or replaces an API rule. */
  saveRule(name: string, spec: unknown, now: number): Promise<void>;
  deleteRule(name: string): Promise<void>;
  /** Upserts alerts and appends their transitions, all in one transaction, in order. */
  saveAlerts(writes: readonly AlertWrite[]): Promise<void>;
  /** Alerts that are not resolved. */
  activeAlerts(): Promise<StoredAlert[]>;
  getAlert(id: string): Promise<StoredAlert | undefined>;
  /** Alerts by status, rule and last change (`updated_at >= since`), most recently changed first. */
  queryAlerts(q: AlertQuery): Promise<StoredAlert[]>;
  /** The transitions of an alert, oldest first. */
  transitions(id: string): Promise<Transition[]>;
  /** Newest first. */
  silences(): Promise<SilenceRow[]>;
  /** Creates a silence, or updates its end. */
  saveSilence(s: SilenceRow): Promise<void>;

  // ---- incidents ----
  /** Writes the incident and the statuses of the members named in `changed`, in one transaction. */
  saveIncident(record: IncidentRecord, changed: readonly string[]): Promise<void>;
  getIncident(id: string): Promise<IncidentRecord | undefined>;
  /** The incident an alert belongs to, if any (resolved incidents included). */
  incidentOfAlert(alertId: string): Promise<string | undefined>;
  /** Newest first. */
  listIncidents(opts: { status?: IncidentStatus | undefined; limit: number }): Promise<Incident[]>;
  /** Open and acknowledged incidents with their members, oldest first. */
  activeIncidents(): Promise<IncidentRecord[]>;

  // ---- tasks ----
  /** Inserts a new task; an existing id is an error. */
  insertTask(record: TaskRecord): Promise<void>;
  updateTask(record: TaskRecord): Promise<void>;
  getTask(id: string): Promise<TaskRecord | undefined>;
  /** Newest first (by start time), optionally of one status. */
  listTasks(opts: { status?: TaskStatus | undefined; limit: number }): Promise<Task[]>;
  /** Running tasks whose last report is at or before `before`, oldest report first. */
  staleRunningTasks(before: number): Promise<TaskRecord[]>;
  /** Deletes finished tasks that ended at or before `before`; resolves with how many. */
  purgeFinishedTasks(before: number): Promise<number>;

  // ---- fleet ----
  /** Every host of the registry, by id. */
  hosts(): Promise<HostRecord[]>;
  /** Creates or replaces a host. */
  saveHost(record: HostRecord): Promise<void>;
  deleteHost(id: string): Promise<void>;

  // ---- dead-letter log ----
  /** Appends a failure; resolves with its id (ids rise). Past the store's bound the oldest rows go. */
  recordFailure(failure: NewFailure): Promise<number>;
  /** Newest first. */
  listFailures(opts: { limit?: number | undefined; since?: number | undefined }): Promise<NotificationFailure[]>;
  countFailures(): Promise<number>;
}
