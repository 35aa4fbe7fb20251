/**
 * @module streams
 * The streams dialect: `/api/ws/ws` pushes the system metrics (each `system.status`, every 5 s by default, and the
 * latest one on connect); `/api/ws/ws/alerts` pushes alerts as they change, with a `heartbeat` between them;
 * `POST /api/ws/broadcast/alert` raises an alert every alert client receives; `GET /api/metrics/current` and
 * `GET /api/metrics/<metric_name>` serve clients that poll instead. See docs/dialects.md.
 */
import { type Static, Type } from '@sinclair/typebox';
import type { ErrorCode } from '@vigil/protocol';
import { VigilError } from '@vigil/protocol';
import type { FastifyInstance } from 'fastify';
import type { Alert, ExternalAlertInput } from '../alerts/types.js';
import { access } from '../auth/route-access.js';
import type { StoredEvent } from '../broker/broker.js';
import type { DialectsConfig } from './config.js';
import { type Dialect, type DialectContext, isRecord, rfc3339 } from './dialect.js';
import type { DialectSession } from './session.js';

/** Short metric names of the clients, and the Vigil series they read. */
export const METRIC_ALIASES: Readonly<Record<string, { metric: string; labels?: Record<string, string> }>> = {
  cpu: { metric: 'system.cpu.usage', labels: { cpu: 'total' } },
  memory: { metric: 'system.memory.used_percent' },
  disk: { metric: 'system.disk.used_percent' },
  network_in: { metric: 'system.net.rx_bytes_per_s' },
  network_out: { metric: 'system.net.tx_bytes_per_s' },
  load: { metric: 'system.load.1m' },
};

export interface StreamsHost {
  status(): Record<string, unknown> | undefined;
  /** Raises on the engine that leads the cluster. */
  raiseExternal(input: ExternalAlertInput): Promise<Alert>;
  call(method: string, params?: unknown): Promise<unknown>;
}

const BroadcastBody = Type.Object(
  {
    title: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    message: Type.String({ minLength: 1, maxLength: 4096 }),
    severity: Type.Optional(
      Type.Union([Type.Literal('info'), Type.Literal('warning'), Type.Literal('error'), Type.Literal('critical')]),
    ),
    labels: Type.Optional(Type.Record(Type.String({ maxLength: 128 }), Type.String({ maxLength: 1024 }))),
  },
  { additionalProperties: false },
);
const HistoryQuery = Type.Object({
  minutes: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_080, default: 60 })),
});

/** The metrics message of one `system.status`. */
export function metricsOf(d: Record<string, unknown>, ts: number) {
  const cpu = isRecord(d.cpu) ? d.cpu : {};
  const memory = isRecord(d.memory) ? d.memory : {};
  const network = isRecord(d.network) ? d.network : {};
  const disks = Array.isArray(d.disk) ? (d.disk as Record<string, unknown>[]) : [];
  const root = disks.find((x) => x.mount === '/') ?? disks[0];
  return {
    type: 'metrics',
    timestamp: rfc3339(ts),
    cpu_percent: cpu.usage_percent ?? null,
    load_1m: cpu.load_1m ?? null,
    memory_percent: memory.used_percent ?? null,
    memory_used_bytes: memory.used_bytes ?? null,
    memory_total_bytes: memory.total_bytes ?? null,
    disk_percent: root?.used_percent ?? null,
    disks: disks.map((x) => ({ mount: x.mount, percent: x.used_percent })),
    network_rx_bytes_per_s: network.rx_bytes_per_s ?? null,
    network_tx_bytes_per_s: network.tx_bytes_per_s ?? null,
  };
}

function alertOf(a: Record<string, unknown>) {
  const annotations = isRecord(a.annotations) ? a.annotations : {};
  const text = annotations.summary ?? annotations.description;
  return {
    id: a.id,
    name: a.rule,
    severity: a.severity,
    status: a.status,
    message: typeof text === 'string' ? text : `${String(a.rule)} is ${String(a.status)}`,
    value: a.value,
    threshold: a.threshold,
    labels: a.labels,
    starts_at: rfc3339(a.starts_at),
  };
}

