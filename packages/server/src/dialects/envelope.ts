/**
 * @module envelope
 * The envelope dialect: every message is `{type, timestamp, data}`. Clients get `initial_state` on connect, then
 * `system_status`, `metrics_update`, `task_update` and `alert`, narrowed by `{type: "subscribe", filter: {types,
 * task_ids, alert_level}}`; `unsubscribe` stops the pushes and `ping` answers `pong {client_id}`. Alert levels
 * (`low`, `medium`, `high`, `critical`) map onto Vigil's severities (`info`, `warning`, `error`, `critical`). See
 * docs/dialects.md.
 */
import type { ErrorCode } from '@vigil/protocol';
import { VigilError } from '@vigil/protocol';
import type { FastifyInstance } from 'fastify';
import { access } from '../auth/route-access.js';
import type { StoredEvent } from '../broker/broker.js';
import { httpRates } from '../observability/http-figures.js';
import type { DialectsConfig } from './config.js';
import { type Dialect, type DialectContext, isRecord, rfc3339 } from './dialect.js';
import type { DialectSession } from './session.js';

/** Vigil severity → alert level, and back (Vigil's own names are accepted as levels too). */
const LEVEL_OF: Record<string, string> = { info: 'low', warning: 'medium', error: 'high', critical: 'critical' };
const RANK: Record<string, number> = {
  low: 0,
  info: 0,
  medium: 1,
  warning: 1,
  high: 2,
  error: 2,
  critical: 3,
};
const TYPES = ['system_status', 'metrics_update', 'task_update', 'alert'] as const;
const MAX_TYPES = 16;

export interface EnvelopeHost {
  /** The latest `system.status` data, if any yet. */
  status(): Record<string, unknown> | undefined;
  /** Tasks not finished (running or stalled), newest first, at most 1,000. */
  activeTasks(): Record<string, unknown>[];
  /** Active alerts (pending and firing). */
  activeAlerts(): Record<string, unknown>[];
  /** The HTTP API's figures so far. */
  http(): { requests: number; errors: number; totalMs: number };
  startedAt: number;
}

interface Filter {
  muted: boolean;
  types: Set<string> | undefined;
  taskIds: Set<string> | undefined;
  minRank: number;
}

/** `2h30m5s`-style text of a duration in seconds. */
export function durationText(seconds: number): string {
  let s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  return `${h > 0 ? `${h}h` : ''}${h > 0 || m > 0 ? `${m}m` : ''}${s}s`;
}

function envelope(type: string, data: unknown, ts = Date.now()) {
  return { type, timestamp: rfc3339(ts), data };
}

function filterOf(session: DialectSession): Filter {
  return session.state as unknown as Filter;
}

function typeOf(event: StoredEvent): string | undefined {
  if (event.channel === 'system.status' && event.kind === 'system_status') return 'system_status';
  if (event.channel === 'tasks' && event.kind === 'task_update') return 'task_update';
  if (event.channel === 'alerts' && event.kind === 'alert') return 'alert';
  return undefined;
}

function taskData(t: Record<string, unknown>) {
  const details = isRecord(t.details) ? t.details : {};
  return {
    id: t.id,
    name: t.name,
    status: t.status,
    progress: typeof t.progress === 'number' ? Math.round(t.progress * 1000) / 10 : 0,
    start_time: rfc3339(t.started_at),
    details: { ...details, processed: t.processed, total: t.total, errors: t.errors },
  };
}

function alertData(a: Record<string, unknown>) {
  const annotations = isRecord(a.annotations) ? a.annotations : {};
  const text = annotations.summary ?? annotations.description;
  return {
    id: a.id,
    rule_id: a.rule,
    rule_name: a.rule,
    status: a.status,
    severity: LEVEL_OF[String(a.severity)] ?? a.severity,
    message: typeof text === 'string' ? text : `${String(a.rule)} is ${String(a.status)}`,
    value: a.value,
    threshold: a.threshold,
    starts_at: rfc3339(a.starts_at),
  };
}

