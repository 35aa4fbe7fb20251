/**
 * @module metrics/ingest/prometheus-text
 * Parser for the Prometheus text exposition format 0.0.4, used for pushed bodies and scrape targets.
 *
 * - `# HELP <name> <doc>` and `# TYPE <name> <counter|gauge|histogram|summary|untyped>` are collected into `help` and
 *   `types` (a second HELP or TYPE for one name is an error); any other `#` line is a comment.
 * - Sample lines: `name{label="value",...} value [timestamp_ms]`, blanks (spaces, tabs) between tokens, an optional
 *   trailing comma in the label set. Label values unescape `\\`, `\"` and `\n`; any other escape is an error.
 * - Values: decimal floats (`1`, `-2.5e-3`), `NaN`, `+Inf`, `-Inf` (case-insensitive, `Inf`/`Infinity` too).
 * - Histogram and summary lines (`_bucket{le=...}`, `_sum`, `_count`, `{quantile=...}`) are plain series.
 * - Names follow metrics/sample (dots allowed; label names starting with `__` rejected), so `name{__name__="x"}` is
 *   an error. Lines without a timestamp get `now`.
 *
 * A malformed line is reported with its 1-based number and skipped; the good lines are kept.
 */
import { checkLabelName, checkLabelValue, checkMetricName, SAMPLE_LIMITS, type Sample } from '../sample.js';
import type { IngestError, IngestResult } from './ingest-result.js';
import { isDigits, parseDecimalFloat } from './parse-float.js';

export type PrometheusMetricType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';

export interface PrometheusParseResult extends IngestResult {
  /** Declared `# TYPE` per metric family name. */
  types: Map<string, PrometheusMetricType>;
  /** Declared `# HELP` text per metric family name (unescaped). */
  help: Map<string, string>;
}

const METRIC_TYPES: ReadonlySet<string> = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

const SPACE = 32;
const TAB = 9;
const HASH = 35;
const LBRACE = 123;
const RBRACE = 125;
const COMMA = 44;
const EQUALS = 61;
const QUOTE = 34;
const BACKSLASH = 92;

class LineError extends Error {}

function isBlank(c: number): boolean {
  return c === SPACE || c === TAB;
}

function skipBlanks(line: string, pos: number): number {
  while (pos < line.length && isBlank(line.charCodeAt(pos))) pos++;
  return pos;
}

function isNameChar(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 95 || c === 58 || c === 46;
}

/** Reads a token up to the next blank. */
function readToken(line: string, pos: number): number {
  while (pos < line.length && !isBlank(line.charCodeAt(pos))) pos++;
  return pos;
}

/** Parses a sample value: a decimal float, or `NaN`, `Inf`, `Infinity` (signed, case-insensitive) as Go does. */
export function parsePrometheusFloat(token: string): number | undefined {
  const first = token.charCodeAt(0);
  const signed = first === 43 || first === 45; // + -
  const special = (signed ? token.slice(1) : token).toLowerCase();
  if (special === 'inf' || special === 'infinity') return first === 45 ? -Infinity : Infinity;
  if (special === 'nan') return signed ? undefined : Number.NaN;
  return parseDecimalFloat(token);
}

function parseTimestampToken(token: string): number {
  if (!isDigits(token, token.charCodeAt(0) === 45 ? 1 : 0, token.length)) {
    throw new LineError(`invalid timestamp ${JSON.stringify(token)} (expected integer ms)`);
  }
  const ts = Number(token);
  if (!Number.isSafeInteger(ts) || ts < 0 || ts > SAMPLE_LIMITS.maxTs) {
    throw new LineError(`timestamp ${token} is out of range (0 to ${SAMPLE_LIMITS.maxTs} ms)`);
  }
  return ts;
}

/** Parses a quoted label value starting after the opening quote; returns [value, position after closing quote]. */
function readQuoted(line: string, pos: number): [string, number] {
  let out = '';
  let runStart = pos;
  while (pos < line.length) {
    const c = line.charCodeAt(pos);
    if (c === QUOTE) return [out + line.slice(runStart, pos), pos + 1];
    if (c === BACKSLASH) {
      out += line.slice(runStart, pos);
      const next = line[pos + 1];
      if (next === '\\') out += '\\';
      else if (next === '"') out += '"';
      else if (next === 'n') out += '\n';
      else throw new LineError(`invalid escape sequence "\\${next ?? ''}" in label value`);
      pos += 2;
      runStart = pos;
      continue;
    }
    pos++;
  }
  throw new LineError('unterminated label value (missing closing ")');
}

function parseLabels(line: string, pos: number, labels: Record<string, string>): number {
  let count = 0;
  pos = skipBlanks(line, pos);
  while (pos < line.length && line.charCodeAt(pos) !== RBRACE) {
    const nameStart = pos;
    while (pos < line.length) {
      const c = line.charCodeAt(pos);
      if (!isNameChar(c) || c === 58 || c === 46) break;
      pos++;
    }
    const name = line.slice(nameStart, pos);
    const nameError = checkLabelName(name);
    if (nameError !== undefined) {
      const shown = name === '' ? (line[pos] ?? 'end of line') : name;
      throw new LineError(`label name ${JSON.stringify(shown)} ${name === '' ? 'is not a label name' : nameError}`);
    }
    pos = skipBlanks(line, pos);
    if (line.charCodeAt(pos) !== EQUALS) throw new LineError(`expected "=" after label name "${name}"`);
    pos = skipBlanks(line, pos + 1);
    if (line.charCodeAt(pos) !== QUOTE) throw new LineError(`expected a quoted value for label "${name}"`);
    const [value, after] = readQuoted(line, pos + 1);
    const valueError = checkLabelValue(value);
    if (valueError !== undefined) throw new LineError(`label "${name}" value ${valueError}`);
    if (Object.hasOwn(labels, name)) throw new LineError(`duplicate label "${name}"`);
    if (++count > SAMPLE_LIMITS.maxLabels) throw new LineError(`more than ${SAMPLE_LIMITS.maxLabels} labels`);
    labels[name] = value;
    pos = skipBlanks(line, after);
    const c = line.charCodeAt(pos);
    if (c === COMMA) {
      pos = skipBlanks(line, pos + 1);
    } else if (c !== RBRACE) {
      throw new LineError(`expected "," or "}" after label "${name}"`);
    }
  }
  if (pos >= line.length) throw new LineError('unterminated label set (missing "}")');
  return pos + 1;
}

