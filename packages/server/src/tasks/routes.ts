/**
 * @module task-routes
 * `POST /api/v1/tasks`, `PATCH /api/v1/tasks/:id`, `GET /api/v1/tasks` and `GET /api/v1/tasks/:id`.
 */
import { type Static, Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { access } from '../auth/route-access.js';
import { ErrorResponse } from '../http/error-handler.js';
import { CreateTaskBody, ListTasksQuery, PatchTaskBody, TaskSchema } from './schemas.js';
import type { TaskService } from './task-service.js';

const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 100 }) });

export function taskRoutes(app: FastifyInstance, service: TaskService): void {
  app.post<{ Body: Static<typeof CreateTaskBody> }>(
    '/api/v1/tasks',
    {
      config: access('publish', ['tasks']),
      schema: {
        summary: 'Start tracking a task',
        tags: ['tasks'],
        body: CreateTaskBody,
        response: { 201: TaskSchema, 400: ErrorResponse },
      },
    },
    async (req, reply) => reply.status(201).send(await service.create(req.body)),
  );

  app.patch<{ Params: Static<typeof IdParams>; Body: Static<typeof PatchTaskBody> }>(
    '/api/v1/tasks/:id',
    {
      config: access('publish', ['tasks']),
      schema: {
        summary: 'Report progress, counts, details or the final status of a task; an empty body is a heartbeat',
        tags: ['tasks'],
        params: IdParams,
        body: PatchTaskBody,
        response: { 200: TaskSchema, 400: ErrorResponse, 404: ErrorResponse },
      },
    },
    (req) => service.update(req.params.id, req.body),
  );

  app.get<{ Querystring: Static<typeof ListTasksQuery> }>(
    '/api/v1/tasks',
    {
      config: access('read', ['tasks']),
      schema: {
        summary: 'Tasks, newest first',
        tags: ['tasks'],
        querystring: ListTasksQuery,
        response: { 200: Type.Object({ tasks: Type.Array(TaskSchema) }), 400: ErrorResponse },
      },
    },
    async (req) => ({ tasks: await service.list(req.query) }),
  );

  app.get<{ Params: Static<typeof IdParams> }>(
    '/api/v1/tasks/:id',
    {
      config: access('read', ['tasks']),
      schema: {
        summary: 'One task',
        tags: ['tasks'],
        params: IdParams,
        response: { 200: TaskSchema, 404: ErrorResponse },
      },
    },
    (req) => service.require(req.params.id),
  );
}
