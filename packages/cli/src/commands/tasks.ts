/**
 * @module tasks
 * `vigil tasks [list]`: tracked tasks with a progress bar and ETA column; `vigil tasks show <id>`: one task.
 */
import type { TaskData, TaskList } from '@vigil/protocol';
import type { Paint, Tone } from '../color.js';
import { clockTime, formatSeconds, progressBar, table } from '../format.js';
import { HubApi } from '../http.js';
import { Exit, type Io, UsageError } from '../io.js';
import { COMMON_HELP, hubTarget, outputStyle, parseCommand } from '../options.js';
import { compactJson } from '../render.js';

export const TASKS_USAGE = `Usage: vigil tasks [list] [--status S] [--limit N] [--json]
       vigil tasks show <id> [--json]

list (the default) prints tasks newest first, with a progress bar and the ETA.
  --status S      running, stalled, succeeded, failed or cancelled
  --limit N       at most N tasks (default 100)
show prints one task (exit 3 when there is no such task).
  --json          print the hub's answer as JSON

${COMMON_HELP}`;

export type TaskRow = TaskData;

const STATUSES = ['running', 'stalled', 'succeeded', 'failed', 'cancelled'];
const TONES: Record<string, Tone> = { failed: 'error', stalled: 'warning', succeeded: 'resolved' };

const toneOf = (status: string): Tone | undefined => (Object.hasOwn(TONES, status) ? TONES[status] : undefined);

function progressCell(t: TaskRow): string {
  const pct = t.progress === null ? '   ?' : `${String(Math.round(t.progress * 100)).padStart(3)}%`;
  return `${progressBar(t.progress)} ${pct}`;
}

function etaCell(t: TaskRow): string {
  if (t.status !== 'running' && t.status !== 'stalled') return '-';
  return formatSeconds(t.eta_s);
}

export function tasksTable(tasks: readonly TaskRow[], paint: Paint): string {
  const rows = tasks.map((t) => [
    t.id,
    t.name,
    t.status,
    progressCell(t),
    t.total === null ? String(t.processed) : `${t.processed}/${t.total}`,
    String(t.errors),
    etaCell(t),
  ]);
  return table(['ID', 'NAME', 'STATUS', 'PROGRESS', 'DONE', 'ERRORS', 'ETA'], rows, (i, line) =>
    paint(toneOf(tasks[i]!.status), line),
  );
}

export function taskDetail(t: TaskRow, paint: Paint): string {
  const rows: string[][] = [
    ['id', t.id],
    ['name', t.name],
    ['status', paint(toneOf(t.status), t.status)],
    ['progress', progressCell(t)],
    ['processed', t.total === null ? String(t.processed) : `${t.processed} of ${t.total}`],
    ['errors', String(t.errors)],
    ['eta', etaCell(t)],
    ['started', `${new Date(t.started_at).toISOString()} (${formatSeconds((Date.now() - t.started_at) / 1000)} ago)`],
    ['updated', `${new Date(t.updated_at).toISOString()} (${clockTime(t.updated_at)})`],
  ];
  if (t.ended_at !== undefined) rows.push(['ended', new Date(t.ended_at).toISOString()]);
  if (t.stalled_since !== undefined) rows.push(['stalled since', new Date(t.stalled_since).toISOString()]);
  if (t.details && Object.keys(t.details).length > 0) rows.push(['details', compactJson(t.details)]);
  return table(undefined, rows);
}

export async function tasks(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parseCommand('tasks', argv, {
    status: { type: 'string' },
    limit: { type: 'string' },
    json: { type: 'boolean' },
  });
  if (values.help) {
    io.stdout.write(`${TASKS_USAGE}\n`);
    return Exit.OK;
  }
  const [sub = 'list', ...rest] = positionals;
  const api = new HubApi(hubTarget(values, io.env));
  const paint = outputStyle(argv, io, values.json).out;

  if (sub === 'show') {
    if (rest.length !== 1) throw new UsageError(rest.length === 0 ? 'missing <id>' : 'too many arguments', 'tasks');
    if (values.status !== undefined || values.limit !== undefined) {
      throw new UsageError('--status and --limit go with `tasks list`', 'tasks');
    }
    const task = await api.get<TaskRow>(`/api/v1/tasks/${encodeURIComponent(rest[0]!)}`);
    io.stdout.write(values.json ? `${JSON.stringify(task)}\n` : `${taskDetail(task, paint)}\n`);
    return Exit.OK;
  }
  if (sub !== 'list') throw new UsageError(`unknown subcommand '${sub}' (expected list or show)`, 'tasks');
  if (rest.length > 0) throw new UsageError(`unexpected argument '${rest[0]}'`, 'tasks');
  if (values.status !== undefined && !STATUSES.includes(values.status)) {
    throw new UsageError(`--status must be one of ${STATUSES.join(', ')}, got '${values.status}'`, 'tasks');
  }
  const limit = values.limit === undefined ? undefined : Number(values.limit);
  if (limit !== undefined && (!Number.isInteger(limit) || limit < 1 || limit > 1000)) {
    throw new UsageError(`--limit must be an integer from 1 to 1000, got '${values.limit}'`, 'tasks');
  }
  const q = new URLSearchParams();
  if (values.status) q.set('status', values.status);
  if (limit) q.set('limit', String(limit));
  const query = q.toString() ? `?${q}` : '';
  const { tasks: list } = await api.get<TaskList>(`/api/v1/tasks${query}`);
  if (values.json) io.stdout.write(`${JSON.stringify({ tasks: list })}\n`);
  else io.stdout.write(list.length === 0 ? 'no tasks\n' : `${tasksTable(list, paint)}\n`);
  return Exit.OK;
}
