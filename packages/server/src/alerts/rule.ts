/**
 * @module rule
 * Alert rules: the schema, validation with errors that name the field, and the normalised form the evaluator uses.
 *
 * `{name, kind: threshold|anomaly|absence, metric, labels?, agg?, window?, op?, threshold?, resolve_threshold?,
 *   for?, keep_firing_for?, z?, z_critical?, severity, annotations?}`
 *
 * `labels` selects the series of `metric` (every pair must match); each matching series is evaluated on its own and
 * gets its own alert, whose labels are the series' labels.
 */
import { type Static, Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { type Severity, VigilError } from '@vigil/protocol';
import { DURATION_PATTERN, parseDuration } from '../config/duration.js';
import { explainError } from '../config/explain.js';
import { checkMetricName } from '../metrics/sample.js';

const Duration = Type.Union([Type.Integer({ minimum: 0 }), Type.String({ pattern: DURATION_PATTERN })]);

export const OPS = ['>', '>=', '<', '<=', '==', '!='] as const;
export type Op = (typeof OPS)[number];
export const RULE_AGGS = ['last', 'avg', 'min', 'max', 'rate', 'p95'] as const;
export type RuleAgg = (typeof RULE_AGGS)[number];

export const RuleSchema = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 200, pattern: '^[A-Za-z0-9_:.-]+$' }),
    kind: Type.Union([Type.Literal('threshold'), Type.Literal('anomaly'), Type.Literal('absence')]),
    metric: Type.String({ minLength: 1, maxLength: 200 }),
    labels: Type.Optional(Type.Record(Type.String({ pattern: '^[a-zA-Z_][a-zA-Z0-9_]*$' }), Type.String())),
    agg: Type.Optional(Type.Union(RULE_AGGS.map((a) => Type.Literal(a)))),
    window: Type.Optional(Duration),
    op: Type.Optional(Type.Union(OPS.map((o) => Type.Literal(o)))),
    threshold: Type.Optional(Type.Number()),
    resolve_threshold: Type.Optional(Type.Number()),
    for: Type.Optional(Duration),
    keep_firing_for: Type.Optional(Duration),
    z: Type.Optional(Type.Number({ exclusiveMinimum: 0 })),
    z_critical: Type.Optional(Type.Number({ exclusiveMinimum: 0 })),
    severity: Type.Union([
      Type.Literal('info'),
      Type.Literal('warning'),
      Type.Literal('error'),
      Type.Literal('critical'),
    ]),
    annotations: Type.Optional(
      Type.Record(Type.String({ pattern: '^[a-zA-Z_][a-zA-Z0-9_]*$' }), Type.String({ maxLength: 4096 })),
    ),
  },
  { additionalProperties: false },
);

export type RuleInput = Static<typeof RuleSchema>;

/** The normalised rule. */
export interface Rule {
  name: string;
  kind: 'threshold' | 'anomaly' | 'absence';
  metric: string;
  labels: Record<string, string>;
  agg: RuleAgg;
  windowMs: number;
  op: Op;
  threshold: number | null;
  resolveThreshold: number | null;
  forMs: number;
  keepFiringForMs: number;
  z: number;
  zCritical: number;
  severity: Severity;
  annotations: Record<string, string>;
  /** Where it came from: the config file (read-only over REST) or the REST API. */
  source: 'config' | 'api';
  /** The rule as given, for listing. */
  spec: RuleInput;
}

function fail(field: string, message: string): never {
  throw new VigilError('bad_request', `Invalid rule: ${field} ${message}`, { field });
}

/** Validates `input` and returns the normalised rule; errors name the field. */
export function parseRule(input: unknown, source: Rule['source']): Rule {
  if (!Value.Check(RuleSchema, input)) {
    const first = Value.Errors(RuleSchema, input).First();
    const field = first?.path.replace(/^\//, '').replaceAll('/', '.') || 'rule';
    fail(field, first ? explainError(first) : 'is invalid');
  }
  const r = input as RuleInput;
  const nameError = checkMetricName(r.metric);
  if (nameError) fail('metric', nameError);
  const ms = (v: number | string | undefined, def: number) => (v === undefined ? def : parseDuration(v)!);
  if (r.kind === 'threshold') {
    if (r.threshold === undefined) fail('threshold', 'is required for threshold rules');
    if (r.resolve_threshold !== undefined && (r.op === '==' || r.op === '!=')) {
      fail('resolve_threshold', 'needs an ordering op (>, >=, <, <=)');
    }
    const op = r.op ?? '>';
    if (r.resolve_threshold !== undefined) {
      const above = op === '>' || op === '>=';
      if (above ? r.resolve_threshold > r.threshold : r.resolve_threshold < r.threshold) {
        fail('resolve_threshold', `must be on the resolving side of threshold (${above ? '<=' : '>='} ${r.threshold})`);
      }
    }
  }
  if (r.kind !== 'threshold' && (r.op !== undefined || r.threshold !== undefined)) {
    fail(r.op !== undefined ? 'op' : 'threshold', `applies to threshold rules only, not ${r.kind}`);
  }
  const z = r.z ?? 2.5;
  const zCritical = r.z_critical ?? 3.5;
  if (r.kind === 'anomaly' && zCritical < z) fail('z_critical', `must be at least z (${z})`);
  return {
    name: r.name,
    kind: r.kind,
    metric: r.metric,
    labels: { ...(r.labels ?? {}) },
    agg: r.agg ?? 'last',
    windowMs: ms(r.window, r.kind === 'absence' ? 60_000 : 60_000),
    op: r.op ?? '>',
    threshold: r.threshold ?? null,
    resolveThreshold: r.resolve_threshold ?? null,
    forMs: ms(r.for, r.kind === 'absence' ? 60_000 : 0),
    keepFiringForMs: ms(r.keep_firing_for, 0),
    z,
    zCritical,
    severity: r.severity,
    annotations: { ...(r.annotations ?? {}) },
    source,
    spec: r,
  };
}

export function compare(value: number, op: Op, threshold: number): boolean {
  switch (op) {
    case '>':
      return value > threshold;
    case '>=':
      return value >= threshold;
    case '<':
      return value < threshold;
    case '<=':
      return value <= threshold;
    case '==':
      return value === threshold;
    default:
      return value !== threshold;
  }
}
