/**
 * @module explain
 * Schema errors in words a person can act on. A value that matches no member of a union says what the members are:
 * `must be one of "fatal", "error", "warn"` for a choice of literals, `must be an integer ≥ 0 or a duration such as
 * "10s"` for mixed members, instead of the validator's "Expected union value".
 */
import { Kind, type TSchema } from '@sinclair/typebox';
import { type ValueError, ValueErrorType } from '@sinclair/typebox/value';
import { DURATION_PATTERN } from './duration.js';

const LIST_LIMIT = 20;

function bounds(s: TSchema): string {
  const parts: string[] = [];
  if (typeof s.minimum === 'number') parts.push(`≥ ${s.minimum}`);
  if (typeof s.exclusiveMinimum === 'number') parts.push(`> ${s.exclusiveMinimum}`);
  if (typeof s.maximum === 'number') parts.push(`≤ ${s.maximum}`);
  if (typeof s.exclusiveMaximum === 'number') parts.push(`< ${s.exclusiveMaximum}`);
  return parts.length > 0 ? ` ${parts.join(' and ')}` : '';
}

/** A short phrase for what a schema accepts ("an integer ≥ 0", "a duration such as \"10s\""). */
export function describeSchema(s: TSchema): string {
  switch (s[Kind]) {
    case 'Literal':
      return JSON.stringify(s.const);
    case 'Integer':
      return `an integer${bounds(s)}`;
    case 'Number':
      return `a number${bounds(s)}`;
    case 'Boolean':
      return 'true or false';
    case 'Null':
      return 'null';
    case 'String':
      if (s.pattern === DURATION_PATTERN) return 'a duration such as "10s", "5m" or "1h"';
      if (typeof s.pattern === 'string') return `a string matching ${s.pattern}`;
      return 'a string';
    case 'Array': {
      const item = /^an? (\w+)(.*)$/.exec(describeSchema(s.items as TSchema));
      return item ? `a list of ${item[1]}s${item[2]}` : 'a list';
    }
    case 'Object':
    case 'Record':
      return 'a mapping of keys';
    case 'Union':
      return describeUnion(s.anyOf as TSchema[]);
    default:
      return 'another value';
  }
}

function describeUnion(members: readonly TSchema[]): string {
  if (members.length > 0 && members.every((m) => m[Kind] === 'Literal')) {
    const values = members.slice(0, LIST_LIMIT).map((m) => JSON.stringify(m.const));
    const more = members.length > LIST_LIMIT ? `, … (${members.length} in all)` : '';
    return `one of ${values.join(', ')}${more}`;
  }
  return members.map(describeSchema).join(' or ');
}

/** The message of one schema error; unions list what they accept. */
export function explainError(error: ValueError): string {
  if (error.type === ValueErrorType.Union && Array.isArray(error.schema.anyOf)) {
    return `must be ${describeUnion(error.schema.anyOf as TSchema[])}`;
  }
  return error.message;
}
