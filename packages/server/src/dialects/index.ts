/**
 * @module dialects
 * Builds the dialect server of a hub and mounts the dialects its configuration enables (docs/dialects.md).
 */
import type { AlertEngine } from '../alerts/engine.js';
import type { Authenticator } from '../auth/credentials.js';
import type { Broker } from '../broker/broker.js';
import type { Config } from '../config/load.js';
import type { Gateway } from '../gateway/gateway.js';
import type { MethodRegistry } from '../gateway/methods.js';
import type { IncidentService } from '../incidents/service.js';
import type { ConnectionLimits } from '../limits/connection-limits.js';
import type { MetricsService } from '../metrics/service.js';
import type { HubCounters } from '../observability/hub-counters.js';
import type { TaskService } from '../tasks/index.js';
import { EnvelopeDialect } from './envelope.js';
import { IncidentDialect } from './incident.js';
import { PerfmonDialect } from './perfmon.js';
import { RoomsDialect } from './rooms.js';
import { DialectServer } from './server.js';
import { StreamsDialect } from './streams.js';

/** What the dialects read from the hub. */
export interface DialectsHost {
  readonly config: Config;
  readonly gateway: Gateway;
  readonly methods: MethodRegistry;
  readonly counters: HubCounters;
  readonly connectionLimits: ConnectionLimits;
  readonly auth: Authenticator | undefined;
  readonly alerts: AlertEngine;
  readonly metricsService: MetricsService;
  readonly broker: Broker;
  readonly tasks: TaskService;
  readonly incidents: IncidentService;
  readonly log: {
    info(o: object, m: string): void;
    warn(o: object, m: string): void;
    error(o: object, m: string): void;
  };
}

export function createDialects(hub: DialectsHost): DialectServer {
  const server = new DialectServer({
    gateway: hub.gateway,
    get options() {
      return hub.gateway.options;
    },
    methods: hub.methods,
    counters: hub.counters,
    limits: hub.connectionLimits,
    auth: hub.auth,
    log: (level, msg, extra) => hub.log[level](extra ?? {}, msg),
  });
  const d = hub.config.dialects;
  const call = (method: string, params?: unknown) => hub.methods.call(method, params, { session: 'http' });
  if (d.perfmon.enabled) {
    server.add(
      new PerfmonDialect(d.perfmon, {
        call,
        activeAlertCount: () => hub.alerts.active().length,
        ruleCount: () => hub.alerts.listRules().length,
        sampleCount: async () => {
          const s = await hub.metricsService.storeStats();
          return s.sealedSamples + s.pendingSamples;
        },
        current: () => hub.metricsService.current({}),
      }),
    );
  }
  if (d.envelope.enabled) {
    server.add(
      new EnvelopeDialect(d.envelope, {
        status: () => hub.metricsService.currentStatus(),
        activeTasks: () => hub.tasks.active().slice(0, 1000) as unknown as Record<string, unknown>[],
        activeAlerts: () => hub.alerts.active() as unknown as Record<string, unknown>[],
        http: () => hub.counters.http,
        startedAt: hub.counters.startedAt,
      }),
    );
  }
  if (d.incident.enabled) {
    server.add(
      new IncidentDialect(
        d.incident,
        {
          raiseExternal: (input) => hub.alerts.raise(input),
          incidents: (opts) => hub.incidents.list(opts),
        },
        hub.config.gateway.pingIntervalMs,
      ),
    );
  }
  if (d.rooms.enabled) {
    server.add(
      new RoomsDialect(d.rooms, {
        call,
        rule: (name) => {
          const rule = hub.alerts.getRule(name);
          return rule ? { kind: rule.spec.kind, metric: rule.spec.metric } : undefined;
        },
        offset: async (channel) => (await hub.broker.position(channel)).offset,
        stats: async (metric, windowMs) => {
          const series = await hub.metricsService.stats(metric, windowMs);
          const first = series[0];
          if (first === undefined) return undefined;
          const { labels: _labels, zscore: _z, ...figures } = first;
          return { ...figures, series: series.length };
        },
      }),
    );
  }
  if (d.streams.enabled) {
    server.add(
      new StreamsDialect(d.streams, {
        status: () => hub.metricsService.currentStatus(),
        raiseExternal: (input) => hub.alerts.raise(input),
        call,
      }),
    );
  }
  return server;
}
