/**
 * @module incident
 * The incident dialect: clients of an incident manager that receive `welcome`, then `event` frames with the payload
 * under `event` (`{id, event_type, timestamp, priority, payload}`), `pong`, `error` and `closing`; they send
 * `subscribe` (with filters by event type, priority P0–P4, state, source, resource, labels and incident id),
 * `unsubscribe`, `ping` and `ack`. Until a client subscribes, it receives every event. Sessions that send nothing for
 * `dialects.incident.session_timeout` are closed. `POST /v1/alerts` takes alerts in, `GET /v1/incidents` lists the
 * incidents. See docs/dialects.md.
 */
import { type Static, Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { compileFilter, type ErrorCode, type EventPredicate, type Filter, VigilError } from '@vigil/protocol';
import type { FastifyInstance } from 'fastify';
import type { Alert, ExternalAlertInput } from '../alerts/types.js';
import { access } from '../auth/route-access.js';
import type { StoredEvent } from '../broker/broker.js';
import type { DialectsConfig } from './config.js';
import { type Dialect, type DialectContext, isRecord, rfc3339 } from './dialect.js';
import type { DialectSession } from './session.js';

/** Close code of a session closed for idling past `session_timeout`. */
export const SESSION_TIMEOUT_CLOSE = 4000;

const PriorityName = Type.Union([
  Type.Literal('P0'),
  Type.Literal('P1'),
  Type.Literal('P2'),
  Type.Literal('P3'),
  Type.Literal('P4'),
]);
const Strings = (max: number) => Type.Array(Type.String({ minLength: 1, maxLength: 256 }), { maxItems: max });

export const IncidentFilters = Type.Object(
  {
    event_types: Type.Optional(Strings(64)),
    severities: Type.Optional(Type.Array(PriorityName, { maxItems: 5 })),
    states: Type.Optional(Strings(64)),
    sources: Type.Optional(Strings(256)),
    resources: Type.Optional(Strings(256)),
    labels: Type.Optional(Type.Record(Type.String({ maxLength: 256 }), Type.String({ maxLength: 1024 }))),
    incident_ids: Type.Optional(Strings(10_000)),
  },
  { additionalProperties: false },
);

const SubscribeMessage = Type.Object(
  {
    type: Type.Literal('subscribe'),
    subscription_id: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
    filters: Type.Optional(IncidentFilters),
  },
  { additionalProperties: false },
);

/** The event types this dialect sends, by Vigil channel and kind. */
const INCIDENT_KINDS = new Set([
  'incident_created',
  'incident_updated',
  'incident_resolved',
  'incident_escalated',
  'incident_assigned',
  'incident_commented',
  'notification_sent',
  'notification_failed',
]);

interface Sub {
  id: string;
  filters: Static<typeof IncidentFilters>;
  types: Set<string> | undefined;
  keep: EventPredicate | undefined;
}

interface State {
  /** Whether the client has subscribed at least once (until then it receives every event). */
  explicit: boolean;
  subs: Map<string, Sub>;
  acked: number;
  lastAck: string | null;
  next: number;
}

function stateOf(session: DialectSession): State {
  return session.state as unknown as State;
}

/** The dialect's event type of a hub event, or undefined when it sends none for it. */
export function eventTypeOf(event: StoredEvent): string | undefined {
  if (event.channel === 'incidents' && INCIDENT_KINDS.has(event.kind)) return event.kind;
  if (event.channel === 'alerts' && event.kind === 'alert' && isRecord(event.data)) {
    return event.data.status === 'resolved' ? 'alert_resolved' : 'alert_received';
  }
  return undefined;
}

/** Delivery priority of an event: critical (P0, P1, critical alerts), high, normal, low. */
export function deliveryPriority(event: StoredEvent): 'critical' | 'high' | 'normal' | 'low' {
  const d = isRecord(event.data) ? event.data : {};
  if (event.channel === 'incidents') {
    if (event.kind === 'notification_failed') return 'high';
    if (event.kind === 'notification_sent') return 'normal';
    const p = d.priority;
    return p === 'P0' || p === 'P1' ? 'critical' : p === 'P2' ? 'high' : p === 'P3' ? 'normal' : 'low';
  }
  const s = d.severity;
  return s === 'critical' ? 'critical' : s === 'error' ? 'high' : s === 'warning' ? 'normal' : 'low';
}

/** Priority names of the clients' alerts (P0..P4, or words) as Vigil severities. */
const SEVERITY_OF: Record<string, Alert['severity']> = {
  P0: 'critical',
  P1: 'critical',
  P2: 'error',
  P3: 'warning',
  P4: 'info',
  critical: 'critical',
  high: 'error',
  error: 'error',
  medium: 'warning',
  warning: 'warning',
  low: 'info',
  info: 'info',
};

const AlertBody = Type.Object(
  {
    title: Type.String({ minLength: 1, maxLength: 200 }),
    description: Type.Optional(Type.String({ maxLength: 4096 })),
    source: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
    severity: Type.Optional(
      Type.Union(
        Object.keys(SEVERITY_OF).map((k) => Type.Literal(k)),
        {
          description: 'P0–P4, or critical, high, medium, low, info.',
        },
      ),
    ),
    resource: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
    labels: Type.Optional(Type.Record(Type.String({ maxLength: 128 }), Type.String({ maxLength: 1024 }))),
    status: Type.Optional(Type.Union([Type.Literal('firing'), Type.Literal('resolved')])),
  },
  { additionalProperties: false },
);

const IncidentsQuery = Type.Object({
  state: Type.Optional(Type.Union([Type.Literal('open'), Type.Literal('acknowledged'), Type.Literal('resolved')])),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
});

export interface IncidentHost {
  /** Raises on the engine that leads the cluster. */
  raiseExternal(input: ExternalAlertInput): Promise<Alert>;
  incidents(opts: { status?: 'open' | 'acknowledged' | 'resolved'; limit?: number }): Promise<unknown[]> | unknown[];
}

/** An alert name from a title: the characters alert names allow, others as `_`. */
function alertName(title: string): string {
  return title.replace(/[^A-Za-z0-9_:.-]/g, '_').slice(0, 200);
}

export class IncidentDialect implements Dialect {
  readonly name = 'incident';
  readonly paths: readonly string[];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly config: DialectsConfig['incident'],
    private readonly host: IncidentHost,
    /** The WebSocket ping interval, told in `welcome`. */
    private readonly heartbeatMs: number,
  ) {
    this.paths = [config.path];
  }

  translate(event: StoredEvent): unknown {
    const type = eventTypeOf(event);
    if (type === undefined) return undefined;
    return {
      type: 'event',
      event: {
        id: `${event.channel}:${event.epoch}:${event.offset}`,
        event_type: type,
        timestamp: rfc3339(event.ts),
        priority: deliveryPriority(event),
        payload: event.data,
      },
    };
  }

  wants(session: DialectSession, event: StoredEvent): boolean {
    const st = stateOf(session);
    if (!st.explicit) return true;
    const type = eventTypeOf(event);
    if (type === undefined) return false;
    for (const sub of st.subs.values()) {
      if (sub.types && !sub.types.has(type)) continue;
      if (sub.keep && !sub.keep(event)) continue;
      return true;
    }
    return false;
  }

  urgent(event: StoredEvent): boolean {
    return deliveryPriority(event) === 'critical';
  }

  async open(session: DialectSession, ctx: DialectContext): Promise<void> {
    const state: State = { explicit: false, subs: new Map(), acked: 0, lastAck: null, next: 1 };
    session.state = state as unknown as Record<string, unknown>;
    ctx.send(session, {
      type: 'welcome',
      session_id: session.id,
      server_time: rfc3339(Date.now()),
      heartbeat_interval_secs: Math.round(this.heartbeatMs / 1000),
      session_timeout_secs: Math.round(this.config.sessionTimeoutMs / 1000),
    });
    await ctx.subscribe(session, ['incidents', 'alerts']);
  }

  message(session: DialectSession, message: unknown, ctx: DialectContext): void {
    if (!isRecord(message) || typeof message.type !== 'string') {
      throw new VigilError('bad_request', 'A message is a JSON object with a string `type`');
    }
    const st = stateOf(session);
    switch (message.type) {
      case 'ping':
        ctx.send(session, { type: 'pong', timestamp: rfc3339(Date.now()) });
        return;
      case 'ack': {
        const id = message.event_id;
        if (typeof id !== 'string' || id.length === 0 || id.length > 512) {
          throw new VigilError('bad_request', 'ack needs event_id, a string of 1 to 512 characters');
        }
        st.acked++;
        st.lastAck = id;
        return;
      }
      case 'subscribe': {
        if (!Value.Check(SubscribeMessage, message)) {
          const first = Value.Errors(SubscribeMessage, message).First();
          throw new VigilError('bad_request', `subscribe: ${first?.path || '/'} ${first?.message ?? 'invalid'}`, {
            path: first?.path ?? '',
          });
        }
        const id = message.subscription_id ?? `sub-${st.next++}`;
        if (!st.subs.has(id) && st.subs.size >= this.config.maxSubscriptions) {
          throw new VigilError(
            'too_many_subscriptions',
            `At most ${this.config.maxSubscriptions} subscriptions per session`,
            { limit: this.config.maxSubscriptions },
          );
        }
        const f = message.filters ?? {};
        const filter: Filter = {};
        if (f.severities) filter.priorities = f.severities;
        if (f.states) filter.states = f.states;
        if (f.sources) filter.sources = f.sources;
        if (f.resources) filter.resources = f.resources;
        if (f.labels) filter.labels = f.labels;
        if (f.incident_ids) filter.ids = f.incident_ids;
        st.subs.set(id, {
          id,
          filters: f,
          types: f.event_types ? new Set(f.event_types) : undefined,
          keep: compileFilter(filter),
        });
        st.explicit = true;
        return;
      }
      case 'unsubscribe': {
        const id = message.subscription_id;
        if (typeof id !== 'string') throw new VigilError('bad_request', 'unsubscribe needs subscription_id');
        if (!st.subs.delete(id)) throw new VigilError('not_found', `No subscription '${id.slice(0, 128)}'`);
        return;
      }
      default:
        throw new VigilError('unknown_command', `Unknown message type: ${message.type.slice(0, 100)}`);
    }
  }

  error(_session: DialectSession, code: ErrorCode, message: string): unknown {
    return { type: 'error', code, message };
  }

  closing(_session: DialectSession, code: number, reason: string): unknown {
    return { type: 'closing', code, reason };
  }

  describe(session: DialectSession): unknown {
    const st = stateOf(session);
    return {
      subscriptions: [...st.subs.values()].map((s) => ({ subscription_id: s.id, filters: s.filters })),
      acked_events: st.acked,
      last_acked_event: st.lastAck,
    };
  }

  start(ctx: DialectContext): void {
    const timeout = this.config.sessionTimeoutMs;
    if (timeout <= 0) return;
    this.timer = setInterval(
      () => {
        const now = Date.now();
        for (const s of ctx.sessions()) {
          if (!s.closed && now - s.lastActivity >= timeout) ctx.close(s, SESSION_TIMEOUT_CLOSE, 'session timeout');
        }
      },
      Math.max(50, Math.min(10_000, timeout / 4)),
    ).unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  routes(app: FastifyInstance): void {
    app.post<{ Body: Static<typeof AlertBody> }>(
      this.config.alertsPath,
      {
        config: access('publish', ['alerts']),
        schema: { summary: 'incident dialect: submit an alert', tags: ['dialects'], body: AlertBody },
      },
      async (req, reply) => {
        const b = req.body;
        const labels: Record<string, string> = { ...(b.labels ?? {}) };
        if (b.source) labels.source = b.source;
        if (b.resource) labels.resource = b.resource;
        const annotations: Record<string, string> = { summary: b.title };
        if (b.description) annotations.description = b.description;
        const input: ExternalAlertInput = {
          name: alertName(b.title),
          status: b.status ?? 'firing',
          labels,
          annotations,
        };
        if (b.severity) input.severity = SEVERITY_OF[b.severity];
        const alert = await this.host.raiseExternal(input);
        reply.code(202);
        return { status: 'accepted', alert_id: alert.id, alert };
      },
    );
    app.get<{ Querystring: Static<typeof IncidentsQuery> }>(
      this.config.incidentsPath,
      {
        config: access('read', ['incidents']),
        schema: {
          summary: 'incident dialect: incidents, newest first',
          tags: ['dialects'],
          querystring: IncidentsQuery,
        },
      },
      async (req) => {
        const opts: { status?: 'open' | 'acknowledged' | 'resolved'; limit?: number } = {
          limit: req.query.limit ?? 100,
        };
        if (req.query.state) opts.status = req.query.state;
        return { incidents: await this.host.incidents(opts) };
      },
    );
  }
}
