/**
 * @module bench/ingest/influx-datasets
 * The three data sets of the VictoriaMetrics comparison (`versus.ts`), as InfluxDB line protocol with ms timestamps:
 * - `walk`: gauges doing a random walk with 2 decimals (steps of up to ±1.00, kept within 0..100), like CPU % or a
 *   load figure;
 * - `counter`: integer counters (`123i`) that grow by a random amount each second around a per-series rate spread
 *   log-uniformly from 1 to 100,000 a second, like request or byte counters;
 * - `noisy`: full-precision floats (a level, a slow sine and uniform noise, printed with every digit JavaScript
 *   gives), like a sensor or a computed ratio.
 * Each series has its own seeded generator, so a body depends only on the data set, the series count and where the
 * feed is; every target gets the same bytes. Lines are time-major: one second of every series, then the next.
 */
import { prng } from './dataset.js';

export type DatasetName = 'walk' | 'counter' | 'noisy';
export const DATASETS: readonly DatasetName[] = ['walk', 'counter', 'noisy'];

export function isDataset(name: string): name is DatasetName {
  return (DATASETS as readonly string[]).includes(name);
}

type Next = (second: number) => string;

function generator(dataset: DatasetName, index: number): Next {
  const rand = prng(0x5eed + index * 7919);
  switch (dataset) {
    case 'walk': {
      let v = 10 + rand() * 80;
      return () => {
        v = Math.min(100, Math.max(0, v + (rand() - 0.5) * 2));
        return String(Math.round(v * 100) / 100);
      };
    }
    case 'counter': {
      let v = Math.floor(rand() * 1e9);
      const rate = Math.exp(rand() * Math.log(100_000));
      return () => {
        v += Math.floor(rate * (0.5 + rand()));
        return `${v}i`;
      };
    }
    case 'noisy': {
      const level = 20 + rand() * 60;
      const amplitude = rand() * 10;
      const period = 600 + Math.floor(rand() * 3000);
      const noise = 0.1 + rand();
      return (second) => String(level + amplitude * Math.sin((2 * Math.PI * second) / period) + noise * (rand() - 0.5));
    }
  }
}

/** Line-protocol bodies of one data set: `series` series, 1 s apart from `baseTs`, `linesPerBody` lines each. */
export class InfluxFeed {
  private readonly heads: string[];
  private readonly next: Next[];
  private second = 0;
  private cursor = 0;

  constructor(
    readonly dataset: DatasetName,
    readonly series: number,
    private readonly baseTs: number,
  ) {
    this.heads = Array.from({ length: series }, (_, i) => `bench_${dataset},host=h${i} value=`);
    this.next = Array.from({ length: series }, (_, i) => generator(dataset, i));
  }

  /** The next `lines` lines as one body. */
  body(lines: number): Buffer {
    const parts: string[] = [];
    for (let k = 0; k < lines; k++) {
      const i = this.cursor;
      parts.push(`${this.heads[i]}${this.next[i]!(this.second)} ${this.baseTs + this.second * 1000}\n`);
      if (++this.cursor === this.series) {
        this.cursor = 0;
        this.second++;
      }
    }
    return Buffer.from(parts.join(''));
  }

  /** `total` lines cut into bodies of `linesPerBody`. */
  bodies(total: number, linesPerBody: number): Buffer[] {
    const out: Buffer[] = [];
    for (let sent = 0; sent < total; sent += linesPerBody) out.push(this.body(Math.min(linesPerBody, total - sent)));
    return out;
  }
}
