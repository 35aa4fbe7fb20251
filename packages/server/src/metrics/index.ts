/**
 * @module metrics
 * The metrics part: builds the MetricsService on a MetricStore, registers its `call` methods and the
 * `system.status` snapshot, takes client publishes to `metrics.>` as an ingest path, and adds its routes.
 */

import { metricsRoutes } from '../http/routes/metrics.js';
import type { HubPart, PartContext } from '../part.js';
import type { MetricStore } from '../storage/metric-store.js';
import { publishMetric, registerMetricsMethods } from './methods.js';
import type { Sample } from './sample.js';
import { MetricsService } from './service.js';

export interface MetricsPartDeps {
  store: MetricStore;
  /** Extra figures for `system.status`: connections and messages in and out so far. */
  hubFigures: () => { connections: number; messages_total: number };
  /** Samples of the hub's own figures added to each collect. */
  hubSamples?: (now: number) => Sample[];
}

export function createMetricsPart(ctx: PartContext, deps: MetricsPartDeps): { part: HubPart; service: MetricsService } {
  const service = new MetricsService({
    config: ctx.config.metrics,
    store: deps.store,
    emit: (channel, kind, data) => ctx.emit(channel, kind, data),
    hubFigures: deps.hubFigures,
    hubSamples: deps.hubSamples,
    sharedStore: ctx.config.store.engine === 'postgres',
    ownHost: ctx.config.fleet.ownHost,
    log: (level, msg, extra) => ctx.log[level](extra ?? {}, msg),
  });
  registerMetricsMethods(ctx.methods, ctx.snapshots, service);
  ctx.claimPublish('metrics.>', (req) => publishMetric(service, req));
  return {
    service,
    part: {
      name: 'metrics',
      start: () => service.start(),
      routes: (app) => metricsRoutes(app, service),
      stop: () => service.stop(),
      lead: (leader) => service.lead(leader),
    },
  };
}
