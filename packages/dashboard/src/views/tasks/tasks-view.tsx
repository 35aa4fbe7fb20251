/**
 * @module tasks-view
 * Tasks: running ones first with live progress bars, processed/total/errors and an ETA that ticks down between
 * updates; stalled tasks marked; finished tasks below; a detail page (`/tasks/<id>`) with the task's details.
 */

import { useTasks } from '@vigil/client/react';
import type { TaskData } from '@vigil/protocol';
import { StatusBadge } from '../../components/badges.js';
import { formatDateTime, formatDuration, formatNumber } from '../../lib/format.js';
import { useNow } from '../../lib/use-now.js';

/** An ETA that has run out while the task still runs says so, rather than a frozen `0s`. */
function formatEta(seconds: number): string {
  return seconds < 1 ? 'due now' : formatDuration(seconds * 1000);
}

/** Seconds left: the hub's ETA as of the last update, minus the time since. */
export function etaLeft(t: TaskData, now: number): number | null {
  if (t.eta_s === null || (t.status !== 'running' && t.status !== 'stalled')) return null;
  return Math.max(0, t.eta_s - (now - t.updated_at) / 1000);
}

export function TasksView({ subpath }: { subpath: string }) {
  const tasks = useTasks();
  const now = useNow(1000);
  if (subpath) return <TaskDetail task={tasks.get(subpath)} id={subpath} now={now} />;
  const all = [...tasks.values()].sort((a, b) => b.started_at - a.started_at);
  const running = all.filter((t) => t.status === 'running' || t.status === 'stalled');
  const finished = all.filter((t) => t.status !== 'running' && t.status !== 'stalled');
  return (
    <div class="view tasks">
      <h1>Tasks</h1>
      <h2>Running</h2>
      {running.length === 0 ? <p class="empty">No task is running.</p> : <TaskTable list={running} now={now} />}
      <h2>Finished</h2>
      {finished.length === 0 ? <p class="empty">No finished task.</p> : <TaskTable list={finished} now={now} />}
    </div>
  );
}

function Progress({ t }: { t: TaskData }) {
  const pct = t.progress === null ? null : Math.round(t.progress * 1000) / 10;
  return (
    <div class="progress-cell">
      <div
        class={`progress ${t.status}`}
        role="progressbar"
        aria-label={`${t.name} progress`}
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={pct ?? undefined}
        aria-valuetext={pct === null ? 'unknown' : `${pct}%`}
        data-testid="progress"
      >
        <div class="bar" style={{ width: `${pct ?? 0}%` }} />
      </div>
      <span class="pct">{pct === null ? '?' : `${pct}%`}</span>
    </div>
  );
}

function TaskTable({ list, now }: { list: TaskData[]; now: number }) {
  return (
    <table class="table" data-testid="tasks-table">
      <thead>
        <tr>
          <th scope="col">Task</th>
          <th scope="col">Status</th>
          <th scope="col">Progress</th>
          <th scope="col" class="num">
            Processed / total
          </th>
          <th scope="col" class="num">
            Errors
          </th>
          <th scope="col">ETA</th>
          <th scope="col">Started</th>
        </tr>
      </thead>
      <tbody>
        {list.map((t) => {
          const eta = etaLeft(t, now);
          return (
            <tr key={t.id} data-task-id={t.id} class={t.status === 'stalled' ? 'stalled' : ''}>
              <td>
                <a href={`/tasks/${encodeURIComponent(t.id)}`}>{t.name}</a>
              </td>
              <td>
                <StatusBadge status={t.status} />
                {t.status === 'stalled' && t.stalled_since && (
                  <span class="muted small"> no report for {formatDuration(now - t.stalled_since)}</span>
                )}
              </td>
              <td>
                <Progress t={t} />
              </td>
              <td class="num">
                {formatNumber(t.processed)} / {t.total === null ? '?' : formatNumber(t.total)}
              </td>
              <td class={`num ${t.errors > 0 ? 'bad' : ''}`}>{t.errors}</td>
              <td data-testid="eta">{eta === null ? (t.status === 'running' ? '–' : '') : formatEta(eta)}</td>
              <td class="nowrap">{formatDateTime(t.started_at)}</td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

function TaskDetail({ task, id, now }: { task: TaskData | undefined; id: string; now: number }) {
  if (!task) {
    return (
      <div class="view">
        <p>
          <a href="/tasks">← Tasks</a>
        </p>
        <p class="empty">No task {id} among the recent tasks.</p>
      </div>
    );
  }
  const eta = etaLeft(task, now);
  return (
    <div class="view task-detail" data-testid="task-detail">
      <p>
        <a href="/tasks">← Tasks</a>
      </p>
      <h1>{task.name}</h1>
      <Progress t={task} />
      <dl class="facts">
        <dt>Status</dt>
        <dd>
          <StatusBadge status={task.status} />
        </dd>
        <dt>Processed</dt>
        <dd>
          {task.processed} / {task.total ?? '?'}
        </dd>
        <dt>Errors</dt>
        <dd>{task.errors}</dd>
        <dt>ETA</dt>
        <dd>{eta === null ? '–' : formatEta(eta)}</dd>
        <dt>Started</dt>
        <dd>{formatDateTime(task.started_at)}</dd>
        <dt>Last report</dt>
        <dd>{formatDateTime(task.updated_at)}</dd>
        {task.ended_at && (
          <>
            <dt>Ended</dt>
            <dd>{formatDateTime(task.ended_at)}</dd>
          </>
        )}
        <dt>Id</dt>
        <dd>
          <code>{task.id}</code>
        </dd>
      </dl>
      <h2>Details</h2>
      <pre class="json">{JSON.stringify(task.details, null, 2)}</pre>
    </div>
  );
}
