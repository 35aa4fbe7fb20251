/**
 * @module query
 * Range queries over one metric: parse the time range, pick the storage tier from the step (raw below 1 m, the 1 m
 * rollups from 1 m, the 1 h rollups from 1 h, or a coarser tier when the range starts before a tier's retention),
 * bucket by step and aggregate. Raw data inside the hot window comes from memory.
 *
 * On rollup tiers, aggregates that need raw samples are approximated: `last` is the bucket average, `p95` the
 * bucket maximum, and `rate` the difference of bucket maxima per second (right for counters, which only grow).
 *
 * A query is bounded before any work: at most `maxQuerySeries` series and `maxResponsePoints` points in the answer
 * (series times points per series). Its series are worked through one at a time, and the query gives the event loop
 * back (setImmediate) whenever it has run for `SLICE_MS`, so other clients are served while a large query runs.
 */
import { type RangeResult, VigilError } from '@vigil/protocol';
import { parseDuration } from '../config/duration.js';
import type { MetricStore, RetentionPolicy, RollupPoint } from '../storage/metric-store.js';
import { parseRfc3339 } from './sample.js';
import { labelsMatch, type Series, type SeriesRegistry } from './series-registry.js';
import { quantile } from './window-stats.js';

export const AGGS = ['avg', 'min', 'max', 'sum', 'count', 'last', 'rate', 'p95'] as const;
export type Agg = (typeof AGGS)[number];
export type Tier = 'raw' | '1m' | '1h';

export interface QueryRequest {
  from?: string | number;
  to?: string | number;
  step?: string | number;
  agg?: string;
  labels?: Record<string, string>;
}

/** The wire form of a range query's answer. */
export type QueryResult = RangeResult;

export interface QueryOptions {
  ringMs: number;
  /** Most points per series. */
  maxPoints: number;
  /** Most series one query may cover. */
  maxQuerySeries: number;
  /** Most points in one answer, all series together. */
  maxResponsePoints: number;
  retention: RetentionPolicy;
  /** The store is shared by the nodes of a cluster: raw reads go to it, not to this node's hot ring. */
  sharedStore?: boolean;
}

/** Longest stretch a query (or its serialization) runs before it lets other work in. */
export const SLICE_MS = 10;

/** A cooperative pause: resolves after the event loop has handled pending I/O. */
export function yieldToLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Calls `fn` for each item, yielding to the event loop whenever SLICE_MS has passed since the last yield. */
export async function forEachSliced<T, R>(items: readonly T[], fn: (item: T) => R | Promise<R>): Promise<R[]> {
  const out: R[] = [];
  let sliceStart = performance.now();
  for (const item of items) {
    out.push(await fn(item));
    if (performance.now() - sliceStart >= SLICE_MS) {
      await yieldToLoop();
      sliceStart = performance.now();
    }
  }
  return out;
}

/** `now`, `now-15m`, `-15m`, ms since the epoch, or RFC 3339. */
export function parseTime(value: string | number | undefined, now: number, fallback: number, name: string): number {
  if (value === undefined || value === '') return fallback;
  if (typeof value === 'number') return value;
  const v = value.trim();
  if (v === 'now') return now;
  const rel = /^(?:now)?-(.+)$/.exec(v);
  if (rel) {
    const d = parseDuration(rel[1]);
    if (d !== undefined) return now - d;
  }
  if (/^\d+$/.test(v)) return Number(v);
  const ts = parseRfc3339(v);
  if (ts !== undefined) return ts;
  throw new VigilError('bad_request', `${name}: expected ms since the epoch, RFC 3339, 'now' or 'now-<duration>'`, {
    path: name,
  });
}

/**
 * The JSON text of a query answer, built one series at a time with the same yields as the query, so that a large
 * answer does not hold the event loop while it is serialized.
 */
export async function queryResultJson(result: QueryResult): Promise<string> {
  const { series, ...head } = result;
  const parts = await forEachSliced(series, (s) => JSON.stringify(s));
  const prefix = JSON.stringify(head);
  return `${prefix.slice(0, -1)}${prefix.length > 2 ? ',' : ''}"series":[${parts.join(',')}]}`;
}

