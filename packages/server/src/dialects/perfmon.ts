/**
 * @module perfmon
 * The perfmon dialect: clients of a performance monitor that receive `initial_state` on connect, `metric_update` and
 * `alert` pushed with no subscription, and send `{command}` messages (`get_summary`, `get_alerts`,
 * `acknowledge_alert` by `rule_name`), with `{type: "error", message}` for anything else. Its HTTP routes answer the
 * same summary and alert list, and a listing of the latest metric values. See docs/dialects.md.
 */
import { type Static, Type } from '@sinclair/typebox';
import type { ErrorCode } from '@vigil/protocol';
import { VigilError } from '@vigil/protocol';
import type { FastifyInstance } from 'fastify';
import { access } from '../auth/route-access.js';
import type { StoredEvent } from '../broker/broker.js';
import type { DialectsConfig } from './config.js';
import { type Dialect, type DialectContext, isRecord, rfc3339 } from './dialect.js';
import type { DialectSession } from './session.js';

/** What the perfmon dialect reads from the hub. */
export interface PerfmonHost {
  call(method: string, params?: unknown): Promise<unknown>;
  /** Active alerts (pending and firing) and rules. */
  activeAlertCount(): number;
  ruleCount(): number;
  /** Samples the metric store holds. */
  sampleCount(): Promise<number>;
  /** Latest value of every series. */
  current(): { metric: string; labels: Record<string, string>; ts: number; value: number }[];
}

interface AlertData {
  rule: string;
  status: string;
  severity: string;
  value: number | null;
  threshold: number | string | null;
  starts_at: number;
  updated_at: number;
  acknowledged_at?: number;
}

interface SummaryRow {
  metric: string;
  count: number;
  avg: number | null;
  min: number | null;
  max: number | null;
  trend: number | null;
}

/** The `alert` data of a Vigil alert. */
function alertData(a: AlertData) {
  return {
    name: a.rule,
    severity: a.severity,
    value: a.value,
    threshold: a.threshold,
    triggered_at: rfc3339(a.starts_at),
  };
}

const SummaryEntry = Type.Object({
  count: Type.Integer(),
  avg: Type.Union([Type.Number(), Type.Null()]),
  min: Type.Union([Type.Number(), Type.Null()]),
  max: Type.Union([Type.Number(), Type.Null()]),
  trend: Type.Union([Type.Number(), Type.Null()]),
});
const SummaryReply = Type.Record(Type.String(), SummaryEntry, {
  description: 'Per metric, its samples of the last 5 minutes.',
});
const AlertEntry = Type.Object({
  name: Type.String(),
  severity: Type.String(),
  value: Type.Union([Type.Number(), Type.Null()]),
  threshold: Type.Union([Type.Number(), Type.String(), Type.Null()]),
  triggered_at: Type.Union([Type.String(), Type.Null()]),
  acknowledged: Type.Boolean(),
});
const MetricEntry = Type.Object({
  metric: Type.String(),
  value: Type.Union([Type.Number(), Type.Null()]),
  timestamp: Type.Union([Type.String(), Type.Null()]),
  tags: Type.Record(Type.String(), Type.String()),
});
const MetricsQuery = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000, default: 10_000 })),
});

export class PerfmonDialect implements Dialect {
  readonly name = 'perfmon';
  readonly paths: readonly string[];

  constructor(
    private readonly config: DialectsConfig['perfmon'],
    private readonly host: PerfmonHost,
  ) {
    this.paths = [config.path];
  }

  translate(event: StoredEvent): unknown {
    const d = event.data;
    if (!isRecord(d)) return undefined;
    if (event.kind === 'metric_update' && event.channel.startsWith('metrics.')) {
      return {
        type: 'metric_update',
        data: { timestamp: rfc3339(d.ts), metric: d.metric, value: d.value, tags: d.labels ?? {} },
      };
    }
    if (event.kind === 'alert' && event.channel === 'alerts') {
      const a = d as unknown as AlertData;
      // Triggered: every change of a firing alert but its acknowledgement (which is not a new trigger).
      if (a.status !== 'firing') return undefined;
      if (a.acknowledged_at !== undefined && a.acknowledged_at === a.updated_at) return undefined;
      return { type: 'alert', data: alertData(a) };
    }
    return undefined;
  }

