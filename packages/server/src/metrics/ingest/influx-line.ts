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
 * - tags become labels; the samples of lines with the same measurement and tags share one frozen labels object;
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
 *
 * The measurement-and-tags part of a line (up to its first unescaped space) is parsed and checked once: its result is
 * kept in a bounded cache keyed by that text, so the lines of a known series cost a map lookup before their fields.
 * Each sample also gets a series hint (`hints`): its line head and field key, which together decide its metric and
 * labels, so the series registry can find the series without building its key.
 */
import { checkLabelName, checkLabelValue, checkMetricName, SAMPLE_LIMITS, type Sample } from '../sample.js';
import type { IngestResult, SeriesHints } from './ingest-result.js';
import { isDigits, parseDecimalFloat } from './parse-float.js';

export type InfluxPrecision = 'ns' | 'us' | 'ms' | 's';

export interface InfluxParseResult extends IngestResult {
  /** String fields seen in good lines; they carry no numeric value and are dropped. */
  skippedStringFields: number;
  /** Per sample, what decides its series: the line head and the field key (see the module notes). */
  hints: SeriesHints;
}

/** The parsed measurement and tags of a line head; also the series hint of its samples. */
interface Head {
  /** The head's text. */
  text: string;
  measurement: string;
  labels: Readonly<Record<string, string>>;
  /** The metric name of the `value` field (the measurement), once checked. */
  valueName: string | undefined;
}

/** Line heads seen lately, by a hash of their text (checked against it on a hit); emptied at HEAD_CACHE_MAX. */
const heads = new Map<number, Head>();
const HEAD_CACHE_MAX = 200_000;
/** Longer heads are parsed every time rather than cached. */
const HEAD_CACHE_MAX_CHARS = 1024;
/** Set by headEnd: the FNV-1a hash of the head's characters. */
let headHash = 0;
const POW10 = [1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15];

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

/** End of the line head: its first space not escaped by a backslash (escapes as in readIdentifier). */
function headEnd(line: string): number {
  let pos = 0;
  let h = 0x811c9dc5;
  const n = line.length;
  while (pos < n) {
    const c = line.charCodeAt(pos);
    if (c === SPACE) break;
    h = Math.imul(h ^ c, 16777619);
    if (c === BACKSLASH && pos + 1 < n && isEscapable(line.charCodeAt(pos + 1))) {
      h = Math.imul(h ^ line.charCodeAt(pos + 1), 16777619);
      pos += 2;
    } else pos++;
  }
  headHash = h;
  return pos;
}

/**
 * A plain decimal (`-?digits[.digits]`, at most 15 digits) from `start` up to a comma, a space or the end: its value,
 * which equals Number() of the text (k / 10^d is exact for such k and d), or undefined for anything else.
 */
function plainDecimal(line: string, start: number): number | undefined {
  const n = line.length;
  let i = start;
  const neg = line.charCodeAt(i) === 45;
  if (neg) i++;
  let k = 0;
  let digits = 0;
  let scale = -1;
  for (; i < n; i++) {
    const c = line.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      k = k * 10 + (c - 48);
      digits++;
      if (scale >= 0) scale++;
    } else if (c === 46 && scale < 0) scale = 0;
    else if (c === COMMA || c === SPACE) break;
    else return undefined;
  }
  if (digits === 0 || digits > 15 || scale === 0) return undefined;
  plainEnd = i;
  const v = scale > 0 ? k / POW10[scale] : k;
  return neg ? -v : v;
}
/** Set by plainDecimal: where the number ended. */
let plainEnd = 0;

/** Integer ms from a digits-only timestamp at [start, end), or undefined when it needs the general path. */
function plainTimestamp(line: string, start: number, end: number, precision: InfluxPrecision): number | undefined {
  const shift = PRECISION_SHIFT[precision];
  if (shift < 0 || end - start <= shift || end - start - shift > 15) return undefined;
  let ms = 0;
  for (let i = start; i < end; i++) {
    const c = line.charCodeAt(i);
    if (c < 48 || c > 57) return undefined;
    if (i < end - shift) ms = ms * 10 + (c - 48);
  }
  return ms;
}

function parseHead(cur: Cursor): Head {
  const rawMeasurement = readIdentifier(cur, false);
  if (rawMeasurement === '') throw new LineError('missing measurement');
  const measurement = sanitize(rawMeasurement, true);
  const labels: Record<string, string> = {};
  readTags(cur, labels);
  return { text: cur.line.slice(0, cur.pos), measurement, labels: Object.freeze(labels), valueName: undefined };
}

