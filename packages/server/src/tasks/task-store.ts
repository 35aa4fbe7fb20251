/**
 * @module task-store
 * What the tasks part keeps in the state store (storage/state-store.ts): one record per task, holding what clients
 * see plus the ETA estimator's state, so that both survive a restart.
 */

import type { TaskData } from '@vigil/protocol';
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
