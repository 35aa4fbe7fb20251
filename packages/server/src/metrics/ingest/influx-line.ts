/**
 * @module metrics/ingest/influx-line
 * Parser for InfluxDB line protocol as Telegraf sends it:
 * `measurement,tag=v,tag2=v2 field=1.5,field2=3i,field3=true,field4="str" 1700000000000000000`.
 *
 * Escapes: in the measurement, tag keys, tag values and field keys a backslash before `,`, `=` or a space makes it
 * literal (any other backslash is kept as is); string field values unescape `\"` and `\\`. Lines starting with `#`
 * are comments. Blank runs between the three sections are tolerated.
 *
 * Mapping to samples:
 * - field `value` becomes metric `<measurement>`; any other field becomes `<measurement>_<field>`;
 * - tags become labels; every sample gets its own labels object;
 * - floats (`1.5`, `-2e3`) and integers (`3i`, `3u`; beyond 2^53 they lose precision) become values;
 *   booleans (`t`, `true`, `True`, `TRUE`, and the `f`/`false` forms) become 1 and 0;
 * - string fields are skipped: not an error; they are counted in `skippedStringFields`;
 * - characters that metric names (`[a-zA-Z0-9_:.]`) or label names (`[a-zA-Z0-9_]`) do not allow are replaced by `_`,
 *   and a leading digit gets a `_` prefix (`disk-io` → `disk_io`); a tag key that ends up starting with `__`, or two
 *   tags that end up with the same name, reject the line;
 * - the timestamp is an integer in `precision` units (`ns` default, `us`, `ms`, `s`), truncated to ms; none means
 *   `now`. NaN and Infinity are not valid line protocol and reject the line.
 *
 * A malformed line is reported with its 1-based number and skipped as a whole; the good lines are kept.
 */
import { checkLabelName, checkLabelValue, checkMetricName, SAMPLE_LIMITS, type Sample } from '../sample.js';
import type { IngestResult } from './ingest-result.js';
import { isDigits, parseDecimalFloat } from './parse-float.js';

export type InfluxPrecision = 'ns' | 'us' | 'ms' | 's';

export interface InfluxParseResult extends IngestResult {
  /** String fields seen in good lines; they carry no numeric value and are dropped. */
  skippedStringFields: number;
}

/** Digits to drop from a timestamp to reach ms (negative: zeros to append). */
const PRECISION_SHIFT: Record<InfluxPrecision, number> = { ns: 6, us: 3, ms: 0, s: -3 };

const SPACE = 32;
const COMMA = 44;
const EQUALS = 61;
const QUOTE = 34;
const BACKSLASH = 92;

const BOOLEANS: ReadonlyMap<string, number> = new Map([
  ['t', 1],
  ['T', 1],
  ['true', 1],
  ['True', 1],
  ['TRUE', 1],
  ['f', 0],
  ['F', 0],
  ['false', 0],
  ['False', 0],
  ['FALSE', 0],
]);

class LineError extends Error {}

/** Scan state for one line: `pos` advances as tokens are read. */
interface Cursor {
  line: string;
  pos: number;
}

function isEscapable(c: number): boolean {
  return c === COMMA || c === EQUALS || c === SPACE;
}

/**
 * Reads an identifier up to an unescaped stop character (`,` ` ` always; `=` when `stopAtEquals`), unescaping
 * `\,` `\=` `\ ` on the way. Leaves `cursor.pos` on the stop character (or the end of the line).
 */
function readIdentifier(cur: Cursor, stopAtEquals: boolean): string {
  const line = cur.line;
  let pos = cur.pos;
  let out = '';
  let runStart = pos;
  while (pos < line.length) {
    const c = line.charCodeAt(pos);
    if (c === BACKSLASH && pos + 1 < line.length && isEscapable(line.charCodeAt(pos + 1))) {
      out += line.slice(runStart, pos);
      runStart = pos + 1; // keep the escaped character as part of the next run
      pos += 2;
      continue;
    }
    if (c === COMMA || c === SPACE || (stopAtEquals && c === EQUALS)) break;
    pos++;
  }
  cur.pos = pos;
  return out + line.slice(runStart, pos);
}

