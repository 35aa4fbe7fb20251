/**
 * @module alerts-routes
 * REST for the alerts part: rules CRUD at `/api/v1/rules`, alert history and external intake at `/api/v1/alerts`,
 * acknowledgement, and silences CRUD at `/api/v1/silences`.
 */
import { Type } from '@sinclair/typebox';
import { VigilError } from '@vigil/protocol';
import type { FastifyInstance } from 'fastify';
import { access } from '../auth/route-access.js';
import { ErrorResponse } from '../http/error-handler.js';
import type { AlertEngine } from './engine.js';
import { parseExternal } from './external.js';
import type { AlertStatus } from './types.js';

const AckBody = Type.Object(
  {
    by: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    comment: Type.Optional(Type.String({ maxLength: 4096 })),
  },
  { additionalProperties: false },
);

const tags = ['alerts'];
const errors = { 400: ErrorResponse, 403: ErrorResponse, 404: ErrorResponse };
const created = { 201: {}, ...errors };

export function alertRoutes(app: FastifyInstance, engine: AlertEngine): void {
  app.get(
    '/api/v1/rules',
    { config: access('read', ['alerts']), schema: { summary: 'Alert rules (config and API)', tags } },
    async () => ({
      rules: engine.listRules(),
    }),
  );

  app.post(
    '/api/v1/rules',
    {
      config: access('admin', ['alerts']),
      schema: { summary: 'Create an alert rule', tags, body: {}, response: created },
    },
    async (req, reply) => {
      const rule = await engine.putRule(req.body, undefined);
      return reply.status(201).send({ ...rule.spec, source: rule.source });
    },
  );

  app.get<{ Params: { name: string } }>(
    '/api/v1/rules/:name',
    { config: access('read', ['alerts']), schema: { summary: 'One rule', tags, response: errors } },
    async (req) => {
      const rule = engine.getRule(req.params.name);
      if (!rule) throw new VigilError('not_found', `No rule '${req.params.name}'`);
      return { ...rule.spec, source: rule.source };
    },
  );

  app.put<{ Params: { name: string } }>(
    '/api/v1/rules/:name',
    {
      config: access('admin', ['alerts']),
      schema: { summary: 'Replace an API rule', tags, body: {}, response: errors },
    },
    async (req) => {
      const rule = await engine.putRule(req.body, req.params.name);
      return { ...rule.spec, source: rule.source };
    },
  );

  app.delete<{ Params: { name: string } }>(
    '/api/v1/rules/:name',
    {
      config: access('admin', ['alerts']),
      schema: { summary: 'Delete an API rule (its active alerts resolve)', tags, response: errors },
    },
    async (req, reply) => {
      await engine.deleteRule(req.params.name);
      return reply.status(204).send();
    },
  );

  app.get<{ Querystring: { state?: AlertStatus; rule?: string; since?: string; limit?: number; active?: boolean } }>(
    '/api/v1/alerts',
    {
      config: access('read', ['alerts']),
      schema: {
        summary: 'Alert history, newest change first; `active=true` for pending and firing alerts only',
        tags,
        querystring: Type.Object({
          state: Type.Optional(Type.Union([Type.Literal('pending'), Type.Literal('firing'), Type.Literal('resolved')])),
          rule: Type.Optional(Type.String()),
          since: Type.Optional(Type.String({ description: 'ms since the epoch or RFC 3339' })),
          limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000, default: 500 })),
          active: Type.Optional(Type.Boolean()),
        }),
        response: { 400: ErrorResponse },
      },
    },
    async (req) => {
      const q = req.query;
      if (q.active) return { alerts: engine.activeAlerts() };
      let since: number | undefined;
      if (q.since !== undefined) {
        since = /^\d+$/.test(q.since) ? Number(q.since) : Date.parse(q.since);
        if (Number.isNaN(since)) throw new VigilError('bad_request', 'since must be ms since the epoch or RFC 3339');
      }
      return { alerts: await engine.history({ state: q.state, rule: q.rule, since, limit: q.limit ?? 500 }) };
    },
  );

  app.get<{ Params: { id: string } }>(
    '/api/v1/alerts/:id',
    {
      config: access('read', ['alerts']),
      schema: { summary: 'One alert with its transitions', tags, response: errors },
    },
    async (req) => {
      const alert = await engine.get(req.params.id);
      if (!alert) throw new VigilError('not_found', `No alert '${req.params.id}'`);
      return { ...alert, transitions: await engine.transitions(req.params.id) };
    },
  );

  app.post(
    '/api/v1/alerts',
    {
      config: access('publish', ['alerts']),
      schema: {
        summary:
          'Take in external alerts: an Alertmanager webhook payload (version 4) or {name, status?, severity?, labels?, annotations?} (or an array)',
        tags,
        body: {},
        response: errors,
      },
    },
    async (req) => {
      const parsed = parseExternal(req.body);
      // One after another, in the order given (on a follower each goes to the leader's engine).
      const alerts = [];
      for (const a of parsed.alerts) alerts.push(await engine.raise(a));
      return { format: parsed.format, accepted: alerts.length, alerts };
    },
  );

  app.post<{ Params: { id: string }; Body: { by?: string; comment?: string } }>(
    '/api/v1/alerts/:id/ack',
    {
      config: access('admin', ['alerts']),
      schema: { summary: 'Acknowledge an alert', tags, body: AckBody, response: errors },
    },
    async (req) => engine.ack(req.params.id, req.body?.by ?? 'anonymous', req.body?.comment),
  );

  app.get(
    '/api/v1/silences',
    { config: access('read', ['alerts']), schema: { summary: 'Silences (pending, active and expired)', tags } },
    async () => ({
      silences: engine.silences.list(),
    }),
  );

  app.post(
    '/api/v1/silences',
    {
      config: access('admin', ['alerts']),
      schema: {
        summary: 'Create a silence: {matchers: [{name, value, op?}], starts_at?, ends_at, by, comment}',
        tags,
        body: {},
        response: created,
      },
    },
    async (req, reply) => reply.status(201).send(await engine.createSilence(req.body)),
  );

  app.get<{ Params: { id: string } }>(
    '/api/v1/silences/:id',
    {
      config: access('read', ['alerts']),
      schema: { summary: 'One silence', tags, response: errors },
    },
    async (req) => {
      const s = engine.silences.get(req.params.id);
      if (!s) throw new VigilError('not_found', `No silence '${req.params.id}'`);
      return s;
    },
  );

  app.delete<{ Params: { id: string } }>(
    '/api/v1/silences/:id',
    { config: access('admin', ['alerts']), schema: { summary: 'Expire a silence now', tags, response: errors } },
    async (req) => engine.expireSilence(req.params.id),
  );
}