export class MetricQuery {
  /** Queries being worked on now. */
  running = 0;

  constructor(
    private readonly registry: SeriesRegistry,
    private readonly store: MetricStore,
    private readonly o: QueryOptions,
  ) {}

  async run(metric: string, req: QueryRequest, now = Date.now()): Promise<QueryResult> {
    const to = parseTime(req.to, now, now, 'to');
    const from = parseTime(req.from, now, to - 15 * 60_000, 'from');
    if (!(from < to)) throw new VigilError('bad_request', '`from` must be before `to`', { path: 'from' });
    const agg = (req.agg ?? 'avg') as Agg;
    if (!AGGS.includes(agg)) {
      throw new VigilError('bad_request', `agg must be one of ${AGGS.join(', ')}`, { path: 'agg' });
    }
    let step: number;
    if (req.step === undefined || req.step === '') {
      step = Math.max(1000, Math.ceil((to - from) / 1000 / 1000) * 1000);
    } else {
      const parsed = parseDuration(
        typeof req.step === 'string' && /^\d+$/.test(req.step) ? Number(req.step) : req.step,
      );
      if (parsed === undefined || parsed < 1) {
        throw new VigilError('bad_request', 'step must be a duration such as 10s or 1m, or ms', { path: 'step' });
      }
      step = parsed;
    }
    const points = Math.ceil((to - from) / step);
    if (points > this.o.maxPoints) {
      throw new VigilError(
        'bad_request',
        `The query asks for ${points} points per series; the limit is ${this.o.maxPoints}. Use a larger step.`,
        { path: 'step', limit: this.o.maxPoints },
      );
    }
    const tier = this.pickTier(step, from, now);
    const series = this.select(metric, req.labels);
    const planned = series.length * points;
    if (planned > this.o.maxResponsePoints) {
      throw new VigilError(
        'bad_request',
        `The query asks for ${planned} points (${series.length} series × ${points}); the limit per answer is ` +
          `${this.o.maxResponsePoints} (metrics.max_response_points). Use a larger step, a shorter range or a ` +
          'narrower label filter.',
        { path: 'step', limit: this.o.maxResponsePoints, points: planned, series: series.length },
      );
    }
    this.running++;
    try {
      return {
        metric,
        from,
        to,
        step,
        agg,
        tier,
        series: await forEachSliced(series, async (s) => ({
          labels: { ...s.labels },
          points:
            tier === 'raw'
              ? await this.fromRaw(s, from, to, step, agg)
              : await this.fromRollup(s, tier, from, to, step, agg),
        })),
      };
    } finally {
      this.running--;
    }
  }

  /**
   * The series of `metric` matching `labels`; more than `maxQuerySeries` of them answers `bad_request` naming the
   * limit.
   */
  select(metric: string, labels: Record<string, string> | undefined): Series[] {
    const series = this.registry.ofMetric(metric).filter((s) => labelsMatch(s.labels, labels));
    if (series.length > this.o.maxQuerySeries) {
      throw new VigilError(
        'bad_request',
        `The query covers ${series.length} series of '${metric}'; the limit is ${this.o.maxQuerySeries} ` +
          '(metrics.max_query_series). Narrow it with a label filter.',
        { path: 'labels', limit: this.o.maxQuerySeries, series: series.length },
      );
    }
    return series;
  }

  pickTier(step: number, from: number, now: number): Tier {
    const r = this.o.retention;
    let tier: Tier = step >= 3_600_000 ? '1h' : step >= 60_000 ? '1m' : 'raw';
    if (tier === 'raw' && from < now - r.rawMs) tier = '1m';
    if (tier === '1m' && from < now - r.oneMinuteMs) tier = '1h';
    return tier;
  }

  /**
   * Raw samples of a series in [from, to]: from the hot ring when it covers the range, else from the store. A store
   * that the nodes of a cluster share is always read (once the series has its id): this node's ring holds only the
   * samples this node took in, while the store holds every node's.
   */
  async raw(s: Series, from: number, to: number): Promise<{ ts: ArrayLike<number>; values: ArrayLike<number> }> {
    if ((this.o.sharedStore !== true || s.id < 0) && from >= s.ring.oldest()) {
      const ts: number[] = [];
      const values: number[] = [];
      s.ring.forEach(from, to, (t, v) => {
        ts.push(t);
        values.push(v);
      });
      return { ts, values };
    }
    if (s.id < 0) return { ts: [], values: [] };
    return this.store.readRaw(s.id, from, to);
  }

