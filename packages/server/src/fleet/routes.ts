/**
 * @module fleet-routes
 * `GET /api/v1/hosts`, `GET /api/v1/hosts/:id` and `DELETE /api/v1/hosts/:id`.
 */
import { type Static, Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { access } from '../auth/route-access.js';
import { ErrorResponse } from '../http/error-handler.js';
import { HostIdParams, ListHostsQuery, parseLabelFilter } from './schemas.js';
import type { FleetService } from './service.js';

const Host = Type.Object({}, { additionalProperties: true, description: 'A host (see docs/agent.md)' });

export function fleetRoutes(app: FastifyInstance, service: FleetService): void {
  app.get<{ Querystring: Static<typeof ListHostsQuery> }>(
    '/api/v1/hosts',
    {
      config: access('read', ['nodes']),
      schema: {
        summary: 'The hosts of the fleet, by id; `status` and `label=k=v,...` filter them',
        tags: ['fleet'],
        querystring: ListHostsQuery,
        response: { 200: Type.Object({ hosts: Type.Array(Host) }), 400: ErrorResponse },
      },
    },
    (req) => ({ hosts: service.list({ status: req.query.status, labels: parseLabelFilter(req.query.label) }) }),
  );

  app.get<{ Params: Static<typeof HostIdParams> }>(
    '/api/v1/hosts/:id',
    {
      config: access('read', ['nodes']),
      schema: {
        summary: 'One host: identity, labels, status, first and last seen, latest utilisation',
        tags: ['fleet'],
        params: HostIdParams,
        response: { 200: Host, 404: ErrorResponse },
      },
    },
    (req) => service.get(req.params.id),
  );

  app.delete<{ Params: Static<typeof HostIdParams> }>(
    '/api/v1/hosts/:id',
    {
      config: access('admin', ['nodes']),
      schema: {
        summary: 'Forget a host (its stored metrics stay); it comes back if its agent reports again',
        tags: ['fleet'],
        params: HostIdParams,
        response: { 204: Type.Null(), 404: ErrorResponse },
      },
    },
    async (req, reply) => {
      service.remove(req.params.id);
      return reply.status(204).send();
    },
  );
}
