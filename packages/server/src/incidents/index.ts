/**
 * @module incidents
 * The incidents part: `createIncidentsPart()` builds the service on the hub's state database, feeds it from the
 * AlertBus, registers the `incidents.list` call method and returns the HubPart (REST routes, escalation timer).
 */
import { Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { VigilError } from '@vigil/protocol';
import type { Logger } from 'pino';
import type { AlertBus } from '../alerts/types.js';
import type { MethodRegistry } from '../gateway/methods.js';
import { DeadLetterLog } from '../notify/dead-letter.js';
import { realScheduler, type Scheduler } from '../notify/scheduler.js';
import type { HubPart } from '../part.js';
import type { StateStore } from '../storage/state-store.js';
import type { IncidentsConfig } from './config.js';
import { DEFAULT_ESCALATION_DELIVERY, type EscalationDelivery, EscalationSender } from './escalation.js';
import { incidentRoutes } from './routes.js';
import { IncidentService } from './service.js';
import type { IncidentStatus } from './types.js';

/** What the part needs from the hub; `Hub` satisfies it. */
export interface IncidentsHost {
  readonly config: { readonly incidents: IncidentsConfig };
  readonly state: StateStore;
  readonly methods: Pick<MethodRegistry, 'register'>;
  emit(channel: string, kind: string, data: unknown): Promise<unknown>;
  readonly log?: Pick<Logger, 'warn'>;
}

export interface IncidentsOptions {
  /** The clock (real timers keep running). */
  now?: () => number;
  /** Clock and timers together; overrides `now`. */
  scheduler?: Scheduler;
  /** Timeout and retries of escalation webhooks. */
  delivery?: Partial<EscalationDelivery>;
  /** Jitter source for retry backoff. */
  random?: () => number;
  /** On a follower of a cluster: tells the leader that an incident changed here. */
  tellLeader?: (incidentId: string) => void;
}

const ListParams = Type.Object(
  {
    status: Type.Optional(Type.Union([Type.Literal('open'), Type.Literal('acknowledged'), Type.Literal('resolved')])),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
  },
  { additionalProperties: false },
);

function listParams(params: unknown): { status?: IncidentStatus; limit?: number } {
  const value = params ?? {};
  if (Value.Check(ListParams, value)) return value;
  const first = Value.Errors(ListParams, value).First();
  throw new VigilError('bad_request', `incidents.list: ${first?.path || '/'} ${first?.message ?? 'invalid params'}`, {
    path: first?.path ?? '',
  });
}

export function createIncidentsPart(
  hub: IncidentsHost,
  alerts: AlertBus,
  opts: IncidentsOptions = {},
): { part: HubPart; service: IncidentService } {
  const scheduler = opts.scheduler ?? realScheduler(opts.now);
  const deadLetters = new DeadLetterLog(hub.state, (msg, extra) => hub.log?.warn(extra, msg));
  const escalations = new EscalationSender({
    scheduler,
    deadLetters,
    delivery: { ...DEFAULT_ESCALATION_DELIVERY, ...opts.delivery },
    random: opts.random,
    log: hub.log,
  });
  const service = new IncidentService({
    config: hub.config.incidents,
    store: hub.state,
    scheduler,
    escalations,
    log: hub.log,
    tellLeader: opts.tellLeader,
    publish: (kind, incident) => {
      hub.emit('incidents', kind, incident).catch((err: unknown) => {
        hub.log?.warn({ err, kind, incident: incident.id }, 'could not publish an incident event');
      });
    },
  });
  alerts.onChange((alert) => service.handleAlert(alert));
  hub.methods.register('incidents.list', async (params) => ({ incidents: await service.list(listParams(params)) }));
  return {
    service,
    part: {
      name: 'incidents',
      async start() {
        await service.load();
        await service.reconcile(alerts.active(), (id) => alerts.get(id));
        service.start();
      },
      routes: (app) => incidentRoutes(app, service),
      lead: (leader) => service.lead(leader),
      async stop() {
        await service.stop();
        await deadLetters.settled();
      },
    },
  };
}

export type { IncidentsConfig } from './config.js';
export { IncidentService } from './service.js';
export type { Incident, IncidentEventKind, IncidentStatus } from './types.js';