function parseSampleLine(line: string, pos: number, now: number): Sample {
  const nameStart = pos;
  while (pos < line.length && isNameChar(line.charCodeAt(pos))) pos++;
  const name = line.slice(nameStart, pos);
  if (name === '') throw new LineError(`unexpected character ${JSON.stringify(line[pos])} where a metric name belongs`);
  const nameError = checkMetricName(name);
  if (nameError !== undefined) throw new LineError(`metric name "${name}" ${nameError}`);
  const labels: Record<string, string> = {};
  pos = skipBlanks(line, pos);
  if (line.charCodeAt(pos) === LBRACE) pos = skipBlanks(line, parseLabels(line, pos + 1, labels));
  else if (pos === nameStart + name.length && pos < line.length) {
    throw new LineError(`invalid character ${JSON.stringify(line[pos])} in metric name "${name}"`);
  }
  if (pos >= line.length) throw new LineError(`missing value for "${name}"`);
  const valueEnd = readToken(line, pos);
  const valueToken = line.slice(pos, valueEnd);
  const value = parsePrometheusFloat(valueToken);
  if (value === undefined) throw new LineError(`invalid value ${JSON.stringify(valueToken)} for "${name}"`);
  pos = skipBlanks(line, valueEnd);
  let ts = now;
  if (pos < line.length) {
    const tsEnd = readToken(line, pos);
    ts = parseTimestampToken(line.slice(pos, tsEnd));
    pos = skipBlanks(line, tsEnd);
    if (pos < line.length)
      throw new LineError(`unexpected text after the timestamp: ${JSON.stringify(line.slice(pos))}`);
  }
  return { name, value, labels, ts };
}

function unescapeHelp(text: string): string {
  if (!text.includes('\\')) return text;
  return text.replace(/\\(\\|n)/g, (_, ch: string) => (ch === 'n' ? '\n' : '\\'));
}

function parseCommentLine(line: string, pos: number, result: PrometheusParseResult): void {
  pos = skipBlanks(line, pos + 1);
  const keywordEnd = readToken(line, pos);
  const keyword = line.slice(pos, keywordEnd);
  if (keyword !== 'HELP' && keyword !== 'TYPE') return; // an ordinary comment
  pos = skipBlanks(line, keywordEnd);
  const nameEnd = readToken(line, pos);
  const name = line.slice(pos, nameEnd);
  if (name === '') throw new LineError(`${keyword} line without a metric name`);
  const nameError = checkMetricName(name);
  if (nameError !== undefined) throw new LineError(`${keyword} line: metric name "${name}" ${nameError}`);
  if (keyword === 'HELP') {
    if (result.help.has(name)) throw new LineError(`second HELP line for "${name}"`);
    const textStart = nameEnd < line.length ? nameEnd + 1 : nameEnd;
    result.help.set(name, unescapeHelp(line.slice(textStart)));
    return;
  }
  pos = skipBlanks(line, nameEnd);
  const typeEnd = readToken(line, pos);
  const type = line.slice(pos, typeEnd);
  if (!METRIC_TYPES.has(type)) {
    throw new LineError(
      `TYPE line for "${name}": unknown type ${JSON.stringify(type)} (expected ${[...METRIC_TYPES].join(', ')})`,
    );
  }
  if (skipBlanks(line, typeEnd) < line.length) throw new LineError(`TYPE line for "${name}": unexpected trailing text`);
  if (result.types.has(name)) throw new LineError(`second TYPE line for "${name}"`);
  result.types.set(name, type as PrometheusMetricType);
}

/** Parses a text exposition body. `now` (ms) is the timestamp of lines that carry none. */
export function parsePrometheusText(text: string, now: number): PrometheusParseResult {
  const result: PrometheusParseResult = { samples: [], errors: [], types: new Map(), help: new Map() };
  const errors: IngestError[] = result.errors;
  let lineNo = 0;
  let start = 0;
  const length = text.length;
  while (start < length) {
    let end = text.indexOf('\n', start);
    if (end === -1) end = length;
    lineNo++;
    let lineEnd = end;
    if (lineEnd > start && text.charCodeAt(lineEnd - 1) === 13) lineEnd--;
    const line = text.slice(start, lineEnd);
    start = end + 1;
    const pos = skipBlanks(line, 0);
    if (pos === line.length) continue;
    try {
      if (line.charCodeAt(pos) === HASH) parseCommentLine(line, pos, result);
      else result.samples.push(parseSampleLine(line, pos, now));
    } catch (err) {
      if (!(err instanceof LineError)) throw err;
      errors.push({ line: lineNo, message: err.message });
    }
  }
  return result;
}
