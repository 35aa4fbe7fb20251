/**
 * @module metrics/collector/cpu-times
 * CPU time shares from `/proc/stat`: the `cpu` line (total) and the `cpuN` lines (per core) hold cumulative jiffies
 * `user nice system idle iowait irq softirq steal guest guest_nice`. Percentages need two snapshots, so the first
 * collect only records a baseline. Shares follow vmstat: user = user + nice, system = system + irq + softirq; guest
 * time is already inside user and is not counted twice. Every counter delta is clamped at 0 (iowait and idle can step
 * backwards on some kernels).
 */
import type { Sample } from '../sample.js';
import { lineEnd, pushSample, readText, splitFields } from './proc-text.js';

/** Indexes into a snapshot row. */
const USER = 0;
const NICE = 1;
const SYSTEM = 2;
const IDLE = 3;
const IOWAIT = 4;
const IRQ = 5;
const SOFTIRQ = 6;
const STEAL = 7;
const COLUMNS = 8;

/** Parses the cpu lines of `/proc/stat` into rows of 8 cumulative counters, keyed `total`, `0`, `1`, ... */
export function parseCpuTimes(text: string): Map<string, Float64Array> {
  const rows = new Map<string, Float64Array>();
  const fields: string[] = [];
  let start = 0;
  while (start < text.length && text.startsWith('cpu', start)) {
    const end = lineEnd(text, start);
    const n = splitFields(text, start, end, fields);
    if (n >= 5) {
      const id = fields[0] === 'cpu' ? 'total' : fields[0].slice(3);
      const row = new Float64Array(COLUMNS);
      for (let i = 0; i < COLUMNS && i + 1 < n; i++) {
        const v = Number(fields[i + 1]);
        row[i] = Number.isFinite(v) ? v : 0;
      }
      rows.set(id, row);
    }
    start = end + 1;
  }
  return rows;
}

function delta(cur: Float64Array, prev: Float64Array, i: number): number {
  const d = cur[i] - prev[i];
  return Math.max(d, 0);
}

function clampPercent(v: number): number {
  return Math.min(100, Math.max(0, v));
}

/** Emits `system.cpu.*` percentages over the interval since the previous call. */
export class CpuTimesCollector {
  private prev: Map<string, Float64Array> | undefined;

  constructor(private readonly path: string) {}

  collect(now: number, out: Sample[]): void {
    const text = readText(this.path);
    if (text === undefined) return;
    const rows = parseCpuTimes(text);
    const prev = this.prev;
    this.prev = rows;
    if (prev === undefined) return;
    for (const [id, cur] of rows) {
      const before = prev.get(id);
      if (before === undefined) continue;
      let total = 0;
      for (let i = 0; i < COLUMNS; i++) total += delta(cur, before, i);
      if (total <= 0) continue;
      const scale = 100 / total;
      const idle = delta(cur, before, IDLE) * scale;
      const iowait = delta(cur, before, IOWAIT) * scale;
      const user = (delta(cur, before, USER) + delta(cur, before, NICE)) * scale;
      const system = (delta(cur, before, SYSTEM) + delta(cur, before, IRQ) + delta(cur, before, SOFTIRQ)) * scale;
      const steal = delta(cur, before, STEAL) * scale;
      pushSample(out, 'system.cpu.usage', clampPercent(100 - idle - iowait), { cpu: id }, now);
      pushSample(out, 'system.cpu.user', clampPercent(user), { cpu: id }, now);
      pushSample(out, 'system.cpu.system', clampPercent(system), { cpu: id }, now);
      pushSample(out, 'system.cpu.iowait', clampPercent(iowait), { cpu: id }, now);
      pushSample(out, 'system.cpu.steal', clampPercent(steal), { cpu: id }, now);
      pushSample(out, 'system.cpu.idle', clampPercent(idle), { cpu: id }, now);
    }
  }
}
