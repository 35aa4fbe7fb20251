/**
 * @module metrics/collector/memory-info
 * Memory and swap from `/proc/meminfo` (values in kB). Used memory is `MemTotal - MemAvailable`, as `free` reports
 * it since procps 4; kernels without `MemAvailable` (before 3.14) fall back to `MemFree + Buffers + Cached`.
 * Cached is `Cached + SReclaimable` (page cache plus reclaimable slab), buffers are reported apart.
 */
import type { Sample } from '../sample.js';
import { lineEnd, pushSample, readText } from './proc-text.js';

const WANTED = new Set([
  'MemTotal',
  'MemFree',
  'MemAvailable',
  'Buffers',
  'Cached',
  'SReclaimable',
  'SwapTotal',
  'SwapFree',
]);

/** Parses the wanted `/proc/meminfo` keys into bytes. */
export function parseMeminfo(text: string): Map<string, number> {
  const values = new Map<string, number>();
  let start = 0;
  while (start < text.length) {
    const end = lineEnd(text, start);
    const colon = text.indexOf(':', start);
    if (colon > start && colon < end) {
      const key = text.slice(start, colon);
      if (WANTED.has(key)) {
        let i = colon + 1;
        while (i < end && text.charCodeAt(i) === 32) i++;
        let j = i;
        while (j < end && text.charCodeAt(j) !== 32) j++;
        const kb = Number(text.slice(i, j));
        if (Number.isFinite(kb)) values.set(key, kb * 1024);
      }
    }
    start = end + 1;
  }
  return values;
}

export class MemoryCollector {
  constructor(private readonly path: string) {}

  collect(now: number, out: Sample[]): void {
    const text = readText(this.path);
    if (text === undefined) return;
    const m = parseMeminfo(text);
    const total = m.get('MemTotal');
    if (total === undefined || total <= 0) return;
    const free = m.get('MemFree') ?? 0;
    const buffers = m.get('Buffers') ?? 0;
    const cached = (m.get('Cached') ?? 0) + (m.get('SReclaimable') ?? 0);
    const available = m.get('MemAvailable') ?? Math.min(total, free + buffers + (m.get('Cached') ?? 0));
    const used = Math.max(0, total - available);
    pushSample(out, 'system.memory.total_bytes', total, {}, now);
    pushSample(out, 'system.memory.used_bytes', used, {}, now);
    pushSample(out, 'system.memory.available_bytes', available, {}, now);
    pushSample(out, 'system.memory.free_bytes', free, {}, now);
    pushSample(out, 'system.memory.cached_bytes', cached, {}, now);
    pushSample(out, 'system.memory.buffers_bytes', buffers, {}, now);
    pushSample(out, 'system.memory.used_percent', (used / total) * 100, {}, now);
    const swapTotal = m.get('SwapTotal');
    if (swapTotal !== undefined) {
      const swapUsed = Math.max(0, swapTotal - (m.get('SwapFree') ?? 0));
      pushSample(out, 'system.swap.total_bytes', swapTotal, {}, now);
      pushSample(out, 'system.swap.used_bytes', swapUsed, {}, now);
      pushSample(out, 'system.swap.used_percent', swapTotal > 0 ? (swapUsed / swapTotal) * 100 : 0, {}, now);
    }
  }
}
