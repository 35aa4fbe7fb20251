/**
 * @module metrics/collector/net-io
 * Network throughput per interface from `/proc/net/dev` (the hub's network namespace). Rates need two snapshots, so
 * the first collect only records a baseline; a counter that goes backwards skips one interval. Skipped: `veth*`
 * (container pair ends, which churn and repeat the bridge's traffic) and interfaces with no traffic since boot.
 */
import type { Sample } from '../sample.js';
import { CounterSnapshots, lineEnd, pushSample, ratePerSecond, readText, splitFields } from './proc-text.js';

/** Columns of `/proc/net/dev` after the interface name, and the metric each one feeds. */
const COLUMNS: ReadonlyArray<readonly [index: number, metric: string]> = [
  [0, 'system.net.rx_bytes_per_s'],
  [1, 'system.net.rx_packets_per_s'],
  [2, 'system.net.rx_errors_per_s'],
  [3, 'system.net.rx_drops_per_s'],
  [8, 'system.net.tx_bytes_per_s'],
  [9, 'system.net.tx_packets_per_s'],
  [10, 'system.net.tx_errors_per_s'],
  [11, 'system.net.tx_drops_per_s'],
];

/** Parses `/proc/net/dev` into the 16 counters of each used interface. */
export function parseNetDev(text: string): Map<string, Float64Array> {
  const result = new Map<string, Float64Array>();
  const fields: string[] = [];
  let start = 0;
  while (start < text.length) {
    const end = lineEnd(text, start);
    const colon = text.indexOf(':', start);
    const lineStart = start;
    start = end + 1;
    if (colon === -1 || colon > end) continue; // the two header lines have no colon
    const name = text.slice(lineStart, colon).trim();
    if (name === '' || name.startsWith('veth')) continue;
    const n = splitFields(text, colon + 1, end, fields);
    if (n < 16) continue;
    const row = new Float64Array(16);
    let sum = 0;
    for (let i = 0; i < 16; i++) {
      const v = Number(fields[i]);
      row[i] = Number.isFinite(v) ? v : 0;
      sum += row[i];
    }
    if (sum > 0) result.set(name, row);
  }
  return result;
}

export class NetIoCollector {
  private readonly snapshots = new CounterSnapshots<Float64Array>();

  constructor(private readonly path: string) {}

  collect(now: number, out: Sample[]): void {
    const text = readText(this.path);
    if (text === undefined) return;
    const current = parseNetDev(text);
    const step = this.snapshots.advance(current, now);
    if (step === undefined) return;
    const { prev, seconds } = step;
    for (const [iface, row] of current) {
      const before = prev.get(iface);
      if (before === undefined) continue;
      let reset = false;
      for (const [i] of COLUMNS) if (row[i] < before[i]) reset = true;
      if (reset) continue;
      for (const [i, metric] of COLUMNS) {
        pushSample(out, metric, ratePerSecond(row[i], before[i], seconds) ?? 0, { interface: iface }, now);
      }
    }
  }
}
