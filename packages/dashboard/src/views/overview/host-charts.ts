/**
 * @module host-charts
 * What the Overview draws: each chart is a title, a unit and lines, each line a metric (with labels) that may match
 * several series (one per mount, device or interface). The host metrics come from the hub's collector
 * (`system.*`, `process.*`; see docs/metrics.md).
 */
import { formatBytes, formatNumber, formatPercent } from '../../lib/format.js';

export interface LineDef {
  metric: string;
  labels?: Record<string, string>;
  /** The legend label of a matching series. */
  label: (labels: Record<string, string>) => string;
  fill?: boolean;
}

export interface ChartDef {
  id: string;
  title: string;
  format: (v: number) => string;
  yRange?: [number, number];
  lines: LineDef[];
}

const total = { cpu: 'total' };
const bytesPerS = (v: number) => `${formatBytes(v)}/s`;
const perS = (v: number) => `${formatNumber(v)}/s`;

export const HOST_CHARTS: ChartDef[] = [
  {
    id: 'cpu',
    title: 'CPU',
    format: formatPercent,
    yRange: [0, 100],
    lines: [
      { metric: 'system.cpu.user', labels: total, label: () => 'user', fill: true },
      { metric: 'system.cpu.system', labels: total, label: () => 'system', fill: true },
      { metric: 'system.cpu.iowait', labels: total, label: () => 'iowait' },
      { metric: 'system.cpu.steal', labels: total, label: () => 'steal' },
    ],
  },
  {
    id: 'memory',
    title: 'Memory',
    format: (v) => formatBytes(v),
    lines: [
      { metric: 'system.memory.used_bytes', label: () => 'used', fill: true },
      { metric: 'system.memory.cached_bytes', label: () => 'cached' },
      { metric: 'system.memory.available_bytes', label: () => 'available' },
      { metric: 'system.swap.used_bytes', label: () => 'swap used' },
    ],
  },
  {
    id: 'load',
    title: 'Load average',
    format: (v) => v.toFixed(2),
    lines: [
      { metric: 'system.load.1m', label: () => '1m' },
      { metric: 'system.load.5m', label: () => '5m' },
      { metric: 'system.load.15m', label: () => '15m' },
    ],
  },
  {
    id: 'disk-usage',
    title: 'Disk usage',
    format: formatPercent,
    yRange: [0, 100],
    lines: [{ metric: 'system.disk.used_percent', label: (l) => l.mount ?? '?' }],
  },
  {
    id: 'disk-io',
    title: 'Disk I/O',
    format: bytesPerS,
    lines: [
      { metric: 'system.disk.read_bytes_per_s', label: (l) => `${l.device} read` },
      { metric: 'system.disk.write_bytes_per_s', label: (l) => `${l.device} write` },
    ],
  },
  {
    id: 'network',
    title: 'Network',
    format: bytesPerS,
    lines: [
      { metric: 'system.net.rx_bytes_per_s', label: (l) => `${l.interface} in` },
      { metric: 'system.net.tx_bytes_per_s', label: (l) => `${l.interface} out` },
    ],
  },
  {
    id: 'network-errors',
    title: 'Network errors',
    format: perS,
    lines: [
      { metric: 'system.net.rx_errors_per_s', label: (l) => `${l.interface} in` },
      { metric: 'system.net.tx_errors_per_s', label: (l) => `${l.interface} out` },
    ],
  },
  {
    id: 'hub-memory',
    title: 'Hub memory',
    format: (v) => formatBytes(v),
    lines: [
      { metric: 'process.memory.rss_bytes', label: () => 'RSS', fill: true },
      { metric: 'process.heap.used_bytes', label: () => 'heap used' },
      { metric: 'process.heap.total_bytes', label: () => 'heap total' },
    ],
  },
  {
    id: 'hub-loop',
    title: 'Hub event-loop lag',
    format: (v) => `${v.toFixed(1)} ms`,
    lines: [
      { metric: 'process.eventloop.lag_ms', label: () => 'mean' },
      { metric: 'process.eventloop.lag_p99_ms', label: () => 'p99' },
    ],
  },
];

/** The per-core small multiples: `system.cpu.usage` of each core. */
export const CORE_LINE: LineDef = { metric: 'system.cpu.usage', label: () => 'busy', fill: true };

export interface TileDef {
  id: string;
  title: string;
  metric: string;
  labels?: Record<string, string>;
  /** Sum every matching series (network over interfaces). */
  sum?: boolean;
  format: (v: number) => string;
}

export const HOST_TILES: TileDef[] = [
  { id: 'cpu', title: 'CPU busy', metric: 'system.cpu.usage', labels: total, format: formatPercent },
  { id: 'mem', title: 'Memory used', metric: 'system.memory.used_percent', format: formatPercent },
  { id: 'load', title: 'Load 1m', metric: 'system.load.1m', format: (v) => v.toFixed(2) },
  { id: 'swap', title: 'Swap used', metric: 'system.swap.used_percent', format: formatPercent },
  { id: 'rx', title: 'Network in', metric: 'system.net.rx_bytes_per_s', sum: true, format: bytesPerS },
  { id: 'tx', title: 'Network out', metric: 'system.net.tx_bytes_per_s', sum: true, format: bytesPerS },
  { id: 'rss', title: 'Hub RSS', metric: 'process.memory.rss_bytes', format: (v) => formatBytes(v) },
  { id: 'lag', title: 'Event-loop lag', metric: 'process.eventloop.lag_ms', format: (v) => `${v.toFixed(1)} ms` },
];

/** The metric queries that backfill every chart and tile: one per (metric, labels). */
export function historyQueries(): { metric: string; labels?: Record<string, string> }[] {
  const seen = new Map<string, { metric: string; labels?: Record<string, string> }>();
  const add = (metric: string, labels?: Record<string, string>) =>
    seen.set(`${metric}|${JSON.stringify(labels ?? {})}`, { metric, labels });
  for (const c of HOST_CHARTS) for (const l of c.lines) add(l.metric, l.labels);
  add(CORE_LINE.metric);
  for (const t of HOST_TILES) add(t.metric, t.labels);
  const all = [...seen.values()];
  // A query without labels covers the labelled ones of the same metric.
  return all.filter((q) => !q.labels || !all.some((o) => o.metric === q.metric && !o.labels));
}
