/**
 * @module series-store
 * Live metric series for the charts: one subscription (`metrics.system.>`, say) feeds columnar buffers per series
 * (`metric{labels}`), and listeners hear about new points once per animation frame, however many arrived. History
 * from the range API is kept beside the live points, so that a chart shows the range's history up to the first
 * live point and the live points after it; live mode appends without refetching.
 */
import type { VigilClient } from '@vigil/client';
import { createBatcher } from '@vigil/client/react';
import type { RangeResult } from '@vigil/protocol';
import { seriesKey } from '../lib/format.js';

export interface Column {
  ts: number[];
  val: (number | null)[];
}

export interface StoredSeries {
  key: string;
  metric: string;
  labels: Record<string, string>;
  live: Column;
  history: Column;
}

/** Live points kept per series: an hour at one a second. Longer live ranges refetch their history instead. */
export const MAX_LIVE_POINTS = 3600;

export class SeriesStore {
  readonly series = new Map<string, StoredSeries>();
  /** Bumped once per batch of new points. */
  version = 0;
  /** ms since the epoch of the first live point of each metric (the first-point marks of the bench use it). */
  readonly firstLive = new Map<string, number>();
  private readonly listeners = new Set<() => void>();
  private readonly batcher = createBatcher(() => {
    this.version++;
    for (const l of this.listeners) l();
  });
  private unsubscribe: (() => void) | undefined;

  constructor(client: VigilClient, patterns: string[]) {
    const sub = client.subscribe(patterns, { mode: 'latest' });
    sub.on('event', (e) => {
      if (e.kind !== 'metric_update') return;
      const d = e.data as { metric?: unknown; ts?: unknown; value?: unknown; labels?: Record<string, string> };
      if (typeof d.metric !== 'string' || typeof d.ts !== 'number') return;
      this.append(d.metric, d.labels ?? {}, d.ts, typeof d.value === 'number' ? d.value : null);
    });
    this.unsubscribe = () => sub.unsubscribe();
  }

  close(): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    this.batcher.cancel();
    this.listeners.clear();
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  private entry(metric: string, labels: Record<string, string>): StoredSeries {
    const key = seriesKey(metric, labels);
    let s = this.series.get(key);
    if (!s) {
      s = { key, metric, labels, live: { ts: [], val: [] }, history: { ts: [], val: [] } };
      this.series.set(key, s);
    }
    return s;
  }

  append(metric: string, labels: Record<string, string>, ts: number, value: number | null): void {
    const s = this.entry(metric, labels);
    const live = s.live;
    const last = live.ts.length > 0 ? live.ts[live.ts.length - 1]! : -1;
    if (ts <= last) return;
    live.ts.push(ts);
    live.val.push(value);
    if (live.ts.length > MAX_LIVE_POINTS + 600) {
      live.ts.splice(0, live.ts.length - MAX_LIVE_POINTS);
      live.val.splice(0, live.val.length - MAX_LIVE_POINTS);
    }
    if (!this.firstLive.has(metric)) this.firstLive.set(metric, performance.now());
    this.batcher.schedule();
  }

  /** Replaces the history of every series of a range answer. */
  setHistory(result: RangeResult): void {
    for (const r of result.series) {
      const s = this.entry(result.metric, r.labels);
      s.history = { ts: r.points.map((p) => p[0]), val: r.points.map((p) => p[1]) };
    }
    this.batcher.schedule();
  }

  /** The series of `metric` whose labels include every pair of `labels`, sorted by key. */
  select(metric: string, labels: Record<string, string> = {}): StoredSeries[] {
    const want = Object.entries(labels);
    const out: StoredSeries[] = [];
    for (const s of this.series.values()) {
      if (s.metric !== metric) continue;
      // An empty wanted value selects series without that label (the hub's own, not an agent's `host`).
      if (want.every(([k, v]) => (v === '' ? (s.labels[k] ?? '') === '' : s.labels[k] === v))) out.push(s);
    }
    return out.sort((a, b) => (a.key < b.key ? -1 : 1));
  }
}

/** History before the first live point, then the live points, within `[from, to]`. */
export function columnOf(s: StoredSeries, from: number, to: number, live: boolean): Column {
  const ts: number[] = [];
  const val: (number | null)[] = [];
  const firstLive = live && s.live.ts.length > 0 ? s.live.ts[0]! : Number.POSITIVE_INFINITY;
  const h = s.history;
  for (let i = 0; i < h.ts.length; i++) {
    const t = h.ts[i]!;
    if (t >= from && t <= to && t < firstLive) {
      ts.push(t);
      val.push(h.val[i]!);
    }
  }
  if (live) {
    const l = s.live;
    let i = lowerBound(l.ts, from);
    for (; i < l.ts.length && l.ts[i]! <= to; i++) {
      ts.push(l.ts[i]!);
      val.push(l.val[i]!);
    }
  }
  return { ts, val };
}

function lowerBound(a: number[], x: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** uPlot's aligned data: one x array (the union of the columns' timestamps) and one y array per column. */
export function align(columns: Column[]): [number[], ...(number | null)[][]] {
  if (columns.length === 1) return [columns[0]!.ts, columns[0]!.val];
  const xs: number[] = [];
  const idx = columns.map(() => 0);
  const ys: (number | null)[][] = columns.map(() => []);
  for (;;) {
    let next = Number.POSITIVE_INFINITY;
    for (let c = 0; c < columns.length; c++) {
      const t = columns[c]!.ts[idx[c]!];
      if (t !== undefined && t < next) next = t;
    }
    if (next === Number.POSITIVE_INFINITY) break;
    xs.push(next);
    for (let c = 0; c < columns.length; c++) {
      const col = columns[c]!;
      if (col.ts[idx[c]!] === next) {
        ys[c]!.push(col.val[idx[c]!]!);
        idx[c] = idx[c]! + 1;
      } else ys[c]!.push(null);
    }
  }
  return [xs, ...ys];
}
