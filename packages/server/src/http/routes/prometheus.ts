/**
 * @module prometheus-route
 * `/metrics`: the Prometheus exposition of the hub's own metrics.
 */
import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import { access } from '../../auth/route-access.js';

export function metricsRoute(app: FastifyInstance, hub: { readonly metrics: { readonly registry: Registry } }): void {
  app.get(
    '/metrics',
    {
      config: access('read', 'none'),
      schema: { summary: 'Prometheus metrics of the hub (vigil_*)', produces: ['text/plain'] },
    },
    async (_req, reply) => {
      const body = await hub.metrics.registry.metrics();
      return reply.type(hub.metrics.registry.contentType).send(body);
    },
  );
}
