/**
 * @module metrics/sample
 * The metric sample model shared by every ingest path, the collector and the TSDB: validation of raw JSON
 * samples (`normalizeSample`), the name/label rules behind it, and the canonical series key (`seriesKey`).
 *
 * Rules:
 * - metric name: `[a-zA-Z_:][a-zA-Z0-9_:.]*`, at most 200 characters, with no empty dot segment (no `..`, no trailing
 *   `.`), so every metric maps to a valid channel `metrics.<name>`;
 * - label name: `[a-zA-Z_][a-zA-Z0-9_]*`, at most 200 characters; names starting with `__` are reserved (as in
 *   Prometheus) and rejected, which also shuts out `__proto__`;
 * - label value: a string of at most 1024 characters; at most 32 labels per sample;
 * - value: any JS number, including NaN and ±Infinity; strings and booleans are rejected;
 * - ts: integer milliseconds since the Unix epoch (fractions are floored), or an RFC 3339 string; defaults to `now`.
 *
 * Label objects produced here are plain objects holding only own data properties for validated names.
 */

/** One observation of one series. */
export interface Sample {
  name: string;
  value: number;
  labels: Record<string, string>;
  /** Milliseconds since the Unix epoch. */
  ts: number;
}

export type NormalizeResult = { ok: true; sample: Sample } | { ok: false; error: string };

export const SAMPLE_LIMITS = {
  maxNameLength: 200,
  maxLabelNameLength: 200,
  maxLabelValueLength: 1024,
  maxLabels: 32,
  /** Largest timestamp accepted: the end of the ECMAScript Date range. */
  maxTs: 8.64e15,
} as const;

const CH_0 = 48;
const CH_9 = 57;
const CH_A = 65;
const CH_Z = 90;
const CH_a = 97;
const CH_z = 122;
const CH_UNDERSCORE = 95;
const CH_COLON = 58;
const CH_DOT = 46;

function isLetterOrUnderscore(c: number): boolean {
  return (c >= CH_a && c <= CH_z) || (c >= CH_A && c <= CH_Z) || c === CH_UNDERSCORE;
}

function isDigit(c: number): boolean {
  return c >= CH_0 && c <= CH_9;
}

/** Returns why `name` is not a valid metric name, or `undefined` when it is. */
export function checkMetricName(name: string): string | undefined {
  const n = name.length;
  if (n === 0) return 'must not be empty';
  if (n > SAMPLE_LIMITS.maxNameLength) return `must be at most ${SAMPLE_LIMITS.maxNameLength} characters`;
  const first = name.charCodeAt(0);
  if (!isLetterOrUnderscore(first) && first !== CH_COLON) return 'must start with a letter, "_" or ":"';
  let prevDot = false;
  for (let i = 1; i < n; i++) {
    const c = name.charCodeAt(i);
    if (c === CH_DOT) {
      if (prevDot) return 'must not contain an empty segment ("..")';
      prevDot = true;
      continue;
    }
    prevDot = false;
    if (!isLetterOrUnderscore(c) && !isDigit(c) && c !== CH_COLON) {
      return `contains an invalid character ${JSON.stringify(name[i])} (allowed: letters, digits, "_", ":", ".")`;
    }
  }
  if (prevDot) return 'must not end with "."';
  return undefined;
}

/** Returns why `name` is not a valid label name, or `undefined` when it is. */
export function checkLabelName(name: string): string | undefined {
  const n = name.length;
  if (n === 0) return 'must not be empty';
  if (n > SAMPLE_LIMITS.maxLabelNameLength) return `must be at most ${SAMPLE_LIMITS.maxLabelNameLength} characters`;
  if (!isLetterOrUnderscore(name.charCodeAt(0))) return 'must start with a letter or "_"';
  for (let i = 1; i < n; i++) {
    const c = name.charCodeAt(i);
    if (!isLetterOrUnderscore(c) && !isDigit(c)) {
      return `contains an invalid character ${JSON.stringify(name[i])} (allowed: letters, digits, "_")`;
    }
  }
  if (n >= 2 && name.charCodeAt(1) === CH_UNDERSCORE && name.charCodeAt(0) === CH_UNDERSCORE) {
    return 'must not start with "__" (reserved)';
  }
  return undefined;
}