  private async fromRaw(
    s: Series,
    from: number,
    to: number,
    step: number,
    agg: Agg,
  ): Promise<[number, number | null][]> {
    // One sample before `from` lets `rate` count the increase into the first bucket.
    const { ts, values } = await this.raw(s, agg === 'rate' ? from - step : from, to);
    const out: [number, number | null][] = [];
    let bucket = Number.NaN;
    let acc: number[] = [];
    let prev = Number.NaN;
    const close = () => {
      if (acc.length > 0 || agg === 'rate') out.push([bucket, reduce(acc, agg, step)]);
      acc = [];
    };
    for (let i = 0; i < ts.length; i++) {
      const t = ts[i]!;
      const v = values[i]!;
      if (agg === 'rate') {
        const increase = Number.isNaN(prev) ? Number.NaN : v >= prev ? v - prev : v;
        prev = v;
        if (t < from || Number.isNaN(increase)) continue;
        const b = Math.floor(t / step) * step;
        if (b !== bucket) {
          if (!Number.isNaN(bucket)) close();
          bucket = b;
        }
        acc.push(increase);
        continue;
      }
      const b = Math.floor(t / step) * step;
      if (b !== bucket) {
        if (!Number.isNaN(bucket)) close();
        bucket = b;
      }
      acc.push(v);
    }
    if (!Number.isNaN(bucket)) close();
    return out;
  }

  private async fromRollup(s: Series, tier: '1m' | '1h', from: number, to: number, step: number, agg: Agg) {
    const rows = s.id < 0 ? [] : await this.store.readRollup(s.id, tier, from, to);
    const out: [number, number | null][] = [];
    let cur: RollupPoint | undefined;
    let prevMax = Number.NaN;
    const flush = () => {
      if (!cur) return;
      let value: number | null;
      switch (agg) {
        case 'min':
          value = cur.min;
          break;
        case 'max':
        case 'p95':
          value = cur.max;
          break;
        case 'sum':
          value = cur.sum;
          break;
        case 'count':
          value = cur.count;
          break;
        case 'rate':
          value = Number.isNaN(prevMax) ? null : (cur.max >= prevMax ? cur.max - prevMax : cur.max) / (step / 1000);
          prevMax = cur.max;
          break;
        default:
          value = cur.count > 0 ? cur.sum / cur.count : null;
      }
      out.push([cur.ts, value]);
    };
    for (const r of rows) {
      const b = Math.floor(r.ts / step) * step;
      if (cur && cur.ts === b) {
        cur.min = Math.min(cur.min, r.min);
        cur.max = Math.max(cur.max, r.max);
        cur.sum += r.sum;
        cur.count += r.count;
      } else {
        flush();
        cur = { ts: b, min: r.min, max: r.max, sum: r.sum, count: r.count };
      }
    }
    flush();
    return agg === 'rate' ? out.filter((p) => p[1] !== null) : out;
  }
}

function reduce(values: number[], agg: Agg, step: number): number | null {
  const finite = values.filter((v) => Number.isFinite(v));
  if (agg === 'count') return finite.length;
  if (agg === 'last') return values.length > 0 ? values[values.length - 1]! : null;
  if (finite.length === 0) return agg === 'rate' || agg === 'sum' ? 0 : null;
  switch (agg) {
    case 'min':
      return finite.reduce((a, b) => Math.min(a, b));
    case 'max':
      return finite.reduce((a, b) => Math.max(a, b));
    case 'sum':
      return finite.reduce((a, b) => a + b, 0);
    case 'rate':
      return finite.reduce((a, b) => a + b, 0) / (step / 1000);
    case 'p95':
      return quantile(Float64Array.from(finite).sort(), 0.95);
    default:
      return finite.reduce((a, b) => a + b, 0) / finite.length;
  }
}
