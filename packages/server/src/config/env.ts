/**
 * @module env
 * `VIGIL_*` environment variables: every scalar option of the schema has one, named after its path in upper case
 * with `_` between the parts (`history.max_total_bytes` is `VIGIL_HISTORY_MAX_TOTAL_BYTES`). Lists, maps and the
 * `auth` section (whose only variable is `VIGIL_AUTH_JWT_SECRET`) are set in the file. Values are text: numbers,
 * booleans (`1`/`true`/`yes`/`on`, `0`/`false`/`no`/`off`) and durations are turned into their types here, so
 * that the schema checks them like values from a file.
 */
import { Kind, type TSchema } from '@sinclair/typebox';

export type EnvKind = 'string' | 'integer' | 'number' | 'boolean' | 'duration';

export interface EnvOption {
  /** The option's path in the file, e.g. `['history', 'max_total_bytes']`. */
  readonly path: readonly string[];
  readonly kind: EnvKind;
}

/** Sections whose options are not taken from the environment. */
const FILE_ONLY = new Set(['auth']);

function kindOf(schema: TSchema): EnvKind | undefined {
  switch (schema[Kind]) {
    case 'String':
      return 'string';
    case 'Integer':
      return 'integer';
    case 'Number':
      return 'number';
    case 'Boolean':
      return 'boolean';
    case 'Literal':
      return typeof schema.const === 'string' ? 'string' : undefined;
    case 'Union': {
      const kinds = new Set((schema.anyOf as TSchema[]).map(kindOf));
      if (kinds.has('integer') && kinds.has('string')) return 'duration';
      return kinds.size === 1 && kinds.has('string') ? 'string' : undefined;
    }
    default:
      return undefined;
  }
}

/** Every option that has an environment variable, by variable name. */
export function envOptions(root: TSchema): Map<string, EnvOption> {
  const out = new Map<string, EnvOption>();
  const walk = (schema: TSchema, path: string[]) => {
    if (schema[Kind] === 'Object') {
      for (const [key, child] of Object.entries(schema.properties as Record<string, TSchema>)) {
        if (path.length === 0 && FILE_ONLY.has(key)) continue;
        walk(child, [...path, key]);
      }
      return;
    }
    const kind = kindOf(schema);
    if (kind === undefined) return;
    const name = `VIGIL_${path.join('_').toUpperCase()}`;
    if (out.has(name)) throw new Error(`two options share the variable ${name}`);
    out.set(name, { path, kind });
  };
  walk(root, []);
  return out;
}

/** The value of a variable as its option takes it; text that does not fit is passed on for the schema to refuse. */
export function envValue(text: string, kind: EnvKind): unknown {
  switch (kind) {
    case 'integer':
    case 'number':
    case 'duration':
      return /^-?\d+(\.\d+)?$/.test(text.trim()) ? Number(text) : text;
    case 'boolean':
      if (/^(1|true|yes|on)$/i.test(text)) return true;
      if (/^(0|false|no|off)$/i.test(text)) return false;
      return text;
    default:
      return text;
  }
}

/** Sets `value` at `path` in `raw`, creating the sections on the way (a section that is not a mapping is replaced). */
export function setPath(raw: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let at = raw;
  for (const key of path.slice(0, -1)) {
    const next = at[key];
    if (next === null || typeof next !== 'object' || Array.isArray(next)) at[key] = {};
    at = at[key] as Record<string, unknown>;
  }
  at[path[path.length - 1]!] = value;
}