/** Replaces characters outside the allowed set with `_`, prefixing `_` to a leading digit. */
function sanitize(name: string, allowColonDot: boolean): string {
  let out: string | undefined;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    const ok =
      (c >= 97 && c <= 122) ||
      (c >= 65 && c <= 90) ||
      c === 95 ||
      (c >= 48 && c <= 57) ||
      (allowColonDot && (c === 58 || c === 46));
    if (ok) {
      if (out !== undefined) out += name[i];
    } else {
      if (out === undefined) out = name.slice(0, i);
      out += '_';
    }
  }
  const result = out ?? name;
  const first = result.charCodeAt(0);
  return first >= 48 && first <= 57 ? '_' + result : result;
}

function readTags(cur: Cursor, labels: Record<string, string>): void {
  const line = cur.line;
  let count = 0;
  while (cur.pos < line.length && line.charCodeAt(cur.pos) === COMMA) {
    cur.pos++;
    const rawKey = readIdentifier(cur, true);
    if (rawKey === '') throw new LineError('empty tag key');
    if (line.charCodeAt(cur.pos) !== EQUALS) throw new LineError(`missing "=" after tag key "${rawKey}"`);
    cur.pos++;
    const value = readIdentifier(cur, false);
    if (value === '') throw new LineError(`missing value for tag "${rawKey}"`);
    const key = sanitize(rawKey, false);
    const keyError = checkLabelName(key);
    if (keyError !== undefined) throw new LineError(`tag key "${rawKey}" → label "${key}" ${keyError}`);
    const valueError = checkLabelValue(value);
    if (valueError !== undefined) throw new LineError(`tag "${rawKey}" value ${valueError}`);
    if (Object.hasOwn(labels, key)) throw new LineError(`duplicate tag "${key}"`);
    if (++count > SAMPLE_LIMITS.maxLabels) throw new LineError(`more than ${SAMPLE_LIMITS.maxLabels} tags`);
    labels[key] = value;
  }
}

/** Skips a quoted string field starting at the opening quote, validating that it is terminated. */
function skipStringField(cur: Cursor, key: string): void {
  const line = cur.line;
  let pos = cur.pos + 1;
  while (pos < line.length) {
    const c = line.charCodeAt(pos);
    if (c === BACKSLASH) {
      pos += 2;
      continue;
    }
    if (c === QUOTE) {
      cur.pos = pos + 1;
      return;
    }
    pos++;
  }
  throw new LineError(`unterminated string value for field "${key}"`);
}

function parseFieldValue(token: string, key: string): number {
  const last = token.charCodeAt(token.length - 1);
  if (last === 105 /* i */) {
    if (isDigits(token, token.charCodeAt(0) === 45 ? 1 : 0, token.length - 1)) return Number(token.slice(0, -1));
    throw new LineError(`invalid integer ${JSON.stringify(token)} for field "${key}"`);
  }
  if (last === 117 /* u */) {
    if (isDigits(token, 0, token.length - 1)) return Number(token.slice(0, -1));
    throw new LineError(`invalid unsigned integer ${JSON.stringify(token)} for field "${key}"`);
  }
  const bool = BOOLEANS.get(token);
  if (bool !== undefined) return bool;
  const value = parseDecimalFloat(token);
  if (value === undefined || !Number.isFinite(value)) {
    throw new LineError(`invalid value ${JSON.stringify(token)} for field "${key}"`);
  }
  return value;
}

function parseTimestamp(token: string, precision: InfluxPrecision, now: number): number {
  if (token === '') return now;
  if (!isDigits(token, token.charCodeAt(0) === 45 ? 1 : 0, token.length) || token.length > 30) {
    throw new LineError(`invalid timestamp ${JSON.stringify(token)}`);
  }
  if (token.charCodeAt(0) === 45) throw new LineError(`timestamp ${token} is before the epoch`);
  const shift = PRECISION_SHIFT[precision];
  let ms: number;
  if (shift >= 0) ms = token.length > shift ? Number(token.slice(0, token.length - shift)) : 0;
  else ms = Number(token) * 10 ** -shift;
  if (ms > SAMPLE_LIMITS.maxTs) throw new LineError(`timestamp ${token} (${precision}) is out of range`);
  return ms;
}

function skipSpaces(cur: Cursor): void {
  while (cur.pos < cur.line.length && cur.line.charCodeAt(cur.pos) === SPACE) cur.pos++;
}