/** Returns why `value` is not a valid label value, or `undefined` when it is. */
export function checkLabelValue(value: string): string | undefined {
  if (value.length > SAMPLE_LIMITS.maxLabelValueLength) {
    return `must be at most ${SAMPLE_LIMITS.maxLabelValueLength} characters`;
  }
  return undefined;
}

/**
 * Validates a raw label map (already parsed JSON) and copies it into a fresh plain object.
 * Returns the error message (naming the label) on failure.
 */
export function normalizeLabels(
  input: unknown,
): { ok: true; labels: Record<string, string> } | { ok: false; error: string } {
  const labels: Record<string, string> = {};
  if (input === undefined || input === null) return { ok: true, labels };
  if (typeof input !== 'object' || Array.isArray(input)) {
    return { ok: false, error: 'labels: must be an object of string values' };
  }
  const source = input as Record<string, unknown>;
  const keys = Object.keys(source);
  if (keys.length > SAMPLE_LIMITS.maxLabels) {
    return { ok: false, error: `labels: at most ${SAMPLE_LIMITS.maxLabels} labels are allowed (got ${keys.length})` };
  }
  for (const key of keys) {
    const nameError = checkLabelName(key);
    if (nameError !== undefined) return { ok: false, error: `labels: name ${JSON.stringify(key)} ${nameError}` };
    const value = source[key];
    if (typeof value !== 'string') {
      return { ok: false, error: `labels.${key}: must be a string (got ${describeType(value)})` };
    }
    const valueError = checkLabelValue(value);
    if (valueError !== undefined) return { ok: false, error: `labels.${key}: ${valueError}` };
    labels[key] = value;
  }
  return { ok: true, labels };
}

/**
 * Validates one raw JSON sample `{name, value, labels?, ts?}` (`metric` is accepted as an alias of `name`, matching
 * the `metric_update` event shape). `now` is the default timestamp.
 */
export function normalizeSample(input: unknown, now: number): NormalizeResult {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    return { ok: false, error: `sample: must be an object (got ${describeType(input)})` };
  }
  const raw = input as Record<string, unknown>;

  const name = raw.name !== undefined ? raw.name : raw.metric;
  if (typeof name !== 'string') {
    return { ok: false, error: `name: must be a string (got ${describeType(name)})` };
  }
  const nameError = checkMetricName(name);
  if (nameError !== undefined) return { ok: false, error: `name: ${JSON.stringify(clip(name))} ${nameError}` };

  const value = raw.value;
  if (typeof value !== 'number') {
    return { ok: false, error: `value: must be a number (got ${describeType(value)})` };
  }

  const labelResult = normalizeLabels(raw.labels);
  if (!labelResult.ok) return labelResult;

  const tsResult = normalizeTimestamp(raw.ts, now);
  if (typeof tsResult === 'string') return { ok: false, error: `ts: ${tsResult}` };

  return { ok: true, sample: { name, value, labels: labelResult.labels, ts: tsResult } };
}

/**
 * Converts a raw timestamp (ms number, RFC 3339 string, or undefined for `now`) to integer ms.
 * Returns an error message string when it is invalid.
 */
export function normalizeTimestamp(raw: unknown, now: number): number | string {
  let ts: number;
  if (raw === undefined || raw === null) {
    ts = now;
  } else if (typeof raw === 'number') {
    if (!Number.isFinite(raw)) return 'must be a finite number of milliseconds since the epoch';
    ts = raw;
  } else if (typeof raw === 'string') {
    const parsed = parseRfc3339(raw);
    if (parsed === undefined) return `${JSON.stringify(clip(raw))} is not an RFC 3339 date-time`;
    ts = parsed;
  } else {
    return `must be milliseconds since the epoch or an RFC 3339 string (got ${describeType(raw)})`;
  }
  ts = Math.floor(ts);
  if (ts < 0 || ts > SAMPLE_LIMITS.maxTs) return `${ts} is out of range (0 to ${SAMPLE_LIMITS.maxTs} ms)`;
  return ts;
}

