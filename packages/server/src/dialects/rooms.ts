/**
 * @module rooms
 * The rooms dialect: clients connect to `/api/ws/connect?token=`, get `connection_established`, then
 * `{type: "subscribe" | "unsubscribe", rooms}` joins and leaves rooms, each a Vigil channel; every message carries
 * its `room`, a `priority` and a `timestamp`; `ping` answers `pong`. Its HTTP management routes live under
 * `/api/ws/` (streams, metrics history, statistics and summary, stats) and `POST /api/ws/send` sends a personal
 * message to one connection or to every connection of one identity. See docs/dialects.md.
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

interface Room {
  channel: string;
  type: string;
  description: string;
}

/** The rooms and the Vigil channel each one is. */
export const ROOMS: Readonly<Record<string, Room>> = {
  nodes: {
    channel: 'nodes',
    type: 'node_status_update',
    description: 'Node status: host status changes and summaries',
  },
  tasks: { channel: 'tasks', type: 'task_progress_update', description: 'Task progress' },
  metrics: { channel: 'system.status', type: 'metrics_update', description: 'System health metrics' },
  alerts: { channel: 'alerts', type: 'alert', description: 'Real-time alerts' },
  resources: { channel: 'resources', type: 'resource_update', description: 'Resource utilization' },
  topology: { channel: 'topology', type: 'topology_update', description: 'Network topology' },
};
const ROOM_OF_CHANNEL = new Map(Object.entries(ROOMS).map(([name, r]) => [r.channel, name]));
const MAX_PERSONAL_BYTES = 65_536;

export interface RoomsHost {
  call(method: string, params?: unknown): Promise<unknown>;
  /** The kind and metric of an alert rule, if it is one. */
  rule(name: string): { kind: string; metric: string } | undefined;
  /** The newest offset of a channel (0 when nothing was published there yet). */
  offset(channel: string): Promise<number>;
  /** Window statistics of a metric over `windowMs`, all its series together. */
  stats(metric: string, windowMs: number): Promise<Record<string, unknown> | undefined>;
}

interface State {
  user: string | undefined;
}

function priorityOf(event: StoredEvent): string {
  const d = isRecord(event.data) ? event.data : {};
  if (event.channel === 'alerts') {
    const s = d.severity;
    return s === 'critical' ? 'critical' : s === 'error' ? 'high' : s === 'warning' ? 'normal' : 'low';
  }
  if (event.channel === 'nodes' && event.kind === 'host_status') {
    const host = isRecord(d.host) ? d.host : {};
    return host.status === 'down' ? 'high' : 'normal';
  }
  return 'normal';
}

const HistoryQuery = Type.Object({
  metric: Type.String({ minLength: 1, maxLength: 255 }),
  hours: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 168, default: 1 })),
});
const StatisticsQuery = Type.Object({
  metric: Type.String({ minLength: 1, maxLength: 255 }),
  window: Type.Optional(Type.Union([Type.Literal('1m'), Type.Literal('5m'), Type.Literal('1h')], { default: '5m' })),
});
const WINDOWS: Record<string, number> = { '1m': 60_000, '5m': 300_000, '1h': 3_600_000 };
const PersonalBody = Type.Object(
  {
    connection_id: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
    user_id: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
    message: Type.Object({ type: Type.String({ minLength: 1, maxLength: 64 }) }, { additionalProperties: true }),
  },
  { additionalProperties: false },
);

export class RoomsDialect implements Dialect {
  readonly name = 'rooms';
  readonly paths: readonly string[];
  private ctx: DialectContext | undefined;
  /** Sessions ever opened and room messages written, for `stats`. */
  private opened = 0;

  constructor(
    private readonly config: DialectsConfig['rooms'],
    private readonly host: RoomsHost,
  ) {
    this.paths = [config.path];
  }

