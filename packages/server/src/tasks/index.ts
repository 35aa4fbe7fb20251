/**
 * @module tasks
 * The tasks part: progress reports of long-running jobs over REST, published on `tasks`, listed by `tasks.list`,
 * with ETA, stall detection and retention. `createTasksPart()` builds it for a hub; the alert bus is optional.
 */
import type { AlertBus } from '../alerts/types.js';
import type { HubPart, PartContext } from '../part.js';
import { taskRoutes } from './routes.js';
import { checkListParams } from './schemas.js';
import { TaskService } from './task-service.js';

export { TaskService } from './task-service.js';
export type { Task, TaskStatus } from './task-store.js';

export interface TasksPartOptions {
  /** Where `task_stalled` alerts go; without it, stalls are published but raise no alert. */
  alerts?: AlertBus | undefined;
  now?: (() => number) | undefined;
}

export function createTasksPart(
  hub: Pick<PartContext, 'config' | 'state' | 'methods' | 'log' | 'emit'>,
  options: TasksPartOptions = {},
): { part: HubPart; service: TaskService } {
  const log = hub.log.child({ part: 'tasks' });
  const service = new TaskService({
    store: hub.state,
    config: hub.config.tasks,
    emit: (channel, kind, data) => hub.emit(channel, kind, data),
    alerts: options.alerts,
    now: options.now,
    log: (level, msg, extra) => log[level](extra ?? {}, msg),
  });
  hub.methods.register('tasks.list', async (params) => ({ tasks: await service.list(checkListParams(params)) }));
  const part: HubPart = {
    name: 'tasks',
    start: () => service.start(),
    routes: (app) => taskRoutes(app, service),
    stop: () => service.stop(),
    lead: (leader) => service.lead(leader),
  };
  return { part, service };
}
