/**
 * @module incident-routes
 * The incidents REST API under `/api/v1/incidents`: list, get, and the actions ack, assign, comment and resolve.
 * Each action answers with the updated incident.
 */
import { type Static, Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { access } from '../auth/route-access.js';
import { ErrorResponse } from '../http/error-handler.js';
import type { IncidentService } from './service.js';

const Status = Type.Union([Type.Literal('open'), Type.Literal('acknowledged'), Type.Literal('resolved')]);
const Labels = Type.Record(Type.String(), Type.String());
const Person = (description: string) => Type.String({ minLength: 1, maxLength: 200, description });

export const IncidentSchema = Type.Object({
  id: Type.String(),
  title: Type.String(),
  status: Status,
  priority: Type.Union(['P0', 'P1', 'P2', 'P3', 'P4'].map((p) => Type.Literal(p))),
  severity: Type.String(),
  group_key: Type.String(),
  labels: Labels,
  alerts: Type.Array(Type.String()),
  firing: Type.Integer({ description: 'How many of its alerts are still firing.' }),
  assignee: Type.Union([Type.String(), Type.Null()]),
  comments: Type.Array(Type.Object({ id: Type.String(), by: Type.String(), text: Type.String(), at: Type.Number() })),
  timeline: Type.Array(
    Type.Object({
      at: Type.Number(),
      type: Type.String(),
      by: Type.Optional(Type.String()),
      detail: Type.String(),
    }),
  ),
  created_at: Type.Number(),
  updated_at: Type.Number(),
  acknowledged_at: Type.Optional(Type.Number()),
  acknowledged_by: Type.Optional(Type.String()),
  resolved_at: Type.Optional(Type.Number()),
  resolved_by: Type.Optional(Type.String()),
  escalation_level: Type.Integer(),
  last_escalated_at: Type.Optional(Type.Number()),
});

export const ListQuery = Type.Object(
  {
    status: Type.Optional(Status),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
  },
  { additionalProperties: false },
);

const Params = Type.Object({ id: Type.String({ minLength: 1, maxLength: 100 }) });
const AckBody = Type.Object(
  { by: Person('Who acknowledges.'), comment: Type.Optional(Type.String({ minLength: 1, maxLength: 10_000 })) },
  { additionalProperties: false },
);
const AssignBody = Type.Object(
  {
    assignee: Type.Union([Person('The new assignee.'), Type.Null()], { description: 'null unassigns.' }),
    by: Type.Optional(Person('Who assigns.')),
  },
  { additionalProperties: false },
);
const CommentBody = Type.Object(
  { by: Person('The author.'), text: Type.String({ minLength: 1, maxLength: 10_000 }) },
  { additionalProperties: false },
);
const ResolveBody = Type.Object(
  {
    by: Type.Optional(Person('Who resolves.')),
    comment: Type.Optional(Type.String({ minLength: 1, maxLength: 10_000 })),
  },
  { additionalProperties: false },
);

const errors = { 400: ErrorResponse, 404: ErrorResponse };
const tags = ['incidents'];

export function incidentRoutes(app: FastifyInstance, service: IncidentService): void {
  app.get<{ Querystring: Static<typeof ListQuery> }>(
    '/api/v1/incidents',
    {
      config: access('read', ['incidents']),
      schema: {
        summary: 'Incidents, newest first',
        tags,
        querystring: ListQuery,
        response: { 200: Type.Object({ incidents: Type.Array(IncidentSchema) }), 400: ErrorResponse },
      },
    },
    async (req) => ({ incidents: await service.list({ status: req.query.status, limit: req.query.limit }) }),
  );

  app.get<{ Params: Static<typeof Params> }>(
    '/api/v1/incidents/:id',
    {
      config: access('read', ['incidents']),
      schema: { summary: 'One incident', tags, params: Params, response: { 200: IncidentSchema, ...errors } },
    },
    (req) => service.getOrThrow(req.params.id),
  );

  app.post<{ Params: Static<typeof Params>; Body: Static<typeof AckBody> }>(
    '/api/v1/incidents/:id/ack',
    {
      config: access('admin', ['incidents']),
      schema: {
        summary: 'Acknowledge an open incident (stops its escalation)',
        tags,
        params: Params,
        body: AckBody,
        response: { 200: IncidentSchema, ...errors },
      },
    },
    (req) => service.acknowledge(req.params.id, req.body.by, req.body.comment),
  );

  app.post<{ Params: Static<typeof Params>; Body: Static<typeof AssignBody> }>(
    '/api/v1/incidents/:id/assign',
    {
      config: access('admin', ['incidents']),
      schema: {
        summary: 'Assign (or, with null, unassign) an incident',
        tags,
        params: Params,
        body: AssignBody,
        response: { 200: IncidentSchema, ...errors },
      },
    },
    (req) => service.assign(req.params.id, req.body.assignee, req.body.by),
  );

  app.post<{ Params: Static<typeof Params>; Body: Static<typeof CommentBody> }>(
    '/api/v1/incidents/:id/comments',
    {
      config: access('admin', ['incidents']),
      schema: {
        summary: 'Add a comment to an incident',
        tags,
        params: Params,
        body: CommentBody,
        response: { 200: IncidentSchema, ...errors },
      },
    },
    (req) => service.comment(req.params.id, req.body.by, req.body.text),
  );

  app.post<{ Params: Static<typeof Params>; Body: Static<typeof ResolveBody> }>(
    '/api/v1/incidents/:id/resolve',
    {
      config: access('admin', ['incidents']),
      // Every field is optional, so an empty POST is accepted as `{}`.
      preValidation: (req, _reply, done) => {
        req.body ??= {};
        done();
      },
      schema: {
        summary: 'Resolve an incident by hand',
        tags,
        params: Params,
        body: ResolveBody,
        response: { 200: IncidentSchema, ...errors },
      },
    },
    (req) => service.resolve(req.params.id, req.body.by, req.body.comment),
  );
}