export class EnvelopeDialect implements Dialect {
  readonly name = 'envelope';
  readonly paths: readonly string[];
  private timer: NodeJS.Timeout | undefined;
  /** HTTP figures at the previous `metrics_update`, for its rates. */
  private lastHttp: { requests: number; errors: number; totalMs: number; at: number };

  constructor(
    private readonly config: DialectsConfig['envelope'],
    private readonly host: EnvelopeHost,
  ) {
    this.paths = [config.path];
    this.lastHttp = { ...host.http(), at: Date.now() };
  }

  private systemStatus(d: Record<string, unknown>) {
    const cpu = isRecord(d.cpu) ? d.cpu : {};
    const memory = isRecord(d.memory) ? d.memory : {};
    const network = isRecord(d.network) ? d.network : {};
    const disks = Array.isArray(d.disk) ? (d.disk as Record<string, unknown>[]) : [];
    const root = disks.find((x) => x.mount === '/') ?? disks[0];
    return {
      status: d.status === 'ok' ? 'healthy' : d.status,
      uptime: durationText(Number(d.uptime_s ?? 0)),
      active_tasks: this.host.activeTasks().length,
      total_requests: this.host.http().requests,
      memory_usage: memory.used_bytes ?? null,
      cpu_usage: cpu.usage_percent ?? null,
      disk_usage: root?.used_percent ?? null,
      network_io: { bytes_in: network.rx_bytes_per_s ?? null, bytes_out: network.tx_bytes_per_s ?? null },
    };
  }

  /** The `metrics_update` data: task and HTTP figures, error rate and response time since the previous one. */
  private metricsData(advance: boolean) {
    const now = Date.now();
    const http = this.host.http();
    const r = httpRates(this.lastHttp, http, (now - this.lastHttp.at) / 1000);
    if (advance) this.lastHttp = { ...http, at: now };
    const status = this.host.status();
    const cpu = status && isRecord(status.cpu) ? status.cpu.usage_percent : null;
    return {
      active_tasks: this.host.activeTasks().length,
      total_requests: http.requests,
      error_rate: Math.round(r.error_percent * 100) / 100,
      avg_response_time: `${Math.round(r.response_time_ms ?? 0)}ms`,
      memory_usage_mb: Math.round((process.memoryUsage().rss / 1_048_576) * 10) / 10,
      cpu_usage: cpu ?? null,
      uptime: durationText((now - this.host.startedAt) / 1000),
    };
  }

  translate(event: StoredEvent): unknown {
    const d = event.data;
    if (!isRecord(d)) return undefined;
    switch (typeOf(event)) {
      case 'system_status':
        return envelope('system_status', this.systemStatus(d), event.ts);
      case 'task_update':
        return envelope('task_update', taskData(d), event.ts);
      case 'alert':
        return envelope('alert', alertData(d), event.ts);
      default:
        return undefined;
    }
  }

  wants(session: DialectSession, event: StoredEvent): boolean {
    const f = filterOf(session);
    if (f.muted) return false;
    const type = typeOf(event);
    if (type === undefined) return false;
    if (f.types && !f.types.has(type) && !f.types.has('all')) return false;
    const d = event.data as Record<string, unknown>;
    if (type === 'task_update' && f.taskIds && !f.taskIds.has(String(d.id))) return false;
    if (type === 'alert' && (RANK[String(d.severity)] ?? 0) < f.minRank) return false;
    return true;
  }

  urgent(event: StoredEvent): boolean {
    return event.channel === 'alerts' && isRecord(event.data) && event.data.severity === 'critical';
  }

  async open(session: DialectSession, ctx: DialectContext): Promise<void> {
    const filter: Filter = { muted: false, types: undefined, taskIds: undefined, minRank: 0 };
    session.state = filter as unknown as Record<string, unknown>;
    const status = this.host.status();
    const alerts = this.host.activeAlerts();
    const bySeverity: Record<string, number> = { low: 0, medium: 0, high: 0, critical: 0 };
    for (const a of alerts) {
      const level = LEVEL_OF[String(a.severity)];
      if (level) bySeverity[level] = (bySeverity[level] ?? 0) + 1;
    }
    ctx.send(
      session,
      envelope('initial_state', {
        system_status: status ? this.systemStatus(status) : null,
        metrics_summary: this.metricsData(false),
        alert_stats: {
          total_active: alerts.length,
          firing: alerts.filter((a) => a.status === 'firing').length,
          pending: alerts.filter((a) => a.status === 'pending').length,
          acknowledged: alerts.filter((a) => a.acknowledged_at !== undefined).length,
          by_severity: bySeverity,
        },
        active_tasks: this.host.activeTasks().map(taskData),
      }),
    );
    await ctx.subscribe(session, ['system.status', 'tasks', 'alerts']);
  }

