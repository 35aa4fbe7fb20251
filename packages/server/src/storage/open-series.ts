/**
 * @module storage/open-series
 * The in-memory side of one series between checkpoints: the durable samples not yet sealed into a chunk (the open
 * chunk), and the rollup arithmetic shared by checkpoints and queries.
 *
 * Rollup rule: NaN samples are left out of min, max, sum and count (a bucket holding only NaN does not exist). ±Infinity
 * counts like any other value, so a bucket holding both +Infinity and -Infinity has a NaN sum. The sum is a plain
 * left-to-right sum in timestamp order: a bucket that spans checkpoints continues from its stored row, so it is
 * bit-identical to summing the raw samples in order.
 */
import type { RollupPoint } from './metric-store.js';

const INITIAL_CAPACITY = 16;
/** Past this capacity an emptied buffer is given back rather than kept for reuse. */
const KEEP_CAPACITY = 4096;

export class OpenSeries {
  count = 0;
  ts: Float64Array;
  values: Float64Array;
  /** The values' IEEE-754 words, so copies never go through a JS number (which may canonicalise NaN payloads). */
  private words: Uint32Array;

  constructor(capacity = INITIAL_CAPACITY) {
    this.ts = new Float64Array(capacity);
    this.values = new Float64Array(capacity);
    this.words = new Uint32Array(this.values.buffer);
  }

  /** Appends samples `[from, to)` of `ts`, their values given as pairs of IEEE-754 words in `words`. */
  append(ts: Float64Array, words: Uint32Array, from: number, to: number): void {
    const n = to - from;
    if (this.count + n > this.ts.length) this.grow(Math.max(this.count + n, this.count * 2));
    const k = this.count;
    for (let i = 0; i < n; i++) this.ts[k + i] = ts[from + i];
    const w = this.words;
    for (let i = 0; i < 2 * n; i++) w[2 * k + i] = words[2 * from + i];
    this.count += n;
  }

  /** Forgets every sample (after they were sealed). */
  clear(): void {
    this.count = 0;
    if (this.ts.length > KEEP_CAPACITY) this.grow(INITIAL_CAPACITY);
  }

  get lastTs(): number {
    return this.count > 0 ? this.ts[this.count - 1] : Number.NEGATIVE_INFINITY;
  }

  /** Index of the first sample with ts >= t. */
  lowerBound(t: number): number {
    return lowerBound(this.ts, this.count, t);
  }

  /** Index of the first sample with ts > t. */
  upperBound(t: number): number {
    return upperBound(this.ts, this.count, t);
  }

  private grow(capacity: number): void {
    const ts = new Float64Array(capacity);
    const values = new Float64Array(capacity);
    ts.set(this.ts.subarray(0, this.count));
    values.set(this.values.subarray(0, this.count));
    this.ts = ts;
    this.values = values;
    this.words = new Uint32Array(values.buffer);
  }
}

/** Index of the first of the `count` sorted timestamps that is >= t. */
export function lowerBound(ts: ArrayLike<number>, count: number, t: number): number {
  let lo = 0;
  let hi = count;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (ts[mid] < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Index of the first of the `count` sorted timestamps that is > t. */
export function upperBound(ts: ArrayLike<number>, count: number, t: number): number {
  let lo = 0;
  let hi = count;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (ts[mid] <= t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Start of the bucket holding `ts`, aligned to the Unix epoch. */
export function bucketStart(ts: number, tierMs: number): number {
  return Math.floor(ts / tierMs) * tierMs;
}

/**
 * Rolls samples `[start, end)` of `ts`/`values` (timestamps non-decreasing) up into buckets of `tierMs`, oldest first.
 * `stored(bucketTs)` returns what is already stored for the first bucket, which the samples then continue; only the
 * first bucket can already exist, since stored rows come from older samples.
 */
export function rollupBuckets(
  ts: Float64Array,
  values: Float64Array,
  start: number,
  end: number,
  tierMs: number,
  stored: (bucketTs: number) => RollupPoint | undefined,
): RollupPoint[] {
  const out: RollupPoint[] = [];
  let cur: RollupPoint | undefined;
  for (let i = start; i < end; i++) {
    const v = values[i];
    if (Number.isNaN(v)) continue;
    const b = bucketStart(ts[i], tierMs);
    if (cur === undefined || cur.ts !== b) {
      const prev = out.length === 0 ? stored(b) : undefined;
      cur = prev === undefined ? { ts: b, min: v, max: v, sum: v, count: 1 } : { ...prev };
      if (prev !== undefined) addTo(cur, v);
      out.push(cur);
    } else {
      addTo(cur, v);
    }
  }
  return out;
}

function addTo(p: RollupPoint, v: number): void {
  p.min = Math.min(p.min, v);
  p.max = Math.max(p.max, v);
  p.sum += v;
  p.count++;
}
