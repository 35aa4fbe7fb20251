/**
 * @module status
 * `vigil status`: the hub's statistics (`GET /api/v1/stats`) and, when the host collector runs, a few host figures
 * from `GET /api/v1/metrics/current?prefix=system.`, as an aligned table or `--json`.
 */
import type { CurrentValue, CurrentValues } from '@vigil/protocol';
import { formatBytes, formatNumber, formatSeconds, table } from '../format.js';
import { HubApi } from '../http.js';
import { Exit, HubError, type Io } from '../io.js';
import { COMMON_HELP, expectPositionals, hubTarget, parseCommand } from '../options.js';

export const STATUS_USAGE = `Usage: vigil status [--json]

Prints the hub's statistics (GET /api/v1/stats) and a few host figures (CPU, load, memory, swap, disks, uptime)
when the hub collects them.
  --json          print {url, stats, host} as JSON (host: the system.* values behind the host rows)

${COMMON_HELP}`;

export type CurrentMetric = CurrentValue;

type Stats = Record<string, unknown>;

/** The `system.*` series behind the host rows (and `--json`'s `host`). */
const HOST_METRICS =
  /^system\.(cpu\.usage|load\.|memory\.(used|total)_bytes|swap\.(used|total)_bytes|disk\.(used|total)_bytes|uptime_s)/;

const STAT_ROWS: [string, (s: Stats) => string | undefined][] = [
  ['node', (s) => (s.node === undefined ? undefined : String(s.node))],
  ['uptime', (s) => (typeof s.uptime_s === 'number' ? formatSeconds(s.uptime_s) : undefined)],
  ['broker', (s) => (s.broker === undefined ? undefined : String(s.broker))],
  [
    'connections',
    (s) => (s.connections === undefined ? undefined : `${s.connections} (${s.connections_total ?? '?'} since start)`),
  ],
  ['subscriptions', (s) => (s.subscriptions === undefined ? undefined : String(s.subscriptions))],
  ['channels', (s) => (s.channels === undefined ? undefined : String(s.channels))],
  ['messages in', (s) => (s.messages_in === undefined ? undefined : String(s.messages_in))],
  ['messages out', (s) => (s.messages_out === undefined ? undefined : String(s.messages_out))],
  ['events published', (s) => (s.events_published === undefined ? undefined : String(s.events_published))],
  ['queue drops', (s) => (s.queue_drops === undefined ? undefined : String(s.queue_drops))],
];

/** Host rows from the current `system.*` values; rows whose metrics are missing are left out. */
export function hostRows(metrics: readonly CurrentMetric[]): [string, string][] {
  const find = (name: string, labels: Record<string, string> = {}) =>
    metrics.find((m) => m.metric === name && Object.entries(labels).every(([k, v]) => m.labels[k] === v))?.value ??
    undefined;
  const rows: [string, string][] = [];
  const cpu = find('system.cpu.usage', { cpu: 'total' });
  if (typeof cpu === 'number') rows.push(['cpu', `${formatNumber(Number(cpu.toFixed(1)))}%`]);
  const loads = ['1m', '5m', '15m'].map((w) => find(`system.load.${w}`));
  if (loads.every((l) => typeof l === 'number')) rows.push(['load', loads.map((l) => formatNumber(l)).join(' ')]);
  const usage = (label: string, used: unknown, total: unknown, pct: unknown) => {
    if (typeof used !== 'number' || typeof total !== 'number' || total <= 0) return;
    const p = typeof pct === 'number' ? pct : (used / total) * 100;
    rows.push([label, `${formatBytes(used)} of ${formatBytes(total)} (${p.toFixed(1)}%)`]);
  };
  usage(
    'memory',
    find('system.memory.used_bytes'),
    find('system.memory.total_bytes'),
    find('system.memory.used_percent'),
  );
  usage('swap', find('system.swap.used_bytes'), find('system.swap.total_bytes'), find('system.swap.used_percent'));
  const mounts = metrics
    .filter((m) => m.metric === 'system.disk.total_bytes' && m.labels.mount)
    .map((m) => m.labels.mount!)
    .sort((a, b) => a.length - b.length || (a < b ? -1 : 1))
    .slice(0, 4);
  for (const mount of mounts) {
    usage(
      `disk ${mount}`,
      find('system.disk.used_bytes', { mount }),
      find('system.disk.total_bytes', { mount }),
      find('system.disk.used_percent', { mount }),
    );
  }
  const up = find('system.uptime_s');
  if (typeof up === 'number') rows.push(['host uptime', formatSeconds(up)]);
  return rows;
}

export async function status(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parseCommand('status', argv, { json: { type: 'boolean' } });
  if (values.help) {
    io.stdout.write(`${STATUS_USAGE}\n`);
    return Exit.OK;
  }
  expectPositionals('status', positionals, []);
  const api = new HubApi(hubTarget(values, io.env));
  const stats = await api.get<Stats>('/api/v1/stats');
  let host: CurrentMetric[] = [];
  try {
    host = (await api.get<CurrentValues>('/api/v1/metrics/current?prefix=system.')).metrics ?? [];
  } catch (err) {
    if (!(err instanceof HubError)) throw err; // a hub without the metrics part: no host figures
  }
  const rows = hostRows(host);
  if (values.json) {
    const picked = host.filter((m) => HOST_METRICS.test(m.metric) && (m.labels.cpu ?? 'total') === 'total');
    io.stdout.write(`${JSON.stringify({ url: api.target.url, stats, host: picked })}\n`);
    return Exit.OK;
  }
  const statRows: [string, string][] = [];
  for (const [label, read] of STAT_ROWS) {
    const text = read(stats);
    if (text !== undefined) statRows.push([label, text]);
  }
  const all = [['hub', api.target.url], ...statRows, ...rows];
  io.stdout.write(`${table(undefined, all)}\n`);
  return Exit.OK;
}
