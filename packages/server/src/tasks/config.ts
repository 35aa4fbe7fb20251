/**
 * @module tasks-config
 * Configuration of the tasks part (`tasks:` in the config file).
 */
import { type Static, Type } from '@sinclair/typebox';
import { DurationSchema as Duration, parseDuration } from '../config/duration.js';

export const TasksConfigSchema = Type.Object(
  {
    stall_after: Duration(
      '5m',
      'A running task that reports nothing for this long becomes `stalled`; 0 turns stall detection off.',
    ),
    check_interval: Duration('5s', 'How often running tasks are checked for stalls.'),
    alert_on_stall: Type.Boolean({ default: true, description: 'Raise a `task_stalled` alert when a task stalls.' }),
    retention: Duration('7d', 'Finished tasks are deleted this long after they end.'),
  },
  { additionalProperties: false, default: {} },
);

export interface TasksConfig {
  readonly stallAfterMs: number;
  readonly checkIntervalMs: number;
  readonly alertOnStall: boolean;
  readonly retentionMs: number;
}

export function toTasksConfig(raw: Static<typeof TasksConfigSchema>): TasksConfig {
  return {
    stallAfterMs: parseDuration(raw.stall_after)!,
    checkIntervalMs: Math.max(100, parseDuration(raw.check_interval)!),
    alertOnStall: raw.alert_on_stall,
    retentionMs: parseDuration(raw.retention)!,
  };
}
