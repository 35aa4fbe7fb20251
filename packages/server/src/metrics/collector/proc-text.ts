/**
 * @module metrics/collector/proc-text
 * Cheap helpers for reading and tokenising `/proc` text files without regular expressions: a read that never throws,
 * a whitespace field splitter that fills a reused array, and a sample push helper shared by the collector parts.
 */
import { readFileSync } from 'node:fs';
import type { Sample } from '../sample.js';

/** Reads a whole file as UTF-8, or returns undefined when it cannot be read (absent on this kernel, no access). */
export function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/**
 * Splits `text[start, end)` on runs of spaces and tabs into `out` (reused between calls; entries past the returned
 * count are stale). Returns the number of fields.
 */
export function splitFields(text: string, start: number, end: number, out: string[]): number {
  let n = 0;
  let i = start;
  while (i < end) {
    let c = text.charCodeAt(i);
    while (i < end && (c === 32 || c === 9)) c = text.charCodeAt(++i);
    if (i >= end) break;
    const fieldStart = i;
    while (i < end && c !== 32 && c !== 9) c = text.charCodeAt(++i);
    out[n++] = text.slice(fieldStart, i);
  }
  return n;
}

/** Index just past the end of the line that starts at `start` (the `\n` position, or the text length). */
export function lineEnd(text: string, start: number): number {
  const end = text.indexOf('\n', start);
  return end === -1 ? text.length : end;
}

/** Appends one sample. */
export function pushSample(
  out: Sample[],
  name: string,
  value: number,
  labels: Record<string, string>,
  ts: number,
): void {
  out.push({ name, value, labels, ts });
}

/** Per-second rate of a counter, or undefined when the counter went backwards (reset or wrap). */
export function ratePerSecond(current: number, previous: number, seconds: number): number | undefined {
  const delta = current - previous;
  return delta < 0 ? undefined : delta / seconds;
}

/**
 * The previous reading of a counters file (per device, interface or CPU), so that each collect can turn counters into
 * rates over the interval between two reads.
 */
export class CounterSnapshots<T> {
  private prev: Map<string, T> | undefined;
  private prevTs = 0;

  /** Keeps `current`; returns the previous reading and the seconds since it, or undefined on the first read. */
  advance(current: Map<string, T>, now: number): { prev: Map<string, T>; seconds: number } | undefined {
    const prev = this.prev;
    const elapsedMs = now - this.prevTs;
    this.prev = current;
    this.prevTs = now;
    if (prev === undefined || elapsedMs <= 0) return undefined;
    return { prev, seconds: elapsedMs / 1000 };
  }
}
