/**
 * @module task-schemas
 * JSON schemas of the tasks API, shared by the HTTP routes and the `tasks.list` call.
 */
import { type Static, type TSchema, Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { VigilError } from '@vigil/protocol';
import { TASK_STATUSES } from './task-store.js';

const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);

const Details = Type.Object({}, { additionalProperties: true, description: 'Free-form; merged shallowly on update.' });

export const TaskStatusSchema = Type.Union(TASK_STATUSES.map((s) => Type.Literal(s)));

export const TaskSchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  status: TaskStatusSchema,
  progress: Nullable(Type.Number({ description: 'Fraction 0..1; null while unknown.' })),
  processed: Type.Integer(),
  total: Nullable(Type.Integer()),
  errors: Type.Integer(),
  eta_s: Nullable(Type.Number({ description: 'Seconds to completion as of `updated_at`; null when unknown.' })),
  details: Details,
  started_at: Type.Integer(),
  updated_at: Type.Integer(),
  ended_at: Type.Optional(Type.Integer()),
  stalled_since: Type.Optional(Type.Integer()),
});

export const CreateTaskBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 200 }),
    total: Type.Optional(Nullable(Type.Integer({ minimum: 1, description: 'Number of items, when known.' }))),
    details: Type.Optional(Details),
  },
  { additionalProperties: false },
);

export const PatchTaskBody = Type.Object(
  {
    progress: Type.Optional(Type.Number({ minimum: 0, maximum: 1, description: 'Fraction 0..1.' })),
    processed: Type.Optional(Type.Integer({ minimum: 0 })),
    total: Type.Optional(Nullable(Type.Integer({ minimum: 1 }))),
    errors: Type.Optional(Type.Integer({ minimum: 0 })),
    status: Type.Optional(
      Type.Union([
        Type.Literal('running'),
        Type.Literal('succeeded'),
        Type.Literal('failed'),
        Type.Literal('cancelled'),
      ]),
    ),
    details: Type.Optional(Details),
  },
  { additionalProperties: false },
);

export const ListTasksQuery = Type.Object({
  status: Type.Optional(TaskStatusSchema),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
});

export type ListTasksParams = Static<typeof ListTasksQuery>;

/** Validates `tasks.list` params (absent params are `{}`); throws `bad_request` naming the field. */
export function checkListParams(params: unknown): ListTasksParams {
  const value = params ?? {};
  if (Value.Check(ListTasksQuery, value)) return value;
  const first = Value.Errors(ListTasksQuery, value).First();
  throw new VigilError('bad_request', `tasks.list: ${first?.path || '/'} ${first?.message ?? 'invalid params'}`, {
    path: first?.path ?? '',
  });
}