  translate(event: StoredEvent): unknown {
    const room = ROOM_OF_CHANNEL.get(event.channel);
    if (room === undefined) return undefined;
    const r = ROOMS[room]!;
    let data = event.data;
    if (room === 'alerts') {
      if (!isRecord(data)) return undefined;
      const rule = typeof data.rule === 'string' ? this.host.rule(data.rule) : undefined;
      const kind = data.source === 'external' ? 'external' : rule?.kind;
      data = {
        type:
          kind === 'anomaly'
            ? 'anomaly_detected'
            : kind === 'absence'
              ? 'absence'
              : kind === 'external'
                ? 'external'
                : 'threshold_exceeded',
        metric: rule?.metric ?? null,
        value: data.value,
        threshold: data.threshold,
        severity: data.severity,
        id: data.id,
        rule: data.rule,
        status: data.status,
        labels: data.labels,
      };
    }
    return { type: r.type, room, data, priority: priorityOf(event), timestamp: rfc3339(event.ts) };
  }

  urgent(event: StoredEvent): boolean {
    return priorityOf(event) === 'critical';
  }

  open(session: DialectSession, ctx: DialectContext, url: URL): void {
    this.opened++;
    const user = session.principal?.name ?? url.searchParams.get('user_id')?.slice(0, 256) ?? undefined;
    session.state = { user } satisfies State as unknown as Record<string, unknown>;
    ctx.send(session, { type: 'connection_established', connection_id: session.id, timestamp: rfc3339(Date.now()) });
  }

  private rooms(value: unknown): string[] {
    if (
      !Array.isArray(value) ||
      value.length === 0 ||
      value.length > 16 ||
      !value.every((r) => typeof r === 'string')
    ) {
      throw new VigilError('bad_request', 'rooms must be a list of 1 to 16 room names');
    }
    const unknown = value.find((r) => !Object.hasOwn(ROOMS, r));
    if (unknown !== undefined) {
      throw new VigilError('bad_request', `Unknown room '${String(unknown).slice(0, 64)}'`, {
        rooms: Object.keys(ROOMS),
      });
    }
    return [...new Set(value as string[])];
  }

  async message(session: DialectSession, message: unknown, ctx: DialectContext): Promise<void> {
    if (!isRecord(message) || typeof message.type !== 'string') {
      throw new VigilError('bad_request', 'A message is a JSON object with a string `type`');
    }
    switch (message.type) {
      case 'ping':
        ctx.send(session, { type: 'pong', timestamp: rfc3339(Date.now()) });
        return;
      case 'pong':
        return;
      case 'subscribe': {
        const rooms = this.rooms(message.rooms);
        await ctx.subscribe(
          session,
          rooms.map((r) => ROOMS[r]!.channel),
        );
        return;
      }
      case 'unsubscribe': {
        const rooms = this.rooms(message.rooms);
        ctx.unsubscribe(
          session,
          rooms.map((r) => ROOMS[r]!.channel),
        );
        return;
      }
      default:
        throw new VigilError('unknown_command', `Unknown message type: ${message.type.slice(0, 100)}`);
    }
  }

  error(_session: DialectSession, code: ErrorCode, message: string): unknown {
    return { type: 'error', code, message, timestamp: rfc3339(Date.now()) };
  }

  start(ctx: DialectContext): void {
    this.ctx = ctx;
  }

