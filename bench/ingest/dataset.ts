/**
 * @module bench/ingest/dataset
 * Deterministic, realistic metric data shared by every ingest phase and by the plain-SQLite peer, so both store the
 * same samples. Series come in groups of four per host: CPU % (random walk, 1 or 2 decimals), a byte counter
 * (integer increments), memory in use (an integer gauge moving in 4 KiB pages) and a temperature (1 decimal).
 * Each series has its own seeded PRNG, so its values depend only on its index and how many were drawn.
 */

export type SeriesKind = 'cpu' | 'counter' | 'memory' | 'temp';
const KINDS: readonly SeriesKind[] = ['cpu', 'counter', 'memory', 'temp'];
const METRIC: Record<SeriesKind, string> = {
  cpu: 'host.cpu.usage',
  counter: 'host.net.rx_bytes',
  memory: 'host.mem.used_bytes',
  temp: 'host.sensor.temp_c',
};

/** mulberry32: a small, fast, seedable PRNG returning [0, 1). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class SeriesDef {
  readonly kind: SeriesKind;
  readonly metric: string;
  readonly host: string;
  /** Values are integers (counters and byte gauges): Influx line protocol sends them as `123i`. */
  readonly integer: boolean;
  private readonly rand: () => number;
  private value: number;
  private readonly decimals: number;

  constructor(
    readonly index: number,
    seed = 1,
  ) {
    this.kind = KINDS[index % KINDS.length]!;
    this.metric = METRIC[this.kind];
    this.host = `h${Math.floor(index / KINDS.length)}`;
    this.integer = this.kind === 'counter' || this.kind === 'memory';
    this.rand = prng(seed * 1_000_003 + index);
    const r = this.rand();
    this.decimals = this.kind === 'cpu' ? 1 + (Math.floor(index / KINDS.length) % 2) : 1;
    this.value =
      this.kind === 'cpu'
        ? 5 + r * 60
        : this.kind === 'counter'
          ? Math.floor(r * 1e9)
          : this.kind === 'memory'
            ? (1 + Math.floor(r * 8)) * 262_144 * 4096
            : 35 + r * 20;
  }

  /** The next value of the series (one per second of data). */
  next(): number {
    const r = this.rand();
    switch (this.kind) {
      case 'cpu': {
        const spike = r < 0.01 ? 40 : 0;
        const v = Math.min(100, Math.max(0, this.value + (this.rand() - 0.5) * 6 + spike));
        this.value = spike > 0 ? this.value : v;
        const f = 10 ** this.decimals;
        return Math.round(v * f) / f;
      }
      case 'counter':
        this.value += Math.floor(r * r * 200_000);
        return this.value;
      case 'memory':
        if (r < 0.3) this.value += (Math.floor(this.rand() * 9) - 4) * 4096;
        return this.value;
      default:
        this.value = Math.min(90, Math.max(20, this.value + (r - 0.5) * 0.4));
        return Math.round(this.value * 10) / 10;
    }
  }
}

export function seriesDefs(count: number, seed = 1): SeriesDef[] {
  return Array.from({ length: count }, (_, i) => new SeriesDef(i, seed));
}

/** The JSON text of one sample, minus the closing value: built once per series. */
export function jsonPrefix(s: SeriesDef): string {
  return `{"name":"${s.metric}","labels":{"host":"${s.host}"},"ts":`;
}

/** The line-protocol head of one series: `<measurement>,host=<h> value=`; the field `value` maps to the metric. */
export function influxPrefix(s: SeriesDef): string {
  return `${s.metric},host=${s.host} value=`;
}

/** Timestamps of one second of data; `jitterMs` adds a deterministic 0..jitter ms offset, as a real collector has. */
export function sampleTs(base: number, second: number, seriesIndex: number, jitterMs: number): number {
  if (jitterMs <= 0) return base + second * 1000;
  const h = Math.imul(second ^ Math.imul(seriesIndex, 0x9e3779b1), 0x85ebca6b) >>> 0;
  return base + second * 1000 + (h % (jitterMs + 1));
}
