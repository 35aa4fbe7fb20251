/**
 * @module hot-ring
 * The in-memory ring of one series: every sample of the last `ringMs` (15 min by default) at full resolution, in
 * two growable typed arrays. It also keeps running sums over the newest `anomalyMs` (5 min by default) so that the
 * z-score of the latest sample costs O(1) per sample.
 */

const INITIAL = 16;
const MAX_POINTS = 1 << 16;

export class HotRing {
  private ts = new Float64Array(INITIAL);
  private values = new Float64Array(INITIAL);
  private head = 0;
  private size = 0;
  /** Number of newest samples inside the anomaly window, and their finite-value sums. */
  private zCount = 0;
  private zN = 0;
  private zSum = 0;
  private zSumSq = 0;

  get length(): number {
    return this.size;
  }

  private at(i: number): number {
    return (this.head + i) & (this.ts.length - 1);
  }

  push(ts: number, value: number, ringMs: number, anomalyMs: number): void {
    if (this.size === this.ts.length) {
      if (this.size < MAX_POINTS) this.grow();
      else this.dropOldest();
    }
    const i = this.at(this.size);
    this.ts[i] = ts;
    this.values[i] = value;
    this.size++;
    this.zCount++;
    if (Number.isFinite(value)) {
      this.zN++;
      this.zSum += value;
      this.zSumSq += value * value;
    }
    const ringFloor = ts - ringMs;
    while (this.size > 1 && this.ts[this.head]! < ringFloor) this.dropOldest();
    const zFloor = ts - anomalyMs;
    while (this.zCount > 1) {
      const j = this.at(this.size - this.zCount);
      if (this.ts[j]! >= zFloor) break;
      this.leaveWindow(this.values[j]!);
    }
  }

  private leaveWindow(value: number): void {
    this.zCount--;
    if (Number.isFinite(value)) {
      this.zN--;
      this.zSum -= value;
      this.zSumSq -= value * value;
    }
  }

  private dropOldest(): void {
    if (this.zCount === this.size) this.leaveWindow(this.values[this.head]!);
    this.head = (this.head + 1) & (this.ts.length - 1);
    this.size--;
  }

  private grow(): void {
    const cap = this.ts.length * 2;
    const ts = new Float64Array(cap);
    const values = new Float64Array(cap);
    for (let k = 0; k < this.size; k++) {
      const i = this.at(k);
      ts[k] = this.ts[i]!;
      values[k] = this.values[i]!;
    }
    this.ts = ts;
    this.values = values;
    this.head = 0;
  }

  /** Oldest timestamp held, or Infinity when empty. */
  oldest(): number {
    return this.size === 0 ? Number.POSITIVE_INFINITY : this.ts[this.head]!;
  }

  /** Calls `fn` for each sample with from <= ts <= to, oldest first. */
  forEach(from: number, to: number, fn: (ts: number, value: number) => void): void {
    for (let k = 0; k < this.size; k++) {
      const i = this.at(k);
      const t = this.ts[i]!;
      if (t < from) continue;
      if (t > to) break;
      fn(t, this.values[i]!);
    }
  }

  /** Mean and standard deviation of the finite values in the anomaly window, and its sample count. */
  window(): { n: number; mean: number; stddev: number } {
    const n = this.zN;
    if (n === 0) return { n: 0, mean: Number.NaN, stddev: Number.NaN };
    const mean = this.zSum / n;
    const variance = Math.max(0, this.zSumSq / n - mean * mean);
    return { n, mean, stddev: Math.sqrt(variance) };
  }

  /** The z-score of `value` against the anomaly window; 0 when the window is flat, NaN with fewer than 3 samples. */
  zscore(value: number): number {
    const w = this.window();
    if (w.n < 3 || !Number.isFinite(value)) return Number.NaN;
    if (w.stddev === 0 || w.stddev < Math.abs(w.mean) * 1e-12) return 0;
    return (value - w.mean) / w.stddev;
  }
}
