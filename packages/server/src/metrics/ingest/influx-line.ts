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
 * The body is scanned in place (no string per line). The measurement-and-tags part of a line (up to its first
 * unescaped space) is parsed and checked once: its result is kept in a bounded cache keyed by that text, so the lines
 * of a known series cost a map lookup before their fields. Each cached head also remembers the head of the line that
 * followed it, which is compared with the next line first: a body listing its series in the order of the one before
 * costs one comparison per line, no hashing. `parseInfluxColumns` writes the samples as columns, each
 * naming its series by a `SeriesSlot` (one per cached head and field key), which the series registry resolves once;
 * `parseInfluxLines` gives the same samples as `Sample` objects.
 */
import { checkLabelName, checkLabelValue, checkMetricName, SAMPLE_LIMITS } from '../sample.js';
import {
  columnSamples,
  type IngestError,
  type IngestResult,
  type SampleColumns,
  type SeriesSlot,
  seriesSlot,
} from './ingest-result.js';
import { isDigits, parseDecimalFloat } from './parse-float.js';

export type InfluxPrecision = 'ns' | 'us' | 'ms' | 's';

export interface InfluxParseResult extends IngestResult {
  /** String fields seen in good lines; they carry no numeric value and are dropped. */
  skippedStringFields: number;
}

export interface InfluxColumnsResult {
  columns: SampleColumns;
  errors: IngestError[];
  /** Lines in the body (the last one counted whether or not a newline ends it). */
  lines: number;
  /** String fields seen in good lines; they carry no numeric value and are dropped. */
  skippedStringFields: number;
}

/**
 * The parsed measurement and tags of a line head, and the series slots of its fields. The head is itself the slot of
 * its `value` field (metric = the measurement), so a sample of it names one object less.
 */
interface Head extends SeriesSlot {
  /**
   * The head's bytes, escapes included, one character per byte (latin1): a string holds its characters inline, so
   * checking a cached head against a line reads one object less than a byte array would. A copy: a cached head does
   * not keep a request body alive.
   */
  raw: string;
  measurement: string;
  labels: Readonly<Record<string, string>>;
  /** The slot of the `value` field (the head itself), once its name was checked. */
  valueSlot: SeriesSlot | undefined;
  /** Slots of the other field keys (at most MAX_FIELD_SLOTS). */
  slots: Map<string, SeriesSlot> | undefined;
  /** The cached head of the line that followed this one last time: the guess for the next line (see parseLine). */
  next: Head | undefined;
  /** The cache generation the head was cached in; -1: not cached. */
  generation: number;
}

/** Line heads seen lately, by a hash of their text (checked against it on a hit); emptied at HEAD_CACHE_MAX. */
const heads = new Map<number, Head>();
/** In front of `heads`: the last head seen per low bits of the hash (a hit costs an array read, not a map lookup). */
const RECENT_BITS = 16;
const recent: (Head | undefined)[] = new Array(1 << RECENT_BITS).fill(undefined);
const HEAD_CACHE_MAX = 200_000;
/** Longer heads are parsed every time rather than cached. */
const HEAD_CACHE_MAX_CHARS = 1024;
/** Field keys remembered per head; the slots of further keys are made anew for each line. */
const MAX_FIELD_SLOTS = 256;
/** Set by headEnd: the FNV-1a hash of the head's characters. */
let headHash = 0;
/** The powers of ten that a double holds exactly. */
const POW10 = [
  1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21,
  1e22,
];
/** 2^53: every integer below it is exact in a double, and a sum that reaches it may not be. */
const EXACT_INT = 9007199254740992;

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

/**
 * Scan state of the line being parsed: the body (UTF-8 bytes), the cursor and the end of the line (exclusive). Module
 * state rather than an object per line: parsing is synchronous and never re-entered. Every delimiter is ASCII, so the
 * bytes of a multi-byte character never match one; strings are decoded from the bytes only where a name or a label
 * value is read (a line head not cached yet, a field key other than `value`) or an error quotes the line.
 */
