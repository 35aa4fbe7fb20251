/**
 * @module use-metric
 * `useMetric(name, {labels, windowMs})`: a rolling window of `[ts, value]` points from the `metrics.<name>` channel,
 * oldest first. `labels` selects series (every listed label must match); the match is done here rather than by a
 * server filter, so that several charts of one metric share one subscription.
 */
import { useEffect, useState } from 'react';
import { createBatcher } from './batch.js';
import { useVigilClient } from './provider.js';

export type MetricPoint = readonly [ts: number, value: number];

export interface UseMetricOptions {
  labels?: Record<string, string>;
  /** How far back to keep points, ms. Default 60,000. */
  windowMs?: number;
  /** Most points kept. Default 10,000. */
  maxPoints?: number;
}

export const DEFAULT_METRIC_WINDOW_MS = 60_000;
export const DEFAULT_METRIC_MAX_POINTS = 10_000;

export function useMetric(name: string, options: UseMetricOptions = {}): MetricPoint[] {
  const client = useVigilClient();
  const [points, setPoints] = useState<MetricPoint[]>([]);
  const windowMs = options.windowMs ?? DEFAULT_METRIC_WINDOW_MS;
  const maxPoints = Math.max(1, options.maxPoints ?? DEFAULT_METRIC_MAX_POINTS);
  const labelsKey = JSON.stringify(options.labels ?? {});
  useEffect(() => {
    if (!client || client.state === 'closed') return;
    const wanted = Object.entries(JSON.parse(labelsKey) as Record<string, string>);
    let buffer: MetricPoint[] = [];
    const trim = (list: MetricPoint[]): MetricPoint[] => {
      const cutoff = Date.now() - windowMs;
      let start = 0;
      while (start < list.length && list[start]![0] < cutoff) start++;
      start = Math.max(start, list.length - maxPoints);
      return start > 0 ? list.slice(start) : list;
    };
    const batcher = createBatcher(() => {
      const batch = buffer;
      buffer = [];
      setPoints((prev) => trim(prev.concat(batch).sort((a, b) => a[0] - b[0])));
    });
    setPoints((prev) => (prev.length === 0 ? prev : []));
    const sub = client.subscribe(`metrics.${name}`);
    sub.on('event', (e) => {
      if (e.kind !== 'metric_update') return;
      const { ts, value, labels } = e.data;
      if (typeof ts !== 'number' || typeof value !== 'number') return;
      for (const [k, v] of wanted) if (labels?.[k] !== v) return;
      buffer.push([ts, value]);
      if (buffer.length > maxPoints) buffer.splice(0, buffer.length - maxPoints);
      batcher.schedule();
    });
    return () => {
      batcher.cancel();
      sub.unsubscribe();
    };
  }, [client, name, labelsKey, windowMs, maxPoints]);
  return points;
}
