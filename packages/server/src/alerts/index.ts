/**
 * @module alerts
 * The alerts part: builds the engine on the hub's state database and series registry, feeds it every ingested
 * sample, and registers its routes and the WS calls `alerts.list` and `alerts.ack`.
 */
import { Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { VigilError } from '@vigil/protocol';
import type { LeaderAction } from '../cluster/sample-relay.js';
import type { MetricsService } from '../metrics/service.js';
import type { HubPart, PartContext } from '../part.js';
import { AlertEngine } from './engine.js';
import { alertRoutes } from './routes.js';

const ListParams = Type.Object({
  state: Type.Optional(Type.Union([Type.Literal('pending'), Type.Literal('firing'), Type.Literal('resolved')])),
  rule: Type.Optional(Type.String()),
  since: Type.Optional(Type.Integer({ minimum: 0 })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000 })),
});

const AckParams = Type.Union([
  Type.Object({ id: Type.String(), by: Type.Optional(Type.String()), comment: Type.Optional(Type.String()) }),
  Type.Object({ rule: Type.String(), by: Type.Optional(Type.String()), comment: Type.Optional(Type.String()) }),
]);

function bad(method: string, params: unknown, schema: typeof ListParams | typeof AckParams): never {
  const first = Value.Errors(schema, params).First();
  throw new VigilError('bad_request', `${method}: ${first?.path || '/'} ${first?.message ?? 'invalid params'}`);
}

export function createAlertsPart(
  hub: PartContext,
  metrics: Pick<MetricsService, 'registry' | 'pipeline'>,
  opts: {
    now?: () => number;
    tellLeader?: (action: LeaderAction) => void;
    askLeader?: ((action: LeaderAction) => Promise<unknown>) | undefined;
  } = {},
): { part: HubPart; engine: AlertEngine } {
  const engine = new AlertEngine({
    config: hub.config.alerts,
    registry: metrics.registry,
    store: hub.state,
    emit: (channel, kind, data) => hub.emit(channel, kind, data),
    now: opts.now,
    tellLeader: opts.tellLeader,
    askLeader: opts.askLeader,
    log: (level, msg, extra) => hub.log[level](extra ?? {}, msg),
  });
  metrics.pipeline.onSample((series) => engine.onSample(series));
  hub.methods.register('alerts.list', async (params) => {
    const p = params ?? {};
    if (!Value.Check(ListParams, p)) bad('alerts.list', p, ListParams);
    if (p.state === undefined && p.rule === undefined && p.since === undefined) {
      return { alerts: engine.activeAlerts().slice(0, p.limit ?? 10_000) };
    }
    return { alerts: await engine.history({ state: p.state, rule: p.rule, since: p.since, limit: p.limit ?? 500 }) };
  });
  hub.methods.register('alerts.ack', async (params) => {
    if (!Value.Check(AckParams, params)) bad('alerts.ack', params, AckParams);
    const by = params.by ?? 'anonymous';
    if ('id' in params) return { alerts: [await engine.ack(params.id, by, params.comment)] };
    return { alerts: await engine.ackRule(params.rule, by, params.comment) };
  });
  return {
    engine,
    part: {
      name: 'alerts',
      start: () => engine.start(),
      routes: (app) => alertRoutes(app, engine),
      stop: () => engine.stop(),
      lead: (leader) => engine.lead(leader),
    },
  };
}