export class StreamsDialect implements Dialect {
  readonly name = 'streams';
  readonly paths: readonly string[];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly config: DialectsConfig['streams'],
    private readonly host: StreamsHost,
  ) {
    this.paths = [config.path, config.alertsPath];
  }

  translate(event: StoredEvent): unknown {
    if (!isRecord(event.data)) return undefined;
    if (event.channel === 'system.status' && event.kind === 'system_status') return metricsOf(event.data, event.ts);
    if (event.channel === 'alerts' && event.kind === 'alert') {
      return { type: 'alert', timestamp: rfc3339(event.ts), data: alertOf(event.data) };
    }
    return undefined;
  }

  urgent(event: StoredEvent): boolean {
    return event.channel === 'alerts' && isRecord(event.data) && event.data.severity === 'critical';
  }

  async open(session: DialectSession, ctx: DialectContext, url: URL): Promise<void> {
    const alerts = url.pathname === this.config.alertsPath;
    session.state = { alerts };
    if (alerts) {
      ctx.send(session, { type: 'connected', stream: 'alerts', timestamp: rfc3339(Date.now()) });
      await ctx.subscribe(session, ['alerts']);
      return;
    }
    const status = this.host.status();
    if (status) ctx.send(session, metricsOf(status, Number(status.ts ?? Date.now())));
    await ctx.subscribe(session, ['system.status']);
  }

  message(session: DialectSession, message: unknown, ctx: DialectContext): void {
    // The streams are one-way; a client may still ping.
    if (isRecord(message) && message.type === 'ping') {
      ctx.send(session, { type: 'pong', timestamp: rfc3339(Date.now()) });
      return;
    }
    if (message === 'ping') {
      ctx.send(session, { type: 'pong', timestamp: rfc3339(Date.now()) });
      return;
    }
    throw new VigilError('unknown_command', 'These streams take no messages but {"type": "ping"}');
  }

  error(_session: DialectSession, code: ErrorCode, message: string): unknown {
    return { type: 'error', code, message, timestamp: rfc3339(Date.now()) };
  }

  start(ctx: DialectContext): void {
    this.timer = setInterval(() => {
      const beat = { type: 'heartbeat', timestamp: rfc3339(Date.now()) };
      for (const s of ctx.sessions()) if ((s.state as { alerts?: boolean }).alerts && !s.closed) ctx.send(s, beat);
    }, this.config.heartbeatIntervalMs).unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  routes(app: FastifyInstance): void {
    const c = this.config;
    const tags = ['dialects'];
    app.post<{ Body: Static<typeof BroadcastBody> }>(
      c.broadcastPath,
      {
        config: access('publish', ['alerts']),
        schema: { summary: 'streams dialect: an alert to every alert client', tags, body: BroadcastBody },
      },
      async (req, reply) => {
        const b = req.body;
        const input: ExternalAlertInput = {
          name: (b.title ?? 'broadcast').replace(/[^A-Za-z0-9_:.-]/g, '_'),
          status: 'firing',
          severity: b.severity ?? 'warning',
          labels: b.labels ?? {},
          annotations: { summary: b.message },
        };
        const alert = await this.host.raiseExternal(input);
        reply.code(202);
        return { status: 'broadcast', alert_id: alert.id };
      },
    );
    app.get(
      `${c.metricsPrefix}/current`,
      {
        config: access('read', ['metrics.>', 'system.status']),
        schema: { summary: 'streams dialect: the latest system metrics', tags },
      },
      () => {
        const status = this.host.status();
        if (status === undefined) throw new VigilError('unavailable', 'No system metrics yet; retry in a few seconds');
        return metricsOf(status, Number(status.ts ?? Date.now()));
      },
    );
    app.get<{ Params: { metric_name: string }; Querystring: Static<typeof HistoryQuery> }>(
      `${c.metricsPrefix}/:metric_name`,
      {
        config: access('read', ['metrics.>']),
        schema: {
          summary:
            'streams dialect: the history of a metric (cpu, memory, disk, network_in, network_out, load, or a metric name)',
          tags,
          params: Type.Object({ metric_name: Type.String({ minLength: 1, maxLength: 255 }) }),
          querystring: HistoryQuery,
        },
      },
      async (req) => {
        const name = req.params.metric_name;
        const alias = Object.hasOwn(METRIC_ALIASES, name) ? METRIC_ALIASES[name] : undefined;
        const minutes = req.query.minutes ?? 60;
        const params: Record<string, unknown> = { metric: alias?.metric ?? name, from: `now-${minutes}m` };
        if (alias?.labels) params.labels = alias.labels;
        const result = (await this.host.call('metrics.query', params)) as {
          step: number;
          series: { labels: Record<string, string>; points: [number, number][] }[];
        };
        if (result.series.length === 0) throw new VigilError('not_found', `No metric '${name.slice(0, 255)}'`);
        return {
          metric_name: name,
          metric: alias?.metric ?? name,
          minutes,
          step_s: result.step / 1000,
          labels: result.series[0]!.labels,
          data: result.series[0]!.points.map(([t, v]) => ({ timestamp: rfc3339(t), value: v })),
          series: result.series.length,
        };
      },
    );
  }
}
