/**
 * @module prometheus
 * The hub's own Prometheus metrics, all named `vigil_*`. Hot-path counts live in HubCounters as plain integers and
 * are read at scrape time; only the fan-out latency histogram is observed directly.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { StoreStats } from '../storage/metric-store.js';
import type { HubCounters } from './hub-counters.js';

export interface HubMetrics {
  registry: Registry;
  fanoutLatency: Histogram;
}

export interface MetricSources {
  counters: HubCounters;
  subscriptions: () => number;
  /** Events and estimated bytes held in channel history, all channels together. */
  history: () => Promise<{ events: number; bytes: number }>;
  /** The metric store's figures. */
  storeStats: () => StoreStats | Promise<StoreStats>;
  /** The hot rings' memory: bytes held, the budget, and samples dropped to keep within it. */
  hot: () => { bytes: number; maxBytes: number; evicted: number };
}

function setFromMap(metric: Counter | Gauge, label: string, values: Map<string | number, number>): void {
  metric.reset();
  for (const [k, v] of values) metric.inc({ [label]: String(k) }, v);
}

export function createHubMetrics(src: MetricSources): HubMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'vigil_' });
  const c = src.counters;
  new Gauge({
    name: 'vigil_metrics_hot_bytes',
    help: 'Bytes held by the hot windows of all series (metrics.hot_max_bytes bounds them).',
    registers: [registry],
    collect() {
      this.set(src.hot().bytes);
    },
  });
  new Gauge({
    name: 'vigil_metrics_hot_max_bytes',
    help: "The hot windows' memory budget (metrics.hot_max_bytes).",
    registers: [registry],
    collect() {
      this.set(src.hot().maxBytes);
    },
  });
  new Counter({
    name: 'vigil_metrics_hot_evicted_total',
    help: 'Samples dropped from hot windows to stay within metrics.hot_max_bytes; reads take them from the store.',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(src.hot().evicted);
    },
  });
  new Gauge({
    name: 'vigil_connections_active',
    help: 'Open WebSocket connections.',
    registers: [registry],
    collect() {
      this.set(c.connectionsActive);
    },
  });
  new Counter({
    name: 'vigil_connections_total',
    help: 'WebSocket connections accepted since start.',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(c.connectionsTotal);
    },
  });
  new Counter({
    name: 'vigil_messages_in_total',
    help: 'Client frames received, by op (`invalid` for frames that failed to decode or validate).',
    labelNames: ['type'],
    registers: [registry],
    collect() {
      setFromMap(this, 'type', c.messagesIn);
    },
  });
  new Counter({
    name: 'vigil_messages_out_total',
    help: 'Frames queued to clients, by type.',
    labelNames: ['type'],
    registers: [registry],
    collect() {
      setFromMap(this, 'type', new Map([...c.messagesOut, ['event', c.eventsOut]]));
    },
  });
  new Counter({
    name: 'vigil_events_published_total',
    help: 'Events published through the hub.',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(c.published);
    },
  });
  new Counter({
    name: 'vigil_queue_drops_total',
    help: 'Events dropped or conflated because a client queue was full.',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(c.queue.drops);
    },
  });
  new Counter({
    name: 'vigil_gaps_total',
    help: 'Gap frames sent, by reason.',
    labelNames: ['reason'],
    registers: [registry],
    collect() {
      setFromMap(this, 'reason', new Map([...c.gapsByReason, ['slow_consumer', c.queue.gaps]]));
    },
  });
  new Counter({
    name: 'vigil_disconnects_total',
    help: 'WebSocket disconnects, by close code.',
    labelNames: ['code'],
    registers: [registry],
    collect() {
      setFromMap(this, 'code', c.disconnects);
    },
  });
  new Gauge({
    name: 'vigil_subscriptions_active',
    help: 'Subscriptions across all connections.',
    registers: [registry],
    collect() {
      this.set(src.subscriptions());
    },
  });
  // One walk over the channels serves both history gauges of a scrape.
  let historyNow: Promise<{ events: number; bytes: number }> | undefined;
  const history = () => {
    historyNow ??= src.history().finally(() => {
      historyNow = undefined;
    });
    return historyNow;
  };
  new Gauge({
    name: 'vigil_channel_history_events',
    help: 'Events held in channel history, all channels.',
    registers: [registry],
    async collect() {
      this.set((await history()).events);
    },
  });
  new Gauge({
    name: 'vigil_channel_history_bytes',
    help: 'Estimated bytes held in channel history, all channels (history.max_total_bytes bounds it).',
    registers: [registry],
    async collect() {
      this.set((await history()).bytes);
    },
  });
  new Gauge({
    name: 'vigil_tsdb_samples',
    help: 'Raw samples held by the metric store: sealed into compressed chunks, or durable and waiting to be sealed.',
    labelNames: ['state'],
    registers: [registry],
    async collect() {
      const s = await src.storeStats();
      this.set({ state: 'sealed' }, s.sealedSamples);
      this.set({ state: 'pending' }, s.pendingSamples);
    },
  });
  new Gauge({
    name: 'vigil_tsdb_series',
    help: 'Series known to the metric store.',
    registers: [registry],
    async collect() {
      this.set((await src.storeStats()).series);
    },
  });
  new Gauge({
    name: 'vigil_tsdb_bytes_on_disk',
    help: 'Size of the metric store on disk (the database and its write-ahead log), bytes.',
    registers: [registry],
    async collect() {
      this.set((await src.storeStats()).bytesOnDisk);
    },
  });
  new Gauge({
    name: 'vigil_tsdb_chunk_bytes',
    help: 'Bytes of the sealed raw chunks (compressed payloads only).',
    registers: [registry],
    async collect() {
      this.set((await src.storeStats()).sealedChunkBytes);
    },
  });
  const fanoutLatency = new Histogram({
    name: 'vigil_fanout_latency_seconds',
    help: 'Time from an event reaching the gateway to its frames being written to every subscriber socket.',
    buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [registry],
  });
  return { registry, fanoutLatency };
}
