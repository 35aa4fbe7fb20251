/**
 * @module fleet-schemas
 * Validation of what agents publish to `hosts.<id>` (`agent_register`, `agent_heartbeat`, `agent_samples`) and of
 * the fleet's call and route parameters. Errors name the field, with the `bad_request` code.
 */
import { type Static, type TSchema, Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { VigilError } from '@vigil/protocol';

/** A host id: one channel segment of at most 64 characters. */
export const HOST_ID_PATTERN = '^[A-Za-z0-9_:-]{1,64}$';
const HOST_ID = new RegExp(HOST_ID_PATTERN);

export function isHostId(id: unknown): id is string {
  return typeof id === 'string' && HOST_ID.test(id);
}

/** Most labels an agent may give its host. */
export const MAX_HOST_LABELS = 16;

export const HostLabels = Type.Record(
  Type.String({ pattern: '^[a-zA-Z_][a-zA-Z0-9_]{0,63}$' }),
  Type.String({ maxLength: 256 }),
  { maxProperties: MAX_HOST_LABELS },
);

const Text = (max: number) => Type.String({ maxLength: max });

export const RegistrationSchema = Type.Object(
  {
    hostname: Text(255),
    machine_id: Text(128),
    os: Text(128),
    kernel: Text(256),
    arch: Text(64),
    cores: Type.Integer({ minimum: 0, maximum: 1_000_000 }),
    memory_bytes: Type.Number({ minimum: 0 }),
    boot_time: Type.Number({ minimum: 0 }),
    agent_version: Text(64),
    interval_ms: Type.Integer({ minimum: 1, maximum: 86_400_000 }),
    labels: Type.Optional(HostLabels),
  },
  { additionalProperties: false },
);

export const SampleSchema = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 200 }),
    value: Type.Number(),
    labels: Type.Optional(Type.Record(Type.String(), Type.String())),
  },
  { additionalProperties: false },
);

export const BatchSchema = (maxSamples: number) =>
  Type.Object(
    {
      ts: Type.Integer({ minimum: 0, maximum: 8.64e15 }),
      samples: Type.Array(SampleSchema, { maxItems: maxSamples }),
    },
    { additionalProperties: false },
  );

export const HeartbeatSchema = Type.Union([Type.Null(), Type.Object({}, { additionalProperties: true })]);

export const HostIdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });

export const ListHostsQuery = Type.Object(
  {
    status: Type.Optional(Type.Union([Type.Literal('up'), Type.Literal('stale'), Type.Literal('down')])),
    label: Type.Optional(
      Type.String({ maxLength: 512, description: 'Hosts whose labels hold every `k=v` pair (comma-separated).' }),
    ),
  },
  { additionalProperties: false },
);

/** Checks `value` against `schema`; a `bad_request` naming the first failing field otherwise. */
export function checked<T extends TSchema>(what: string, schema: T, value: unknown): Static<T> {
  if (Value.Check(schema, value)) return value as Static<T>;
  const first = Value.Errors(schema, value).First();
  throw new VigilError('bad_request', `${what}: ${first?.path || '/'} ${first?.message ?? 'invalid'}`, {
    path: first?.path ?? '',
  });
}

/** `k=v,k2=v2` to labels; a `bad_request` for a pair without `=`. */
export function parseLabelFilter(text: string | undefined): Record<string, string> | undefined {
  if (text === undefined || text === '') return undefined;
  const out: Record<string, string> = {};
  for (const pair of text.split(',')) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new VigilError('bad_request', `label: '${pair}' is not k=v`, { path: '/label' });
    out[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return out;
}