  message(session: DialectSession, message: unknown, ctx: DialectContext): void {
    if (!isRecord(message)) throw new VigilError('bad_request', 'A message is a JSON object: {"type": "..."}');
    const f = filterOf(session);
    switch (message.type) {
      case 'ping':
        ctx.send(session, envelope('pong', { client_id: `client-${session.id}` }));
        return;
      case 'unsubscribe':
        f.muted = true;
        return;
      case 'subscribe': {
        const next = this.parseFilter(message.filter);
        Object.assign(f, next);
        return;
      }
      default:
        throw new VigilError(
          typeof message.type === 'string' ? 'unknown_command' : 'bad_request',
          typeof message.type === 'string'
            ? `Unknown message type: ${message.type.slice(0, 100)}`
            : 'A message needs a string `type`',
        );
    }
  }

  private parseFilter(raw: unknown): Filter {
    const out: Filter = { muted: false, types: undefined, taskIds: undefined, minRank: 0 };
    if (raw === undefined || raw === null) return out;
    if (!isRecord(raw)) throw new VigilError('bad_request', 'filter must be an object');
    for (const key of Object.keys(raw)) {
      if (key !== 'types' && key !== 'task_ids' && key !== 'alert_level') {
        throw new VigilError('bad_request', `filter: unknown field '${key.slice(0, 50)}'`);
      }
    }
    if (raw.types !== undefined) {
      const types = raw.types;
      if (!Array.isArray(types) || types.length > MAX_TYPES || !types.every((t) => typeof t === 'string')) {
        throw new VigilError('bad_request', `filter.types must be a list of at most ${MAX_TYPES} strings`);
      }
      const unknown = types.find((t) => t !== 'all' && !(TYPES as readonly string[]).includes(t));
      if (unknown !== undefined) {
        throw new VigilError('bad_request', `filter.types: unknown type '${String(unknown).slice(0, 50)}'`, {
          allowed: ['all', ...TYPES],
        });
      }
      out.types = new Set(types as string[]);
    }
    if (raw.task_ids !== undefined) {
      const ids = raw.task_ids;
      const max = this.config.maxTaskIds;
      if (
        !Array.isArray(ids) ||
        ids.length > max ||
        !ids.every((t) => typeof t === 'string' && t.length > 0 && t.length <= 200)
      ) {
        throw new VigilError('bad_request', `filter.task_ids must be a list of at most ${max} ids`, { limit: max });
      }
      out.taskIds = new Set(ids as string[]);
    }
    if (raw.alert_level !== undefined) {
      const level = raw.alert_level;
      if (typeof level !== 'string' || RANK[level] === undefined) {
        throw new VigilError('bad_request', 'filter.alert_level must be low, medium, high or critical');
      }
      out.minRank = RANK[level];
    }
    return out;
  }

  error(_session: DialectSession, code: ErrorCode, message: string): unknown {
    return envelope('error', { code, message });
  }

  start(ctx: DialectContext): void {
    this.timer = setInterval(() => {
      const message = envelope('metrics_update', this.metricsData(true));
      for (const session of ctx.sessions()) {
        const f = filterOf(session);
        if (session.closed || f.muted) continue;
        if (f.types && !f.types.has('metrics_update') && !f.types.has('all')) continue;
        ctx.send(session, message);
      }
    }, this.config.statusIntervalMs).unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  routes(app: FastifyInstance): void {
    app.get(this.config.dashboardPath, { config: access('public'), schema: { hide: true } }, (_req, reply) =>
      reply.redirect('/', 302),
    );
  }
}
