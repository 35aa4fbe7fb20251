/**
 * @module window-stats
 * Statistics over a window of samples: count, min, max, avg, median, stddev, p95 and trend (the least-squares slope,
 * in units per second). Non-finite values are left out.
 */

import type { WindowStats } from '@vigil/protocol';

export type { WindowStats };

/** Linear-interpolated quantile (q in [0,1]) of sorted values. */
export function quantile(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 1) return sorted[0]!;
  const pos = (n - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

export function windowStats(ts: ArrayLike<number>, values: ArrayLike<number>): WindowStats {
  const xs: number[] = [];
  const vs: number[] = [];
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (Number.isFinite(v)) {
      xs.push(ts[i]!);
      vs.push(v);
    }
  }
  const n = vs.length;
  if (n === 0) return { count: 0, min: null, max: null, avg: null, median: null, stddev: null, p95: null, trend: null };
  let sum = 0;
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (const v of vs) {
    sum += v;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const avg = sum / n;
  let sq = 0;
  for (const v of vs) sq += (v - avg) * (v - avg);
  const sorted = Float64Array.from(vs).sort();
  let trend: number | null = null;
  if (n >= 2) {
    const x0 = xs[0]!;
    let sx = 0;
    let sxx = 0;
    let sxy = 0;
    for (let i = 0; i < n; i++) {
      const x = (xs[i]! - x0) / 1000;
      sx += x;
      sxx += x * x;
      sxy += x * vs[i]!;
    }
    const den = n * sxx - sx * sx;
    trend = den === 0 ? 0 : (n * sxy - sx * sum) / den;
  }
  return {
    count: n,
    min,
    max,
    avg,
    median: quantile(sorted, 0.5),
    stddev: Math.sqrt(sq / n),
    p95: quantile(sorted, 0.95),
    trend,
  };
}
