/**
 * @module window-stats
 * Statistics of the points a chart shows (per series: current, min, max, avg), and anomaly points: those whose
 * z-score against their series' mean and standard deviation is at least 2.5 in absolute value.
 */

export interface SeriesSummary {
  current: number | null;
  min: number | null;
  max: number | null;
  avg: number | null;
}

export const ANOMALY_Z = 2.5;

export function summarise(values: readonly (number | null)[]): SeriesSummary {
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  let sum = 0;
  let n = 0;
  let current: number | null = null;
  for (const v of values) {
    if (v === null || !Number.isFinite(v)) continue;
    if (v < min) min = v;
    if (v > max) max = v;
    sum += v;
    n++;
    current = v;
  }
  return n === 0 ? { current: null, min: null, max: null, avg: null } : { current, min, max, avg: sum / n };
}

export function anomalies(
  ts: readonly number[],
  values: readonly (number | null)[],
  z = ANOMALY_Z,
): [number, number][] {
  let sum = 0;
  let sq = 0;
  let n = 0;
  for (const v of values) {
    if (v === null || !Number.isFinite(v)) continue;
    sum += v;
    sq += v * v;
    n++;
  }
  if (n < 10) return [];
  const mean = sum / n;
  const sd = Math.sqrt(Math.max(0, sq / n - mean * mean));
  if (sd === 0) return [];
  const out: [number, number][] = [];
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v !== null && v !== undefined && Number.isFinite(v) && Math.abs((v - mean) / sd) >= z) out.push([ts[i]!, v]);
  }
  return out;
}
