/**
 * @module hot-ring
 * The in-memory ring of one series: the samples of the last `ringMs` (15 min by default) at full resolution, in two
 * typed arrays. It also keeps running sums over the newest `anomalyMs` (5 min by default) so that the z-score of the
 * latest sample costs O(1) per sample.
 *
 * Every ring draws its arrays from one `HotBudget` (`metrics.hot_max_bytes`): a ring holds nothing until its first
 * sample, grows by doubling only while the budget allows, and gives memory back: it halves when it holds a quarter of
 * its room or less, and when the budget is short the largest rings are halved (keeping their newest samples) so that
 * a smaller ring may grow. A ring that cannot grow drops its oldest sample for each new one. Samples dropped from a
 * ring are still in the metric store, which reads fall back to (`oldest()` tells where the ring starts).
 */

const INITIAL = 16;
const MAX_POINTS = 1 << 16;
/** Bytes per sample held: a Float64 timestamp and a Float64 value. */
export const BYTES_PER_POINT = 16;
const LEVELS = Math.log2(MAX_POINTS) + 1;

/** The shared memory budget of all hot rings, and the rings by size (for finding the largest quickly). */
export class HotBudget {
  /** Bytes of ring arrays held now. */
  used = 0;
  /** The most `used` has been. */
  peak = 0;
  /** Samples dropped from rings to stay within the budget (they remain in the store). */
  evicted = 0;
  /** Rings by log2 of their capacity. */
  private readonly levels: Set<HotRing>[] = Array.from({ length: LEVELS }, () => new Set<HotRing>());

  constructor(readonly maxBytes: number) {}

  /** Rings holding memory now. */
  get rings(): number {
    let n = 0;
    for (const level of this.levels) n += level.size;
    return n;
  }

  /** Moves `ring` from capacity `from` to capacity `to` (points; 0 for none), charging or crediting the bytes. */
  resize(ring: HotRing, from: number, to: number): void {
    if (from > 0) this.levels[Math.log2(from)]!.delete(ring);
    if (to > 0) this.levels[Math.log2(to)]!.add(ring);
    this.used += (to - from) * BYTES_PER_POINT;
    if (this.used > this.peak) this.peak = this.used;
  }

  /**
   * Makes room for `bytes` more, halving rings larger than `than` points (the largest first); true when the room is
   * there.
   */
  reclaim(bytes: number, than: number, except: HotRing): boolean {
    for (let level = LEVELS - 1; level >= 0 && this.used + bytes > this.maxBytes; level--) {
      if (1 << level <= than) break;
      for (const ring of [...this.levels[level]!]) {
        if (ring === except) continue;
        ring.shrink();
        if (this.used + bytes <= this.maxBytes) break;
      }
    }
    return this.used + bytes <= this.maxBytes;
  }

  /** Whether `bytes` more fit, making room from rings larger than `than` points when they do not. */
  take(bytes: number, than: number, ring: HotRing): boolean {
    return this.used + bytes <= this.maxBytes || this.reclaim(bytes, than, ring);
  }
}

/** A budget with no limit, for rings used on their own. */
const UNLIMITED = new HotBudget(Number.POSITIVE_INFINITY);

export class HotRing {
  /** Samples as pairs: the timestamp of point `i` at `2 * i`, its value at `2 * i + 1` (one memory line holds both). */
  private buf = new Float64Array(0);
  /** Points the ring can hold (half of `buf`'s length), a power of two or 0. */
  private cap = 0;
  private head = 0;
  private size = 0;
  /** Timestamp of the oldest point held, and of the oldest inside the anomaly window (Infinity when empty). */
  private headTs = Number.POSITIVE_INFINITY;
  private zStartTs = Number.POSITIVE_INFINITY;
  /** Number of newest samples inside the anomaly window, and their finite-value sums. */
  private zCount = 0;
  private zN = 0;
  private zSum = 0;
  private zSumSq = 0;

  constructor(private readonly budget: HotBudget = UNLIMITED) {}

  get length(): number {
    return this.size;
  }