  urgent(event: StoredEvent): boolean {
    return event.channel === 'alerts' && isRecord(event.data) && event.data.severity === 'critical';
  }

  async open(session: DialectSession, ctx: DialectContext): Promise<void> {
    ctx.send(session, { type: 'initial_state', data: await this.initialState() });
    await ctx.subscribe(session, ['metrics.>', 'alerts']);
  }

  private async initialState() {
    return {
      monitoring_active: true,
      sample_count: await this.host.sampleCount(),
      active_alerts: this.host.activeAlertCount(),
      alert_rules: this.host.ruleCount(),
    };
  }

  async message(session: DialectSession, message: unknown, ctx: DialectContext): Promise<void> {
    if (!isRecord(message)) throw new VigilError('bad_request', 'A command is a JSON object: {"command": "..."}');
    const command = message.command;
    if (typeof command !== 'string') throw new VigilError('bad_request', 'Missing command');
    switch (command) {
      case 'get_summary':
        ctx.send(session, { type: 'summary', data: await this.summary((m, p) => ctx.call(session, m, p)) });
        return;
      case 'get_alerts':
        ctx.send(session, { type: 'alerts', data: await this.alerts((m, p) => ctx.call(session, m, p)) });
        return;
      case 'acknowledge_alert': {
        const rule = message.rule_name;
        if (typeof rule !== 'string' || rule.length === 0 || rule.length > 255) {
          throw new VigilError('bad_request', 'acknowledge_alert needs rule_name, a string of 1 to 255 characters');
        }
        const by = session.principal?.name ?? 'perfmon';
        const result = (await ctx.call(session, 'alerts.ack', { rule, by })) as { alerts: AlertData[] };
        ctx.send(session, {
          type: 'alert_acknowledged',
          data: { rule_name: rule, acknowledged: result.alerts.length },
        });
        return;
      }
      default:
        throw new VigilError('unknown_command', `Unknown command: ${command.slice(0, 100)}`);
    }
  }

  error(_session: DialectSession, code: ErrorCode, message: string): unknown {
    return { type: 'error', message, code };
  }

  private async summary(call: (m: string, p?: unknown) => Promise<unknown>) {
    const { metrics } = (await call('metrics.summary')) as { metrics: SummaryRow[] };
    const out: Record<string, Static<typeof SummaryEntry>> = {};
    for (const m of metrics) out[m.metric] = { count: m.count, avg: m.avg, min: m.min, max: m.max, trend: m.trend };
    return out;
  }

  private async alerts(call: (m: string, p?: unknown) => Promise<unknown>) {
    const { alerts } = (await call('alerts.list')) as { alerts: AlertData[] };
    return alerts
      .filter((a) => a.status === 'firing')
      .map((a) => ({ ...alertData(a), acknowledged: a.acknowledged_at !== undefined }));
  }

  routes(app: FastifyInstance): void {
    const c = this.config;
    const call = (m: string, p?: unknown) => this.host.call(m, p);
    app.get(
      c.summaryPath,
      {
        config: access('read', ['metrics.>']),
        schema: { summary: 'perfmon dialect: metric summary', tags: ['dialects'], response: { 200: SummaryReply } },
      },
      () => this.summary(call),
    );
    app.get(
      c.alertsPath,
      {
        config: access('read', ['alerts']),
        schema: {
          summary: 'perfmon dialect: firing alerts',
          tags: ['dialects'],
          response: { 200: Type.Array(AlertEntry) },
        },
      },
      () => this.alerts(call),
    );
    app.get<{ Querystring: Static<typeof MetricsQuery> }>(
      c.metricsPath,
      {
        config: access('read', ['metrics.>']),
        schema: {
          summary: 'perfmon dialect: latest value of each series',
          tags: ['dialects'],
          querystring: MetricsQuery,
          response: { 200: Type.Array(MetricEntry) },
        },
      },
      (req) =>
        this.host
          .current()
          .slice(0, req.query.limit ?? 10_000)
          .map((v) => ({
            metric: v.metric,
            value: Number.isFinite(v.value) ? v.value : null,
            timestamp: rfc3339(v.ts),
            tags: v.labels,
          })),
    );
  }
}