const EMPTY = Buffer.alloc(0);
let src: Buffer = EMPTY;
let pos = 0;
let lineEnd = 0;

function isEscapable(c: number): boolean {
  return c === COMMA || c === EQUALS || c === SPACE;
}

/**
 * Reads an identifier up to an unescaped stop character (`,` ` ` always; `=` when `stopAtEquals`), unescaping
 * `\,` `\=` `\ ` on the way. Leaves `pos` on the stop character (or the end of the line).
 */
function readIdentifier(stopAtEquals: boolean): string {
  const text = src;
  const n = lineEnd;
  let p = pos;
  let out = '';
  let runStart = p;
  while (p < n) {
    const c = text[p];
    if (c === BACKSLASH && p + 1 < n && isEscapable(text[p + 1])) {
      out += text.toString('utf8', runStart, p);
      runStart = p + 1; // keep the escaped character as part of the next run
      p += 2;
      continue;
    }
    if (c === COMMA || c === SPACE || (stopAtEquals && c === EQUALS)) break;
    p++;
  }
  pos = p;
  return out + text.toString('utf8', runStart, p);
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

function readTags(labels: Record<string, string>): void {
  let count = 0;
  while (pos < lineEnd && src[pos] === COMMA) {
    pos++;
    const rawKey = readIdentifier(true);
    if (rawKey === '') throw new LineError('empty tag key');
    if (pos >= lineEnd || src[pos] !== EQUALS) throw new LineError(`missing "=" after tag key "${rawKey}"`);
    pos++;
    const value = readIdentifier(false);
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
function skipStringField(key: string): void {
  let p = pos + 1;
  while (p < lineEnd) {
    const c = src[p];
    if (c === BACKSLASH) {
      p += 2;
      continue;
    }
    if (c === QUOTE) {
      pos = p + 1;
      return;
    }
    p++;
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

function skipSpaces(): void {
  while (pos < lineEnd && src[pos] === SPACE) pos++;
}

/** End of the line head starting at `start`: its first space not escaped by a backslash (as in readIdentifier). */
function headEnd(start: number): number {
  const text = src;
  const n = lineEnd;
  let p = start;
  let h = 0x811c9dc5;
  while (p < n) {
    const c = text[p];
    if (c === SPACE) break;
    h = Math.imul(h ^ c, 16777619);
    if (c === BACKSLASH && p + 1 < n && isEscapable(text[p + 1])) {
      h = Math.imul(h ^ text[p + 1], 16777619);
      p += 2;
    } else p++;
  }
  headHash = h;
  return p;
}

/**
 * A plain number at `pos` up to a comma, a space or the end of the line: a decimal `-?digits[.digits]`, or an integer
 * `-?digits` followed by `i` (or `digits` followed by `u`). Returns its value, as Number() gives it (k / 10^d is
 * correctly rounded while k is within 2^53; longer ones go through Number()), or undefined for anything else (exponents, booleans, bad
 * text), which the general path reads or rejects. On success `pos` is left after the number.
 */
function plainDecimal(): number | undefined {
  const text = src;
  const n = lineEnd;
  const start = pos;
  let i = start;
  const neg = text[i] === 45;
  if (neg) i++;
  let k = 0;
  let digits = 0;
  let scale = -1;
  let suffix = 0;
  for (; i < n; i++) {
    const c = text[i];
    if (c >= 48 && c <= 57) {
      k = k * 10 + (c - 48);
      digits++;
      if (scale >= 0) scale++;
    } else if (c === 46 && scale < 0) scale = 0;
    else if (c === COMMA || c === SPACE) break;
    else if ((c === 105 /* i */ || (c === 117 /* u */ && !neg)) && scale < 0) {
      suffix = 1;
      if (i + 1 < n && text[i + 1] !== COMMA && text[i + 1] !== SPACE) return undefined;
      i++;
      break;
    } else return undefined;
  }
  if (digits === 0 || scale === 0) return undefined;
  pos = i;
  // Digits and a power of ten both exact make k / 10^d the correctly rounded value, as Number() gives it: true for up
  // to 15 digits, and for 16 while k stays below 2^53 (the digits JavaScript prints for most doubles).
  if (digits > 16 || (digits === 16 && k >= EXACT_INT)) return Number(text.toString('latin1', start, i - suffix));
  const v = scale > 0 ? k / POW10[scale] : k;
  return neg ? -v : v;
}

/** Scratch of plainTimestamp: the value of the first d digits at [d] (exact up to 15 digits). */
const prefix = new Float64Array(64);

/**
 * The timestamp at `pos` (up to a space or the end of the line) as integer ms when it is plain digits that fit, or
 * undefined when it needs the general path. Either way `pos` is left at its end.
 */
function plainTimestamp(precision: InfluxPrecision): number | undefined {
  const text = src;
  const n = lineEnd;
  const start = pos;
  let acc = 0;
  let p = start;
  let plain = true;
  for (; p < n; p++) {
    const c = text[p];
    if (c >= 48 && c <= 57) {
      acc = acc * 10 + (c - 48);
      if (p - start < 63) prefix[p - start + 1] = acc;
    } else if (c === SPACE) break;
    else plain = false;
  }
  pos = p;
  const shift = PRECISION_SHIFT[precision];
  const keep = p - start - shift;
  if (!plain || shift < 0 || keep <= 0 || keep > 15) return undefined;
  return prefix[keep];
}

function parseHead(start: number): Head {
  const rawMeasurement = readIdentifier(false);
  if (rawMeasurement === '') throw new LineError('missing measurement');
  const measurement = sanitize(rawMeasurement, true);
  const labels: Record<string, string> = {};
  readTags(labels);
  return {
    name: measurement,
    labels: Object.freeze(labels),
    series: undefined,
    epoch: 0,
    wire: -1,
    raw: src.toString('latin1', start, pos),
    measurement,
    valueSlot: undefined,
    slots: undefined,
    next: undefined,
    generation: -1,
  };
}

/** The series slot of field `rawKey` of `head`, its metric name checked. */
function slotFor(head: Head, rawKey: string): SeriesSlot {
  if (rawKey === 'value') {
    if (head.valueSlot !== undefined) return head.valueSlot;
    const nameError = checkMetricName(head.measurement);
    if (nameError !== undefined) throw new LineError(`metric name "${head.measurement}" ${nameError}`);
    head.valueSlot = head;
    return head;
  }
  const known = head.slots?.get(rawKey);
  if (known !== undefined) return known;
  const name = `${head.measurement}_${sanitize(rawKey, true)}`;
  const nameError = checkMetricName(name);
  if (nameError !== undefined) throw new LineError(`metric name "${name}" ${nameError}`);
  const slot = seriesSlot(name, head.labels);
  head.slots ??= new Map();
  if (head.slots.size < MAX_FIELD_SLOTS) head.slots.set(rawKey, slot);
  return slot;
}

/** Scratch for the fields of the line being parsed. */
const fieldSlots: SeriesSlot[] = [];
const fieldValues: number[] = [];

/** The columns being written. */
let out: SampleColumns = { length: 0, slots: [], ts: new Float64Array(0), values: new Float64Array(0) };

function reserve(extra: number): void {
  const need = out.length + extra;
  if (need <= out.ts.length) return;
  const cap = Math.max(need, out.ts.length * 2, 1024);
  const ts = new Float64Array(cap);
  const values = new Float64Array(cap);
  ts.set(out.ts.subarray(0, out.length));
  values.set(out.values.subarray(0, out.length));
  out.ts = ts;
  out.values = values;
}

/** Whether `src` holds the bytes `raw` (one character per byte) at `start`. */
function sameBytes(raw: string, start: number): boolean {
  const body = src;
  for (let i = 0; i < raw.length; i++) if (body[start + i] !== raw.charCodeAt(i)) return false;
  return true;
}

/** Whether `src` holds `value=` at `pos`, within the line. */
function atValueKey(): boolean {
  const b = src;
  const p = pos;
  return (
    p + 6 <= lineEnd &&
    b[p] === 118 &&
    b[p + 1] === 97 &&
    b[p + 2] === 108 &&
    b[p + 3] === 117 &&
    b[p + 4] === 101 &&
    b[p + 5] === EQUALS
  );
}

/** The character at `at` (decoded: it may take several bytes), for an error message. */
function charAt(at: number): string {
  return String.fromCodePoint(src.toString('utf8', at, Math.min(at + 4, lineEnd)).codePointAt(0) ?? 0);
}

/** The cached head of the line parsed last (undefined after a head that was not cached). */
let previous: Head | undefined;
/** Bumped whenever the head cache is emptied: a head of an earlier generation is no guess any more. */
let generation = 0;

/** The cached head whose bytes start the line at `start`, as the previous line's successor, or undefined. */
function guessHead(start: number): Head | undefined {
  const guess = previous?.next;
  if (guess === undefined || guess.generation !== generation) return undefined;
  const end = start + guess.raw.length;
  // Same bytes, then a space: scanning them finds the same head end (a backslash before the space would have made
  // it part of the head the first time).
  return end < lineEnd && src[end] === SPACE && sameBytes(guess.raw, start) ? guess : undefined;
}

/** The head of the line at `start` from the cache, parsed (and cached) when it is not there; `pos` left at its end. */
function lookUpHead(start: number): Head {
  const end = headEnd(start);
  const hash = headHash;
  pos = start;
  const at = hash & ((1 << RECENT_BITS) - 1);
  let head = recent[at];
  if (head === undefined || head.raw.length !== end - start || !sameBytes(head.raw, start)) {
    head = heads.get(hash);
    if (head !== undefined && head.raw.length === end - start && sameBytes(head.raw, start)) recent[at] = head;
    else head = undefined;
  }
  if (head !== undefined) {
    pos = end;
    return head;
  }
  head = parseHead(start);
  if (pos === end && end - start <= HEAD_CACHE_MAX_CHARS) {
    if (heads.size >= HEAD_CACHE_MAX) {
      heads.clear();
      recent.fill(undefined);
      generation++;
    }
    head.generation = generation;
    heads.set(hash, head);
    recent[at] = head;
  }
  return head;
}

/** Parses the line at [start, lineEnd) of `src` into `out`; returns the string fields it skipped. */
function parseLine(start: number, now: number, precision: InfluxPrecision): number {
  // Bodies tend to list their series in the same order each time: the head that followed the previous line's head
  // last time is tried first, which spares hashing the head and looking it up.
  let head = guessHead(start);
  if (head !== undefined) pos = start + head.raw.length;
  else {
    head = lookUpHead(start);
    if (previous !== undefined && head.generation === generation) previous.next = head;
  }
  previous = head.generation === generation ? head : undefined;
  if (pos >= lineEnd) throw new LineError('missing fields');
  skipSpaces();
  if (pos >= lineEnd) throw new LineError('missing fields');

  let fields = 0;
  let skipped = 0;
  for (;;) {
    let rawKey: string;
    if (atValueKey()) {
      rawKey = 'value';
      pos += 5;
    } else rawKey = readIdentifier(true);
    if (rawKey === '') throw new LineError('empty field key');
    if (pos >= lineEnd || src[pos] !== EQUALS) {
      throw new LineError(`missing "=" after field key "${rawKey}"`);
    }
    pos++;
    if (pos < lineEnd && src[pos] === QUOTE) {
      skipStringField(rawKey);
      skipped++;
    } else {
      const valueStart = pos;
      let value = pos < lineEnd ? plainDecimal() : undefined;
      if (value === undefined) {
        while (pos < lineEnd) {
          const c = src[pos];
          if (c === COMMA || c === SPACE) break;
          pos++;
        }
        if (pos === valueStart) throw new LineError(`missing value for field "${rawKey}"`);
        value = parseFieldValue(src.toString('utf8', valueStart, pos), rawKey);
      }
      fieldSlots[fields] = slotFor(head, rawKey);
      fieldValues[fields] = value;
      fields++;
    }
    if (pos < lineEnd && src[pos] === COMMA) {
      pos++;
      continue;
    }
    if (pos < lineEnd && src[pos] !== SPACE) {
      throw new LineError(`unexpected ${JSON.stringify(charAt(pos))} after field "${rawKey}"`);
    }
    break;
  }

  skipSpaces();
  const tsStart = pos;
  const ts = plainTimestamp(precision) ?? parseTimestamp(src.toString('utf8', tsStart, pos), precision, now);
  skipSpaces();
  if (pos < lineEnd) {
    throw new LineError(`unexpected text after the timestamp: ${JSON.stringify(src.toString('utf8', pos, lineEnd))}`);
  }

  // Only a fully valid line reaches this point, so a bad line never leaves partial samples behind.
  reserve(fields);
  let k = out.length;
  for (let i = 0; i < fields; i++, k++) {
    out.slots[k] = fieldSlots[i];
    out.ts[k] = ts;
    out.values[k] = fieldValues[i];
  }
  out.length = k;
  return skipped;
}

/**
 * Parses a line protocol body (UTF-8 bytes, or text) into columns. `now` (ms) is the timestamp of lines that carry
 * none; `precision` is the unit of the timestamps in the body. Throws a TypeError for an unknown precision.
 */
export function parseInfluxColumns(
  body: Uint8Array | string,
  now: number,
  precision: InfluxPrecision = 'ns',
): InfluxColumnsResult {
  if (!Object.hasOwn(PRECISION_SHIFT, precision)) {
    throw new TypeError(`unknown precision ${JSON.stringify(precision)} (expected ns, us, ms or s)`);
  }
  const bytes =
    typeof body === 'string'
      ? Buffer.from(body, 'utf8')
      : Buffer.isBuffer(body)
        ? body
        : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  // About one sample per 40 bytes (a short line with one field); the columns grow when there are more.
  const guess = Math.min(1 << 20, Math.ceil(bytes.length / 40) + 16);
  const columns: SampleColumns = {
    length: 0,
    slots: [],
    ts: new Float64Array(guess),
    values: new Float64Array(guess),
  };
  const result: InfluxColumnsResult = { columns, errors: [], lines: 0, skippedStringFields: 0 };
  out = columns;
  src = bytes;
  try {
    const size = bytes.length;
    let lineNo = 0;
    let start = 0;
    while (start < size) {
      let end = bytes.indexOf(10, start);
      if (end === -1) end = size;
      lineNo++;
      let stop = end;
      if (stop > start && bytes[stop - 1] === 13) stop--;
      let lineStart = start;
      while (lineStart < stop && (bytes[lineStart] === SPACE || bytes[lineStart] === 9)) lineStart++;
      start = end + 1;
      if (lineStart === stop || bytes[lineStart] === 35 /* # */) continue;
      lineEnd = stop;
      try {
        result.skippedStringFields += parseLine(lineStart, now, precision);
      } catch (err) {
        if (!(err instanceof LineError)) throw err;
        result.errors.push({ line: lineNo, message: err.message });
      }
    }
    result.lines = lineNo;
  } finally {
    // Neither the body nor the columns stay referenced once the call returns.
    src = EMPTY;
    out = { length: 0, slots: [], ts: new Float64Array(0), values: new Float64Array(0) };
    fieldSlots.length = 0;
  }
  return result;
}

/** Parses a line protocol body into samples (see parseInfluxColumns). */
export function parseInfluxLines(
  body: Uint8Array | string,
  now: number,
  precision: InfluxPrecision = 'ns',
): InfluxParseResult {
  const r = parseInfluxColumns(body, now, precision);
  return { samples: columnSamples(r.columns), errors: r.errors, skippedStringFields: r.skippedStringFields };
}
