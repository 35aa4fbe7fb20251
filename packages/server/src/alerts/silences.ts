/**
 * @module silences
 * Silences: label matchers with a time window, who set them and why. A silenced alert keeps changing state and is
 * still published, but notifiers hold it back. `alertname` matches the alert's rule.
 */
import { randomBytes } from 'node:crypto';
import { type Static, Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { type Silence, VigilError } from '@vigil/protocol';
import type { SilenceRow } from './alert-store.js';
import type { Alert } from './types.js';

export const MatcherSchema = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 200 }),
    value: Type.String({ maxLength: 1024 }),
    op: Type.Optional(Type.Union([Type.Literal('='), Type.Literal('!='), Type.Literal('=~'), Type.Literal('!~')])),
  },
  { additionalProperties: false },
);

export const SilenceInput = Type.Object(
  {
    matchers: Type.Array(MatcherSchema, { minItems: 1, maxItems: 64 }),
    starts_at: Type.Optional(Type.Union([Type.Integer({ minimum: 0 }), Type.String()])),
    ends_at: Type.Union([Type.Integer({ minimum: 0 }), Type.String()]),
    by: Type.String({ minLength: 1, maxLength: 200 }),
    comment: Type.String({ maxLength: 4096 }),
  },
  { additionalProperties: false },
);

export type Matcher = Static<typeof MatcherSchema>;

export type { Silence };

interface CompiledMatcher {
  name: string;
  test: (value: string) => boolean;
}

function toTime(v: number | string, field: string): number {
  if (typeof v === 'number') return v;
  const t = Date.parse(v);
  if (Number.isNaN(t))
    throw new VigilError('bad_request', `${field} must be ms since the epoch or RFC 3339`, { field });
  return t;
}

function compile(m: Matcher, field: string): CompiledMatcher {
  const op = m.op ?? '=';
  if (op === '=') return { name: m.name, test: (v) => v === m.value };
  if (op === '!=') return { name: m.name, test: (v) => v !== m.value };
  let re: RegExp;
  try {
    re = new RegExp(`^(?:${m.value})$`);
  } catch {
    throw new VigilError('bad_request', `${field}.value is not a valid regular expression`, {
      field: `${field}.value`,
    });
  }
  return op === '=~' ? { name: m.name, test: (v) => re.test(v) } : { name: m.name, test: (v) => !re.test(v) };
}

function labelOf(alert: Alert, name: string): string {
  if (name === 'alertname') return alert.rule;
  if (name === 'severity') return alert.severity;
  return Object.hasOwn(alert.labels, name) ? alert.labels[name]! : '';
}

export class SilenceSet {
  private readonly items = new Map<string, { silence: Silence; matchers: CompiledMatcher[] }>();

  constructor(private readonly now: () => number) {}

  /** Validates and creates a silence. */
  create(input: unknown): Silence {
    if (!Value.Check(SilenceInput, input)) {
      const first = Value.Errors(SilenceInput, input).First();
      const field = first?.path.replace(/^\//, '').replaceAll('/', '.') || 'silence';
      throw new VigilError('bad_request', `Invalid silence: ${field} ${first?.message ?? 'is invalid'}`, { field });
    }
    const i = input as Static<typeof SilenceInput>;
    const now = this.now();
    const startsAt = i.starts_at === undefined ? now : toTime(i.starts_at, 'starts_at');
    const endsAt = toTime(i.ends_at, 'ends_at');
    if (endsAt <= startsAt)
      throw new VigilError('bad_request', 'ends_at must be after starts_at', { field: 'ends_at' });
    const matchers = i.matchers.map((m, k) => compile(m, `matchers.${k}`));
    const silence: Silence = {
      id: `s_${randomBytes(6).toString('hex')}`,
      matchers: i.matchers,
      starts_at: startsAt,
      ends_at: endsAt,
      by: i.by,
      comment: i.comment,
      created_at: now,
      status: 'active',
    };
    this.items.set(silence.id, { silence, matchers });
    return this.withStatus(silence);
  }

  restore(row: SilenceRow): void {
    const matchers = JSON.parse(row.matchers) as Matcher[];
    const silence: Silence = {
      id: row.id,
      matchers,
      starts_at: row.starts_at,
      ends_at: row.ends_at,
      by: row.created_by,
      comment: row.comment,
      created_at: row.created_at,
      status: 'active',
    };
    this.items.set(row.id, { silence, matchers: matchers.map((m, k) => compile(m, `matchers.${k}`)) });
  }

  /** Ends a silence now; returns it, or undefined when unknown. */
  expire(id: string): Silence | undefined {
    const item = this.items.get(id);
    if (!item) return undefined;
    item.silence.ends_at = Math.min(item.silence.ends_at, this.now());
    return this.withStatus(item.silence);
  }

  get(id: string): Silence | undefined {
    const item = this.items.get(id);
    return item && this.withStatus(item.silence);
  }

  list(): Silence[] {
    return [...this.items.values()].map((i) => this.withStatus(i.silence)).sort((a, b) => b.created_at - a.created_at);
  }

  /** Is `alert` matched by a silence active now? */
  silences(alert: Alert): boolean {
    const now = this.now();
    for (const { silence, matchers } of this.items.values()) {
      if (silence.starts_at > now || silence.ends_at <= now) continue;
      if (matchers.every((m) => m.test(labelOf(alert, m.name)))) return true;
    }
    return false;
  }

  toRow(s: Silence): SilenceRow {
    return {
      id: s.id,
      matchers: JSON.stringify(s.matchers),
      starts_at: s.starts_at,
      ends_at: s.ends_at,
      created_by: s.by,
      comment: s.comment,
      created_at: s.created_at,
    };
  }

  private withStatus(s: Silence): Silence {
    const now = this.now();
    return { ...s, status: s.starts_at > now ? 'pending' : s.ends_at <= now ? 'expired' : 'active' };
  }
}