  private roomCounts(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const name of Object.keys(ROOMS)) out[name] = 0;
    for (const s of this.ctx?.sessions() ?? []) {
      for (const channel of s.subs.keys()) {
        const room = ROOM_OF_CHANNEL.get(channel);
        if (room) out[room] = (out[room] ?? 0) + 1;
      }
    }
    return out;
  }

  routes(app: FastifyInstance): void {
    const p = this.config.httpPrefix;
    const tags = ['dialects'];
    app.get(
      `${p}/streams`,
      { config: access('read', 'none'), schema: { summary: 'rooms dialect: the rooms', tags } },
      () => {
        const counts = this.roomCounts();
        return {
          streams: Object.entries(ROOMS).map(([name, r]) => ({
            name,
            description: r.description,
            message_type: r.type,
            channel: r.channel,
            subscribers: counts[name] ?? 0,
          })),
        };
      },
    );
    app.get<{ Querystring: Static<typeof HistoryQuery> }>(
      `${p}/metrics/history`,
      {
        config: access('read', ['metrics.>']),
        schema: { summary: 'rooms dialect: a metric over the last hours', tags, querystring: HistoryQuery },
      },
      async (req) => {
        const hours = req.query.hours ?? 1;
        const result = (await this.host.call('metrics.query', {
          metric: req.query.metric,
          from: `now-${Math.round(hours * 3600)}s`,
        })) as { step: number; series: { labels: Record<string, string>; points: [number, number][] }[] };
        if (result.series.length === 0) throw new VigilError('not_found', `No metric '${req.query.metric}'`);
        return {
          metric: req.query.metric,
          hours,
          step_s: result.step / 1000,
          series: result.series.map((s) => ({
            labels: s.labels,
            points: s.points.map(([t, v]) => ({ timestamp: rfc3339(t), value: v })),
          })),
        };
      },
    );
    app.get<{ Querystring: Static<typeof StatisticsQuery> }>(
      `${p}/metrics/statistics`,
      {
        config: access('read', ['metrics.>']),
        schema: { summary: 'rooms dialect: statistics of a metric over a window', tags, querystring: StatisticsQuery },
      },
      async (req) => {
        const window = req.query.window ?? '5m';
        const stats = await this.host.stats(req.query.metric, WINDOWS[window]!);
        if (stats === undefined) throw new VigilError('not_found', `No metric '${req.query.metric}'`);
        return { metric: req.query.metric, window, ...stats };
      },
    );
    app.get(
      `${p}/metrics/summary`,
      { config: access('read', ['metrics.>']), schema: { summary: 'rooms dialect: every metric in brief', tags } },
      async () => {
        const { metrics } = (await this.host.call('metrics.summary')) as { metrics: Record<string, unknown>[] };
        const out: Record<string, unknown> = {};
        for (const m of metrics) {
          const { metric, ...rest } = m;
          out[String(metric)] = rest;
        }
        return { metrics: out };
      },
    );
    app.get(
      `${p}/stats`,
      { config: access('read', 'none'), schema: { summary: 'rooms dialect: WebSocket statistics', tags } },
      async () => {
        const sessions = [...(this.ctx?.sessions() ?? [])];
        const offsets = await Promise.all(Object.values(ROOMS).map((r) => this.host.offset(r.channel)));
        return {
          total_connections: this.opened,
          active_connections: sessions.length,
          total_messages: sessions.reduce((n, s) => n + s.messagesOut, 0),
          rooms_created: Object.keys(ROOMS).length,
          rooms: this.roomCounts(),
          publishers_active: offsets.filter((o) => o > 0).length,
        };
      },
    );
    for (const action of ['subscribe', 'unsubscribe'] as const) {
      app.post(
        `${p}/${action}`,
        { config: access('authenticated'), schema: { summary: `rooms dialect: how to ${action} (info)`, tags } },
        () => ({
          info: `Send {"type": "${action}", "rooms": [...]} over the WebSocket at ${this.config.path}`,
          available_rooms: Object.keys(ROOMS),
        }),
      );
    }
    app.post<{ Body: Static<typeof PersonalBody> }>(
      `${p}/send`,
      {
        config: access('admin', ['>']),
        schema: {
          summary: 'rooms dialect: a personal message to one connection or identity',
          tags,
          body: PersonalBody,
        },
      },
      (req) => {
        const { connection_id: id, user_id: user, message } = req.body;
        if ((id === undefined) === (user === undefined)) {
          throw new VigilError('bad_request', 'Name exactly one of connection_id and user_id');
        }
        if (Buffer.byteLength(JSON.stringify(message)) > MAX_PERSONAL_BYTES) {
          throw new VigilError('payload_too_large', `A personal message is at most ${MAX_PERSONAL_BYTES} bytes`);
        }
        let delivered = 0;
        for (const s of this.ctx?.sessions() ?? []) {
          const mine = id !== undefined ? s.id === id : (s.state as unknown as State).user === user;
          if (!mine || s.closed) continue;
          this.ctx!.send(s, message);
          delivered++;
        }
        if (delivered === 0) throw new VigilError('not_found', 'No such connection');
        return { delivered };
      },
    );
  }
}