/** A copy of a string that does not share the memory of the string it was cut from (a whole request body). */
function ownCopy(s: string): string {
  return Buffer.from(s, 'utf8').toString('utf8');
}

/** The head with strings of its own, so that caching it does not keep the request body it was read from alive. */
function detached(head: Head): Head {
  const labels: Record<string, string> = {};
  for (const [k, v] of Object.entries(head.labels)) labels[ownCopy(k)] = ownCopy(v);
  return {
    text: ownCopy(head.text),
    measurement: ownCopy(head.measurement),
    labels: Object.freeze(labels),
    valueName: head.valueName,
  };
}

function metricName(head: Head, rawKey: string): string {
  if (rawKey === 'value' && head.valueName !== undefined) return head.valueName;
  const name = rawKey === 'value' ? head.measurement : `${head.measurement}_${sanitize(rawKey, true)}`;
  const nameError = checkMetricName(name);
  if (nameError !== undefined) throw new LineError(`metric name "${name}" ${nameError}`);
  if (rawKey === 'value') head.valueName = name;
  return name;
}

/** Scratch for the fields of the line being parsed. */
const fieldNames: string[] = [];
const fieldKeys: string[] = [];
const fieldValues: number[] = [];

function parseLine(line: string, now: number, precision: InfluxPrecision, out: Sample[], hints: SeriesHints): number {
  const end = headEnd(line);
  const hash = headHash;
  const cur: Cursor = { line, pos: 0 };
  let head = heads.get(hash);
  if (head !== undefined && head.text.length === end && line.startsWith(head.text)) cur.pos = end;
  else {
    head = parseHead(cur);
    if (cur.pos === end && end <= HEAD_CACHE_MAX_CHARS) {
      if (heads.size >= HEAD_CACHE_MAX) heads.clear();
      head = detached(head);
      heads.set(hash, head);
    }
  }
  const labels = head.labels;
  if (cur.pos >= line.length) throw new LineError('missing fields');
  skipSpaces(cur);
  if (cur.pos >= line.length) throw new LineError('missing fields');

  let fields = 0;
  let skipped = 0;
  for (;;) {
    let rawKey: string;
    if (line.startsWith('value=', cur.pos)) {
      rawKey = 'value';
      cur.pos += 5;
    } else rawKey = readIdentifier(cur, true);
    if (rawKey === '') throw new LineError('empty field key');
    if (line.charCodeAt(cur.pos) !== EQUALS) throw new LineError(`missing "=" after field key "${rawKey}"`);
    cur.pos++;
    if (line.charCodeAt(cur.pos) === QUOTE) {
      skipStringField(cur, rawKey);
      skipped++;
    } else {
      const start = cur.pos;
      let value = plainDecimal(line, start);
      if (value !== undefined) cur.pos = plainEnd;
      else {
        while (cur.pos < line.length) {
          const c = line.charCodeAt(cur.pos);
          if (c === COMMA || c === SPACE) break;
          cur.pos++;
        }
        if (cur.pos === start) throw new LineError(`missing value for field "${rawKey}"`);
        value = parseFieldValue(line.slice(start, cur.pos), rawKey);
      }
      fieldNames[fields] = metricName(head, rawKey);
      fieldKeys[fields] = rawKey;
      fieldValues[fields] = value;
      fields++;
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
  const ts =
    plainTimestamp(line, tsStart, cur.pos, precision) ?? parseTimestamp(line.slice(tsStart, cur.pos), precision, now);
  skipSpaces(cur);
  if (cur.pos < line.length)
    throw new LineError(`unexpected text after the timestamp: ${JSON.stringify(line.slice(cur.pos))}`);

  // Only a fully valid line reaches this point, so a bad line never leaves partial samples behind.
  for (let i = 0; i < fields; i++) {
    out.push({ name: fieldNames[i], value: fieldValues[i], labels: labels as Record<string, string>, ts });
    hints.heads.push(head);
    hints.fields.push(fieldKeys[i]);
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
  const result: InfluxParseResult = {
    samples: [],
    errors: [],
    skippedStringFields: 0,
    hints: { heads: [], fields: [] },
  };
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
      result.skippedStringFields += parseLine(line, now, precision, result.samples, result.hints);
    } catch (err) {
      if (!(err instanceof LineError)) throw err;
      result.errors.push({ line: lineNo, message: err.message });
    }
  }
  return result;
}
