/**
 * @module alerts
 * `vigil alerts [list]` (active alerts, or the history filtered by state and rule) and `vigil alerts ack` (one alert
 * by id, or every active alert of a rule), over the REST API.
 */
import { userInfo } from 'node:os';
import type { AlertInfo, AlertList } from '@vigil/protocol';
import { type Paint, severityTone } from '../color.js';
import { formatLabels, formatNumber, formatSeconds, table } from '../format.js';
import { HubApi } from '../http.js';
import { Exit, HubError, type Io, UsageError } from '../io.js';
import { COMMON_HELP, hubTarget, outputStyle, parseCommand } from '../options.js';

export const ALERTS_USAGE = `Usage: vigil alerts [list] [--state S] [--rule R] [--limit N] [--json]
       vigil alerts ack <id> [--by NAME] [--comment TEXT] [--json]
       vigil alerts ack --rule R [--by NAME] [--comment TEXT] [--json]

list (the default) prints the active (pending and firing) alerts; with --state or --rule it prints the alert
history, newest change first.
  --state S       pending, firing or resolved
  --rule R        only this rule's alerts
  --limit N       at most N alerts of history (default 500)
ack acknowledges one alert, or with --rule every active alert of that rule (exit 3 when there is none).
  --by NAME       who acknowledges (default: your login name)
  --comment TEXT  a note kept with the acknowledgement
  --json          print {alerts: [...]} as JSON

${COMMON_HELP}`;

/** What the table shows of an alert. */
export type AlertRow = Pick<
  AlertInfo,
  'id' | 'rule' | 'status' | 'severity' | 'value' | 'labels' | 'starts_at' | 'acknowledged_by'
>;

const STATES = ['pending', 'firing', 'resolved'];

function whoAmI(env: Io['env']): string {
  if (env.USER) return env.USER;
  try {
    return userInfo().username;
  } catch {
    return 'vigil-cli';
  }
}

/** The alerts table; rows are coloured by severity (resolved ones green). */
export function alertsTable(alerts: readonly AlertRow[], paint: Paint, now = Date.now()): string {
  const rows = alerts.map((a) => [
    a.id,
    a.status,
    a.severity,
    `${a.rule}${formatLabels(a.labels)}`,
    formatNumber(a.value),
    formatSeconds((now - a.starts_at) / 1000),
    a.acknowledged_by ?? '-',
  ]);
  return table(['ID', 'STATUS', 'SEVERITY', 'RULE', 'VALUE', 'AGE', 'ACK'], rows, (i, line) =>
    paint(alerts[i]!.status === 'resolved' ? 'resolved' : severityTone(alerts[i]!.severity), line),
  );
}

export async function alerts(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parseCommand('alerts', argv, {
    state: { type: 'string' },
    rule: { type: 'string' },
    limit: { type: 'string' },
    by: { type: 'string' },
    comment: { type: 'string' },
    json: { type: 'boolean' },
  });
  if (values.help) {
    io.stdout.write(`${ALERTS_USAGE}\n`);
    return Exit.OK;
  }
  const [sub = 'list', ...rest] = positionals;
  const api = new HubApi(hubTarget(values, io.env));
  const paint = outputStyle(argv, io, values.json).out;
  const print = (list: AlertRow[], text: () => string) =>
    io.stdout.write(values.json ? `${JSON.stringify({ alerts: list })}\n` : `${text()}\n`);

  if (sub === 'list') {
    if (rest.length > 0) throw new UsageError(`unexpected argument '${rest[0]}'`, 'alerts');
    if (values.by !== undefined || values.comment !== undefined) {
      throw new UsageError('--by and --comment go with `alerts ack`', 'alerts');
    }
    if (values.state !== undefined && !STATES.includes(values.state)) {
      throw new UsageError(`--state must be one of ${STATES.join(', ')}, got '${values.state}'`, 'alerts');
    }
    const limit = values.limit === undefined ? undefined : Number(values.limit);
    if (limit !== undefined && (!Number.isInteger(limit) || limit < 1 || limit > 10_000)) {
      throw new UsageError(`--limit must be an integer from 1 to 10000, got '${values.limit}'`, 'alerts');
    }
    const history = values.state !== undefined || values.rule !== undefined || limit !== undefined;
    const q = new URLSearchParams();
    if (!history) q.set('active', 'true');
    if (values.state) q.set('state', values.state);
    if (values.rule) q.set('rule', values.rule);
    if (limit) q.set('limit', String(limit));
    const { alerts: list } = await api.get<AlertList>(`/api/v1/alerts?${q}`);
    print(list, () => (list.length === 0 ? (history ? 'no alerts' : 'no active alerts') : alertsTable(list, paint)));
    return Exit.OK;
  }

  if (sub !== 'ack') throw new UsageError(`unknown subcommand '${sub}' (expected list or ack)`, 'alerts');
  if (values.state !== undefined || values.limit !== undefined) {
    throw new UsageError('--state and --limit go with `alerts list`', 'alerts');
  }
  if (rest.length > 1) throw new UsageError(`unexpected argument '${rest[1]}'`, 'alerts');
  const id = rest[0];
  if ((id === undefined) === (values.rule === undefined)) {
    throw new UsageError('give either an alert id or --rule R', 'alerts');
  }
  const body: Record<string, string> = { by: values.by ?? whoAmI(io.env) };
  if (values.comment !== undefined) body.comment = values.comment;
  let ids: string[];
  if (id !== undefined) ids = [id];
  else {
    const { alerts: active } = await api.get<AlertList>('/api/v1/alerts?active=true');
    ids = active.filter((a) => a.rule === values.rule).map((a) => a.id);
    if (ids.length === 0) throw new HubError('not_found', `No active alert for rule '${values.rule}'`, 404);
  }
  const acked: AlertRow[] = [];
  for (const one of ids) acked.push(await api.post<AlertInfo>(`/api/v1/alerts/${encodeURIComponent(one)}/ack`, body));
  print(acked, () =>
    acked.map((a) => `acknowledged ${a.id} ${a.rule}${formatLabels(a.labels)} (${a.status}, by ${body.by})`).join('\n'),
  );
  return Exit.OK;
}
