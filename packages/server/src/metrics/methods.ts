/**
 * @module metrics-methods
 * The metrics part's WebSocket side: `call` methods `metrics.summary`, `metrics.current`, `metrics.query`, the
 * `system.status` snapshot, and `publish` to `metrics.<name>` as an ingest path.
 */
import { type Static, Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { VigilError } from '@vigil/protocol';
import type { StoredEvent } from '../broker/broker.js';
import type { PublishRequest } from '../gateway/gateway.js';
import type { MethodRegistry } from '../gateway/methods.js';
import type { SnapshotRegistry } from '../gateway/snapshots.js';
import { normalizeSample } from './sample.js';
import type { MetricsService } from './service.js';

const Labels = Type.Record(Type.String({ maxLength: 256 }), Type.String({ maxLength: 1024 }));

const CurrentParams = Type.Object({ prefix: Type.Optional(Type.String()), labels: Type.Optional(Labels) });

const QueryParams = Type.Object({
  metric: Type.String({ minLength: 1 }),
  from: Type.Optional(Type.Union([Type.String(), Type.Number()])),
  to: Type.Optional(Type.Union([Type.String(), Type.Number()])),
  step: Type.Optional(Type.Union([Type.String(), Type.Number()])),
  agg: Type.Optional(Type.String()),
  labels: Type.Optional(Labels),
});

function check<T extends typeof CurrentParams | typeof QueryParams>(
  method: string,
  schema: T,
  params: unknown,
): Static<T> {
  const value = params ?? {};
  if (Value.Check(schema, value)) return value as Static<T>;
  const first = Value.Errors(schema, value).First();
  throw new VigilError('bad_request', `${method}: ${first?.path || '/'} ${first?.message ?? 'invalid params'}`, {
    path: first?.path ?? '',
  });
}

export function registerMetricsMethods(
  methods: MethodRegistry,
  snapshots: SnapshotRegistry,
  service: MetricsService,
): void {
  methods.register('metrics.summary', async () => ({ metrics: await service.summary() }));
  methods.register('metrics.current', (params) => {
    const p = check('metrics.current', CurrentParams, params);
    return { metrics: service.current({ prefix: p.prefix, labels: p.labels }) };
  });
  methods.register('metrics.query', async (params) => {
    const p = check('metrics.query', QueryParams, params);
    return await service.query.run(p.metric, { from: p.from, to: p.to, step: p.step, agg: p.agg, labels: p.labels });
  });
  snapshots.register('system.status', () => service.currentStatus());
}

/**
 * `publish` to `metrics.<name>`: `data` is a number, or `{value, labels?, ts?}`. The reply is the position of the
 * resulting `metric_update` event, sent once the sample is durable.
 */
export async function publishMetric(service: MetricsService, req: PublishRequest): Promise<StoredEvent> {
  const name = req.channel.slice('metrics.'.length);
  const data = req.data;
  const raw =
    typeof data === 'number'
      ? { name, value: data }
      : data !== null && typeof data === 'object'
        ? { ...data, name }
        : undefined;
  if (!raw) throw new VigilError('bad_request', 'data must be a number or {value, labels?, ts?}', { path: '/data' });
  const r = normalizeSample(raw, Date.now());
  if (!r.ok) throw new VigilError('bad_request', r.error, { path: '/data' });
  const outcome = service.ingest([r.sample], undefined, undefined, { streamNow: true });
  if (outcome.accepted === 0) {
    const e = outcome.errors[0];
    throw new VigilError(
      e?.code ?? 'bad_request',
      e?.message ?? 'sample rejected',
      e?.metric ? { metric: e.metric } : undefined,
    );
  }
  await outcome.durable;
  const events = await outcome.events;
  return events[0]!;
}
