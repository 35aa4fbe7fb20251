/**
 * @module fleet-summary
 * A host's utilisation summary (CPU, load, memory, fullest disk, network) from one collect of the system collector.
 * Agents' batches and the hub's own samples go through the same function.
 */
import type { HostSummary } from '@vigil/protocol';

/** What the summary reads of a sample. */
export interface SummarySample {
  name: string;
  value: number;
  labels?: Readonly<Record<string, string>> | undefined;
}

function round(v: number | null): number | null {
  return v === null || !Number.isFinite(v) ? null : Math.round(v * 100) / 100;
}

export function summarize(ts: number, samples: Iterable<SummarySample>): HostSummary {
  let cpu: number | null = null;
  let load: number | null = null;
  let memPercent: number | null = null;
  let memUsed: number | null = null;
  let memTotal: number | null = null;
  let disk: number | null = null;
  let rx: number | null = null;
  let tx: number | null = null;
  for (const s of samples) {
    const v = s.value;
    if (!Number.isFinite(v)) continue;
    switch (s.name) {
      case 'system.cpu.usage':
        if (s.labels?.cpu === 'total') cpu = v;
        break;
      case 'system.load.1m':
        load = v;
        break;
      case 'system.memory.used_percent':
        memPercent = v;
        break;
      case 'system.memory.used_bytes':
        memUsed = v;
        break;
      case 'system.memory.total_bytes':
        memTotal = v;
        break;
      case 'system.disk.used_percent':
        disk = Math.max(disk ?? 0, v);
        break;
      case 'system.net.rx_bytes_per_s':
        rx = (rx ?? 0) + v;
        break;
      case 'system.net.tx_bytes_per_s':
        tx = (tx ?? 0) + v;
        break;
    }
  }
  return {
    ts,
    cpu_percent: round(cpu),
    load_1m: round(load),
    memory_used_percent: round(memPercent),
    memory_used_bytes: memUsed,
    memory_total_bytes: memTotal,
    disk_used_percent: round(disk),
    net_rx_bytes_per_s: round(rx),
    net_tx_bytes_per_s: round(tx),
  };
}

/**
 * Merges a new summary over the previous one: a batch without rates (an agent's first collect) keeps the last
 * known rates instead of blanking them.
 */
export function mergeSummary(prev: HostSummary | null, next: HostSummary): HostSummary {
  if (!prev) return next;
  const out: HostSummary = { ...next };
  for (const k of Object.keys(next) as (keyof HostSummary)[]) {
    if (out[k] === null && prev[k] !== null) (out as unknown as Record<string, number | null>)[k] = prev[k];
  }
  return out;
}