  /** Points the arrays can hold. */
  get capacity(): number {
    return this.cap;
  }

  private at(i: number): number {
    return (this.head + i) & (this.cap - 1);
  }

  push(ts: number, value: number, ringMs: number, anomalyMs: number): void {
    if (this.size === this.cap) {
      const cap = this.cap;
      const next = cap === 0 ? INITIAL : cap * 2;
      const fits = next <= MAX_POINTS && this.budget.take((next - cap) * BYTES_PER_POINT, next, this);
      if (fits) this.resize(next);
      else {
        if (next <= MAX_POINTS) this.budget.evicted++;
        // No room for even one sample: the series lives in the store only until the budget frees up.
        if (this.size === 0) return;
        this.dropOldest();
      }
    }
    const i = this.at(this.size);
    this.buf[2 * i] = ts;
    this.buf[2 * i + 1] = value;
    if (this.size === 0) this.headTs = ts;
    this.size++;
    if (this.zCount === 0) this.zStartTs = ts;
    this.zCount++;
    if (Number.isFinite(value)) {
      this.zN++;
      this.zSum += value;
      this.zSumSq += value * value;
    }
    // The edges' timestamps are kept, so a push that moves neither reads nothing but the newest point.
    if (this.headTs < ts - ringMs) this.trim(ts - ringMs);
    const zFloor = ts - anomalyMs;
    while (this.zCount > 1 && this.zStartTs < zFloor) this.leaveWindow();
  }

  /** Drops samples older than `floor` (keeping the newest) and gives back room the ring no longer needs. */
  trim(floor: number): void {
    while (this.size > 1 && this.headTs < floor) this.dropOldest();
    const cap = this.cap;
    if (cap > INITIAL && this.size <= cap / 4) this.resize(cap / 2);
  }

  /** Halves the ring, keeping its newest samples: the budget takes room back. */
  shrink(): void {
    const cap = this.cap;
    if (cap === 0) return;
    const next = cap > INITIAL ? cap / 2 : 0;
    while (this.size > next) {
      this.dropOldest();
      this.budget.evicted++;
    }
    this.resize(next);
  }

  /** Gives all memory back (the series is gone). */
  release(): void {
    while (this.size > 0) this.dropOldest();
    this.resize(0);
  }

  /** Moves the oldest point of the anomaly window out of it. */
  private leaveWindow(): void {
    const j = this.at(this.size - this.zCount);
    const value = this.buf[2 * j + 1]!;
    this.zCount--;
    if (Number.isFinite(value)) {
      this.zN--;
      this.zSum -= value;
      this.zSumSq -= value * value;
    }
    this.zStartTs = this.zCount === 0 ? Number.POSITIVE_INFINITY : this.buf[2 * this.at(this.size - this.zCount)]!;
  }

  private dropOldest(): void {
    if (this.zCount === this.size) this.leaveWindow();
    this.head = (this.head + 1) & (this.cap - 1);
    this.size--;
    this.headTs = this.size === 0 ? Number.POSITIVE_INFINITY : this.buf[2 * this.head]!;
  }

  /** Moves the samples into arrays of `cap` points (at least `size`), charging the budget the difference. */
  private resize(cap: number): void {
    const buf = new Float64Array(2 * cap);
    for (let k = 0; k < this.size; k++) {
      const i = this.at(k);
      buf[2 * k] = this.buf[2 * i]!;
      buf[2 * k + 1] = this.buf[2 * i + 1]!;
    }
    this.budget.resize(this, this.cap, cap);
    this.buf = buf;
    this.cap = cap;
    this.head = 0;
  }

  /** Oldest timestamp held, or Infinity when empty. */
  oldest(): number {
    return this.headTs;
  }

  /** Calls `fn` for each sample with from <= ts <= to, oldest first. */
  forEach(from: number, to: number, fn: (ts: number, value: number) => void): void {
    for (let k = 0; k < this.size; k++) {
      const i = this.at(k);
      const t = this.buf[2 * i]!;
      if (t < from) continue;
      if (t > to) break;
      fn(t, this.buf[2 * i + 1]!);
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
