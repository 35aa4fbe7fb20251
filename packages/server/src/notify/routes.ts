/**
 * @module notify-routes
 * `GET /api/v1/notifications/failures`: the dead-letter log of notifications that failed for good.
 */
import { type Static, Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { access } from '../auth/route-access.js';
import { ErrorResponse } from '../http/error-handler.js';
import type { DeadLetterLog } from './dead-letter.js';

const FailuresQuery = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
  since: Type.Optional(Type.Integer({ minimum: 0, description: 'Only failures recorded at or after this time (ms).' })),
});

const Failure = Type.Object({
  id: Type.Integer(),
  at: Type.Number({ description: 'When the last attempt failed, ms since the epoch.' }),
  kind: Type.Union([Type.Literal('alert_webhook'), Type.Literal('escalation')]),
  url: Type.String(),
  group_key: Type.String({ description: 'The alert group key, or the incident group key for escalations.' }),
  attempts: Type.Integer(),
  last_error: Type.String(),
  payload: Type.Unknown({ description: 'The body that could not be delivered.' }),
});

export function notifyRoutes(app: FastifyInstance, deadLetters: DeadLetterLog): void {
  app.get<{ Querystring: Static<typeof FailuresQuery> }>(
    '/api/v1/notifications/failures',
    {
      config: access('read', ['alerts', 'incidents']),
      schema: {
        summary: 'Notifications that failed for good (dead-letter log), newest first',
        tags: ['notifications'],
        querystring: FailuresQuery,
        response: { 200: Type.Object({ total: Type.Integer(), failures: Type.Array(Failure) }), 400: ErrorResponse },
      },
    },
    async (req) => ({
      total: await deadLetters.count(),
      failures: await deadLetters.list({ limit: req.query.limit, since: req.query.since }),
    }),
  );
}
