/**
 * @module duration
 * Durations in configuration: an integer of milliseconds, or a string such as `500ms`, `10s`, `5m`, `1h`, `2d`, `1y`.
 */
import { Type } from '@sinclair/typebox';

const UNITS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
  y: 31_536_000_000,
};

const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h|d|w|y)$/;

/** Milliseconds of `value`, or undefined when it is not a duration. */
export function parseDuration(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? Math.round(value) : undefined;
  if (typeof value !== 'string') return undefined;
  const m = DURATION.exec(value.trim());
  if (!m) return undefined;
  return Math.round(Number(m[1]) * UNITS[m[2]!]!);
}

export const DURATION_PATTERN = '^\\d+(\\.\\d+)?(ms|s|m|h|d|w|y)$';

/** Schema of a duration option: ms as an integer, or a string such as `10s`. */
export function DurationSchema(def: string, description: string) {
  return Type.Union([Type.Integer({ minimum: 0 }), Type.String({ pattern: DURATION_PATTERN })], {
    default: def,
    description,
  });
}