const DAYS_IN_MONTH = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function readDigits(s: string, start: number, count: number): number {
  let v = 0;
  for (let i = start; i < start + count; i++) {
    const c = s.charCodeAt(i);
    if (!isDigit(c)) return -1;
    v = v * 10 + (c - CH_0);
  }
  return v;
}

/**
 * Parses an RFC 3339 date-time (`2024-05-01T12:00:00Z`, `2024-05-01 12:00:00.123+02:00`) to ms since the epoch.
 * Fractions beyond milliseconds are truncated; a leap second (`:60`) is read as `:59.999`.
 */
export function parseRfc3339(s: string): number | undefined {
  if (s.length < 20 || s.length > 40) return undefined;
  const year = readDigits(s, 0, 4);
  const month = readDigits(s, 5, 2);
  const day = readDigits(s, 8, 2);
  const hour = readDigits(s, 11, 2);
  const minute = readDigits(s, 14, 2);
  let second = readDigits(s, 17, 2);
  if (year < 0 || month < 1 || month > 12 || day < 1 || hour < 0 || hour > 23 || minute < 0 || minute > 59) {
    return undefined;
  }
  if (second < 0 || second > 60) return undefined;
  if (s[4] !== '-' || s[7] !== '-' || s[13] !== ':' || s[16] !== ':') return undefined;
  const sep = s[10];
  if (sep !== 'T' && sep !== 't' && sep !== ' ') return undefined;
  const leapYear = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  if (day > DAYS_IN_MONTH[month - 1] || (month === 2 && day === 29 && !leapYear)) return undefined;

  let i = 19;
  let ms = 0;
  if (s[i] === '.') {
    i++;
    const fracStart = i;
    while (i < s.length && isDigit(s.charCodeAt(i))) i++;
    const digits = i - fracStart;
    if (digits === 0) return undefined;
    const used = Math.min(digits, 3);
    ms = readDigits(s, fracStart, used) * (used === 1 ? 100 : used === 2 ? 10 : 1);
  }
  if (second === 60) {
    second = 59;
    ms = 999;
  }
  let offsetMinutes = 0;
  const zone = s[i];
  if (zone === 'Z' || zone === 'z') {
    i++;
  } else if (zone === '+' || zone === '-') {
    const oh = readDigits(s, i + 1, 2);
    const om = readDigits(s, i + 4, 2);
    if (oh < 0 || oh > 23 || om < 0 || om > 59 || s[i + 3] !== ':') return undefined;
    offsetMinutes = (oh * 60 + om) * (zone === '+' ? 1 : -1);
    i += 6;
  } else {
    return undefined;
  }
  if (i !== s.length) return undefined;
  return Date.UTC(year, month - 1, day, hour, minute, second, ms) - offsetMinutes * 60_000;
}

function escapeLabelValue(v: string): string {
  let needs = false;
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c === 92 || c === 34 || c === 10) {
      needs = true;
      break;
    }
  }
  if (!needs) return v;
  return v.replaceAll('\\', '\\\\').replaceAll('"', '\\"').replaceAll('\n', '\\n');
}

/**
 * The canonical identity of a series: `name` alone without labels, else `name{a="1",b="2"}` with labels sorted by
 * name and values escaped as in the Prometheus text format (`\\`, `\"`, `\n`). Injective for valid names and labels.
 */
export function seriesKey(name: string, labels: Readonly<Record<string, string>>): string {
  const keys = Object.keys(labels);
  const n = keys.length;
  if (n === 0) return name;
  if (n > 1) keys.sort();
  let out = name + '{';
  for (let i = 0; i < n; i++) {
    const k = keys[i];
    if (i > 0) out += ',';
    out += k + '="' + escapeLabelValue(labels[k]) + '"';
  }
  return out + '}';
}

function describeType(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

function clip(s: string): string {
  return s.length > 64 ? s.slice(0, 61) + '...' : s;
}