function parseLine(line: string, now: number, precision: InfluxPrecision, out: Sample[]): number {
  const cur: Cursor = { line, pos: 0 };
  const rawMeasurement = readIdentifier(cur, false);
  if (rawMeasurement === '') throw new LineError('missing measurement');
  const measurement = sanitize(rawMeasurement, true);
  const labels: Record<string, string> = {};
  readTags(cur, labels);
  if (cur.pos >= line.length) throw new LineError('missing fields');
  skipSpaces(cur);
  if (cur.pos >= line.length) throw new LineError('missing fields');

  const names: string[] = [];
  const values: number[] = [];
  let skipped = 0;
  for (;;) {
    const rawKey = readIdentifier(cur, true);
    if (rawKey === '') throw new LineError('empty field key');
    if (line.charCodeAt(cur.pos) !== EQUALS) throw new LineError(`missing "=" after field key "${rawKey}"`);
    cur.pos++;
    if (line.charCodeAt(cur.pos) === QUOTE) {
      skipStringField(cur, rawKey);
      skipped++;
    } else {
      const start = cur.pos;
      while (cur.pos < line.length) {
        const c = line.charCodeAt(cur.pos);
        if (c === COMMA || c === SPACE) break;
        cur.pos++;
      }
      if (cur.pos === start) throw new LineError(`missing value for field "${rawKey}"`);
      const value = parseFieldValue(line.slice(start, cur.pos), rawKey);
      const name = rawKey === 'value' ? measurement : `${measurement}_${sanitize(rawKey, true)}`;
      const nameError = checkMetricName(name);
      if (nameError !== undefined) throw new LineError(`metric name "${name}" ${nameError}`);
      names.push(name);
      values.push(value);
    }
    if (cur.pos < line.length && line.charCodeAt(cur.pos) === COMMA) {
      cur.pos++;
      continue;
    }
    if (cur.pos < line.length && line.charCodeAt(cur.pos) !== SPACE) {
      throw new LineError(`unexpected ${JSON.stringify(line[cur.pos])} after field "${rawKey}"`);
    }
    break;
  }

  skipSpaces(cur);
  const tsStart = cur.pos;
  while (cur.pos < line.length && line.charCodeAt(cur.pos) !== SPACE) cur.pos++;
  const ts = parseTimestamp(line.slice(tsStart, cur.pos), precision, now);
  skipSpaces(cur);
  if (cur.pos < line.length)
    throw new LineError(`unexpected text after the timestamp: ${JSON.stringify(line.slice(cur.pos))}`);

  // Only a fully valid line reaches this point, so a bad line never leaves partial samples behind.
  for (let i = 0; i < names.length; i++) {
    out.push({ name: names[i], value: values[i], labels: i === 0 ? labels : { ...labels }, ts });
  }
  return skipped;
}

/**
 * Parses a line protocol body. `now` (ms) is the timestamp of lines that carry none; `precision` is the unit of the
 * timestamps in the body. Throws a TypeError for an unknown precision.
 */
export function parseInfluxLines(text: string, now: number, precision: InfluxPrecision = 'ns'): InfluxParseResult {
  if (!Object.hasOwn(PRECISION_SHIFT, precision)) {
    throw new TypeError(`unknown precision ${JSON.stringify(precision)} (expected ns, us, ms or s)`);
  }
  const result: InfluxParseResult = { samples: [], errors: [], skippedStringFields: 0 };
  let lineNo = 0;
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf('\n', start);
    if (end === -1) end = text.length;
    lineNo++;
    let lineEnd = end;
    if (lineEnd > start && text.charCodeAt(lineEnd - 1) === 13) lineEnd--;
    let lineStart = start;
    while (lineStart < lineEnd && (text.charCodeAt(lineStart) === SPACE || text.charCodeAt(lineStart) === 9)) {
      lineStart++;
    }
    start = end + 1;
    if (lineStart === lineEnd || text.charCodeAt(lineStart) === 35 /* # */) continue;
    const line = text.slice(lineStart, lineEnd);
    try {
      result.skippedStringFields += parseLine(line, now, precision, result.samples);
    } catch (err) {
      if (!(err instanceof LineError)) throw err;
      result.errors.push({ line: lineNo, message: err.message });
    }
  }
  return result;
}
