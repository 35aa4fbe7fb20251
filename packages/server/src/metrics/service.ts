/**
 * @module service
 * The metrics part of the hub: owns the store, the series registry, the pipeline, queries, the system collector,
 * scrape targets, the `system.status` publisher and the retention job, and answers the read-side questions
 * (current values, series lists, window statistics, summaries).
 */
import { performance } from 'node:perf_hooks';
import type { MetricSummary, SeriesStats } from '@vigil/protocol';
import type { StoredEvent } from '../broker/broker.js';
import type { Config } from '../config/load.js';
import type { MetricStore, StoreStats } from '../storage/metric-store.js';
import { SystemCollector } from './collector/index.js';
import { type InfluxColumnsResult, type InfluxPrecision, parseInfluxColumns } from './ingest/influx-line.js';
import { CostPerByte, cutPoint, InfluxParseThread, mainShare, PARALLEL_MIN_BYTES } from './ingest/influx-parallel.js';
import { columnSamples, type IngestError, type SampleColumns } from './ingest/ingest-result.js';
import { type IngestIssue, type IngestOptions, type IngestOutcome, MetricsPipeline } from './pipeline.js';
import { forEachSliced, MetricQuery, SLICE_MS, yieldToLoop } from './query.js';
import type { Sample } from './sample.js';
import { Scraper } from './scraper.js';
import { labelsMatch, type Series, SeriesRegistry } from './series-registry.js';
import { windowStats } from './window-stats.js';

export interface MetricsServiceDeps {
  config: Config['metrics'];
  store: MetricStore;
  emit: (channel: string, kind: string, data: unknown) => Promise<StoredEvent>;
  /** Extra figures for `system.status`: connections and messages per second. */
  hubFigures: () => { connections: number; messages_total: number };
  /** Samples of the hub's own figures added to each collect (the HTTP API's requests, errors, response time). */
  hubSamples?: (now: number) => Sample[];
  log: (level: 'warn' | 'error', msg: string, extra?: Record<string, unknown>) => void;
  /** The store is shared by the nodes of a cluster (PostgreSQL): retention then runs on the leader only. */
  sharedStore?: boolean | undefined;
  /**
   * The `host` label of this hub's own collector samples (and `hubSamples`): a cluster node's host id, so that every
   * node's series are its own in the shared store, on the broker and on the leader. Empty (the default): unlabelled.
   */
  ownHost?: string | undefined;
}

export interface SeriesFilter {
  prefix?: string;
  labels?: Record<string, string>;
}

export interface CurrentValue {
  metric: string;
  labels: Record<string, string>;
  ts: number;
  value: number;
}

export type { MetricSummary, SeriesStats };

/** How often idle series' hot rings are trimmed to the hot window. */
const HOT_TRIM_INTERVAL_MS = 30_000;
/** How often a node of a shared store looks for series other nodes created. */
export const SERIES_DISCOVERY_INTERVAL_MS = 5_000;

export const STATS_WINDOWS: Record<string, number> = { '1m': 60_000, '5m': 300_000, '15m': 900_000, '1h': 3_600_000 };

export class MetricsService {
  readonly registry: SeriesRegistry;
  readonly pipeline: MetricsPipeline;
  readonly query: MetricQuery;
  readonly scraper: Scraper;
  /** In a cluster, hands the samples this node took in to the leader's evaluator (see cluster/sample-relay.ts). */
  relay: ((samples: Sample[]) => void) | undefined;
  /** The `host` label of this hub's own series; empty: they carry no `host` label (a single node). */
  readonly ownHost: string;
  /** Parses the larger part of big line protocol bodies (see ingestInflux). */
  readonly parseThread: InfluxParseThread;
  /** What parsing and taking a large body's first part costs the main thread per byte (see ingestInflux). */
  private readonly mainCost = new CostPerByte();
  private scraping = true;
  private collector: SystemCollector | undefined;
  private readonly timers: NodeJS.Timeout[] = [];
  private status: Record<string, unknown> | undefined;
  private lastMessages = { at: Date.now(), total: 0 };
  private readonly started = Date.now();

  constructor(private readonly d: MetricsServiceDeps) {
    const c = d.config;
    this.ownHost = d.ownHost ?? '';
    this.registry = new SeriesRegistry({
      maxSeriesPerMetric: c.maxSeriesPerMetric,
      maxSeries: c.maxSeries,
      hotMaxBytes: c.hotMaxBytes,
    });
    this.pipeline = new MetricsPipeline({
      store: d.store,
      registry: this.registry,
      emit: d.emit,
      ringMs: c.hotWindowMs,
      anomalyMs: c.anomalyWindowMs,
      streamMaxRate: c.streamMaxRate,
      streamTickMs: c.streamTickMs,
    });
    this.query = new MetricQuery(this.registry, d.store, {
      ringMs: c.hotWindowMs,
      maxPoints: c.maxPoints,
      maxQuerySeries: c.maxQuerySeries,
      maxResponsePoints: c.maxResponsePoints,
      retention: c.retention,
      sharedStore: d.sharedStore === true,
    });
    this.scraper = new Scraper(c.scrape, (samples) => this.ingest(samples));
    this.parseThread = new InfluxParseThread({
      onFailure: (err) =>
        d.log('warn', 'line protocol parse thread failed; bodies are parsed on the main thread', { err: err.message }),
    });
  }

  /** Loads known series and their latest values from the store, then starts the timers. */
  async start(): Promise<void> {
    const c = this.d.config;
    for (const info of await this.d.store.open()) this.registry.restore(info.id, info.name, info.labels);
    const now = Date.now();
    for (const [id, last] of await this.d.store.lastSamples()) {
      const s = this.registry.getById(id);
      if (!s) continue;
      s.lastTs = last.ts;
      s.lastValue = last.value;
      // Refill the hot window so queries and statistics over it see data from before the restart.
      if (last.ts >= now - c.hotWindowMs) {
        const raw = await this.d.store.readRaw(id, now - c.hotWindowMs, last.ts);
        for (let i = 0; i < raw.ts.length; i++)
          s.ring.push(raw.ts[i]!, raw.values[i]!, c.hotWindowMs, c.anomalyWindowMs);
      }
    }
    if (c.collectIntervalMs > 0) {
      this.collector = new SystemCollector();
      this.collect();
      this.timers.push(setInterval(() => this.collect(), c.collectIntervalMs).unref());
    }
    this.timers.push(setInterval(() => this.publishStatus(), c.statusIntervalMs).unref());
    this.timers.push(setInterval(() => this.retention(), c.retentionIntervalMs).unref());
    this.timers.push(setInterval(() => this.trimHot(), HOT_TRIM_INTERVAL_MS).unref());
    if (this.d.sharedStore === true && this.d.store.discoverSeries !== undefined) {
      this.timers.push(setInterval(() => void this.discoverSeries(), SERIES_DISCOVERY_INTERVAL_MS).unref());
    }
    this.scraper.start();
    setTimeout(() => this.publishStatus(), Math.min(1500, c.statusIntervalMs)).unref();
  }

  /**
   * Registers the series other nodes of a shared store created, so they can be listed and queried here (their
   * samples are read from the store). Runs every SERIES_DISCOVERY_INTERVAL_MS; resolves with how many were new.
   */
  async discoverSeries(): Promise<number> {
    const discover = this.d.store.discoverSeries;
    if (discover === undefined) return 0;
    try {
      const found = await discover.call(this.d.store);
      for (const info of found) this.registry.restore(info.id, info.name, info.labels);
      return found.length;
    } catch (err) {
      this.d.log('warn', 'series discovery failed', { err: String(err) });
      return 0;
    }
  }

  /** Scrapes (and retention of a shared store) run on the leader of a cluster only. */
  lead(leader: boolean): void {
    if (leader === this.scraping) return;
    this.scraping = leader;
    if (leader) this.scraper.start();
    else this.scraper.pause();
  }

  /** The metric store's figures (samples sealed and pending, bytes on disk). */
  storeStats(): Promise<StoreStats> {
    return this.d.store.stats();
  }

  ingest(
    samples: Sample[],
    issues?: IngestIssue[],
    position?: (i: number) => number,
    options?: IngestOptions,
  ): IngestOutcome {
    const outcome = this.pipeline.ingest(samples, issues, position, options);
    if (this.relay && !options?.relayed && outcome.accepted > 0) this.relay(samples);
    return this.watch(outcome);
  }

  /** `ingest` of samples given as columns (the line protocol parser's output). */
  ingestColumns(columns: SampleColumns, issues?: IngestIssue[], options?: IngestOptions): IngestOutcome {
    const outcome = this.pipeline.ingestColumns(columns, issues, options);
    if (this.relay && !options?.relayed && outcome.accepted > 0) this.relay(columnSamples(columns));
    return this.watch(outcome);
  }

  /**
   * Ingests a line protocol body. A large one is parsed on two threads (see influx-parallel): the pipeline takes the
   * main thread's part while the parse thread reads the rest; should that thread fail, this one parses the rest.
   * Errors name lines of the whole body.
   */
  async ingestInflux(body: Uint8Array, now: number, precision: InfluxPrecision): Promise<IngestOutcome> {
    const thread = this.parseThread;
    const cut =
      body.length >= PARALLEL_MIN_BYTES && thread.available
        ? cutPoint(body, mainShare(this.mainCost, thread.cost))
        : body.length;
    if (cut >= body.length) {
      const parsed = parseInfluxColumns(body, now, precision);
      return this.ingestColumns(parsed.columns, lineIssues(parsed.errors, 0));
    }
    const rest = body.subarray(cut);
    const later = thread.parse(rest, now, precision);
    later.catch(() => {});
    const started = performance.now();
    const first = parseInfluxColumns(body.subarray(0, cut), now, precision);
    const expected = Math.ceil((first.columns.length * body.length) / cut);
    const call = this.pipeline.beginColumns(expected, lineIssues(first.errors, 0));
    this.pipeline.takeColumns(call, first.columns, 0);
    this.mainCost.add(performance.now() - started, cut);
    let second: InfluxColumnsResult;
    try {
      second = await later;
    } catch {
      second = parseInfluxColumns(rest, now, precision);
    }
    this.pipeline.addIssues(call, lineIssues(second.errors, first.lines));
    this.pipeline.takeColumns(call, second.columns, first.columns.length);
    const outcome = this.pipeline.finishColumns(call);
    if (this.relay && outcome.accepted > 0) {
      this.relay(columnSamples(first.columns).concat(columnSamples(second.columns)));
    }
    return this.watch(outcome);
  }

  private watch(outcome: IngestOutcome): IngestOutcome {
    outcome.durable.catch((err: unknown) => this.d.log('error', 'metric store write failed', { err: String(err) }));
    outcome.events.catch(() => {});
    return outcome;
  }

  private collect(): void {
    if (!this.collector) return;
    const now = Date.now();
    const samples = this.collector.collect(now);
    const own = this.d.hubSamples?.(now);
    if (own) samples.push(...own);
    if (samples.length === 0) return;
    const host = this.ownHost;
    this.ingest(host === '' ? samples : samples.map((s) => ({ ...s, labels: { ...s.labels, host } })));
  }

  /** Whether a series is one of this hub's own (its collector's), not an agent's or a client's. */
  isOwn(s: Series): boolean {
    return this.ownHost === '' ? s.labels.host === undefined : s.labels.host === this.ownHost;
  }

  /** Drops hot samples older than the hot window from series that stopped sending, giving their room back. */
  trimHot(now = Date.now()): void {
    const floor = now - this.d.config.hotWindowMs;
    for (const s of this.registry.all()) s.ring.trim(floor);
  }

  /** Bytes the hot rings hold, their budget and the samples dropped from them to keep within it. */
  hotFigures(): { bytes: number; maxBytes: number; peakBytes: number; evicted: number } {
    const h = this.registry.hot;
    return { bytes: h.used, maxBytes: h.maxBytes, peakBytes: h.peak, evicted: h.evicted };
  }

  private retention(): void {
    if (this.d.sharedStore === true && !this.scraping) return;
    this.d.store
      .enforceRetention(Date.now(), this.d.config.retention)
      .catch((err: unknown) => this.d.log('error', 'retention failed', { err: String(err) }));
  }

  /** The hub's own value of a collector metric: agents' (and other nodes') series are left out. */
  private value(name: string, labels?: Record<string, string>): number | null {
    for (const s of this.registry.ofMetric(name)) {
      if (this.isOwn(s) && labelsMatch(s.labels, labels) && Number.isFinite(s.lastValue)) return s.lastValue;
    }
    return null;
  }

  private sumOf(name: string): number | null {
    let total: number | null = null;
    for (const s of this.registry.ofMetric(name)) {
      if (this.isOwn(s) && Number.isFinite(s.lastValue)) total = (total ?? 0) + s.lastValue;
    }
    return total;
  }

  /** Builds and publishes `system.status`; it is also that channel's snapshot. */
  publishStatus(): Record<string, unknown> {
    const now = Date.now();
    const figures = this.d.hubFigures();
    const dt = Math.max(1, now - this.lastMessages.at) / 1000;
    const perSecond = Math.max(0, (figures.messages_total - this.lastMessages.total) / dt);
    this.lastMessages = { at: now, total: figures.messages_total };
    const disks = this.registry
      .ofMetric('system.disk.used_percent')
      .filter((s) => this.isOwn(s) && Number.isFinite(s.lastValue))
      .map((s) => ({ mount: s.labels.mount ?? '', used_percent: round(s.lastValue) }));
    const status = {
      status: 'ok',
      ts: now,
      uptime_s: Math.round((now - this.started) / 1000),
      cpu: {
        usage_percent: round(this.value('system.cpu.usage', { cpu: 'total' })),
        load_1m: this.value('system.load.1m'),
      },
      memory: {
        used_bytes: this.value('system.memory.used_bytes'),
        total_bytes: this.value('system.memory.total_bytes'),
        used_percent: round(this.value('system.memory.used_percent')),
      },
      disk: disks,
      network: {
        rx_bytes_per_s: round(this.sumOf('system.net.rx_bytes_per_s')),
        tx_bytes_per_s: round(this.sumOf('system.net.tx_bytes_per_s')),
      },
      connections: figures.connections,
      messages_per_s: round(perSecond),
      series: this.registry.size,
    };
    this.status = status;
    this.d.emit('system.status', 'system_status', status).catch(() => {});
    return status;
  }

  currentStatus(): Record<string, unknown> | undefined {
    return this.status;
  }

  private select(filter: SeriesFilter): Series[] {
    const out: Series[] = [];
    for (const s of this.registry.all()) {
      if (filter.prefix && !s.name.startsWith(filter.prefix)) continue;
      if (!labelsMatch(s.labels, filter.labels)) continue;
      out.push(s);
    }
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  list(filter: SeriesFilter): { metric: string; labels: Record<string, string> }[] {
    return this.select(filter).map((s) => ({ metric: s.name, labels: { ...s.labels } }));
  }

  current(filter: SeriesFilter): CurrentValue[] {
    return this.select(filter)
      .filter((s) => s.lastTs > Number.NEGATIVE_INFINITY)
      .map((s) => ({ metric: s.name, labels: { ...s.labels }, ts: s.lastTs, value: s.lastValue }));
  }

  async stats(
    metric: string,
    windowMs: number,
    labels?: Record<string, string>,
    now = Date.now(),
  ): Promise<SeriesStats[]> {
    const series = this.query.select(metric, labels);
    return forEachSliced(series, async (s) => {
      const raw = await this.query.raw(s, now - windowMs, now);
      return { labels: { ...s.labels }, ...windowStats(raw.ts, raw.values), zscore: finiteOrNull(s.lastZ) };
    });
  }

  /**
   * Per metric over the last 5 minutes: series, samples, avg, min, max and trend (least-squares slope per second) of
   * all its series together. One pass over the hot windows without copying or sorting, giving the event loop back
   * every SLICE_MS like a range query.
   */
  async summary(now = Date.now()): Promise<MetricSummary[]> {
    const from = now - 300_000;
    const out: MetricSummary[] = [];
    let sliceStart = performance.now();
    for (const metric of this.registry.metricNames()) {
      let n = 0;
      let sum = 0;
      let min = Number.POSITIVE_INFINITY;
      let max = Number.NEGATIVE_INFINITY;
      let sx = 0;
      let sxx = 0;
      let sxy = 0;
      let last: number | null = null;
      const list = this.registry.ofMetric(metric);
      for (const s of list) {
        s.ring.forEach(from, now, (t, v) => {
          if (!Number.isFinite(v)) return;
          const x = (t - from) / 1000;
          n++;
          sum += v;
          if (v < min) min = v;
          if (v > max) max = v;
          sx += x;
          sxx += x * x;
          sxy += x * v;
        });
        if (s.lastTs > Number.NEGATIVE_INFINITY) last = Math.max(last ?? 0, s.lastTs);
        if (performance.now() - sliceStart >= SLICE_MS) {
          await yieldToLoop();
          sliceStart = performance.now();
        }
      }
      const den = n * sxx - sx * sx;
      out.push({
        metric,
        series: list.length,
        count: n,
        avg: n > 0 ? sum / n : null,
        min: n > 0 ? min : null,
        max: n > 0 ? max : null,
        trend: n >= 2 ? (den === 0 ? 0 : (n * sxy - sx * sum) / den) : null,
        last_ts: last,
      });
    }
    return out;
  }

  async stop(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    await this.scraper.stop();
    await this.parseThread.close();
    this.pipeline.stop();
    this.collector?.close();
    await this.d.store.close();
  }
}

function round(v: number | null): number | null {
  return v === null ? null : Math.round(v * 100) / 100;
}

function finiteOrNull(v: number): number | null {
  return Number.isFinite(v) ? v : null;
}

/** Parse errors as ingest issues, their line numbers moved down by `linesBefore`. */
function lineIssues(errors: readonly IngestError[], linesBefore: number): IngestIssue[] {
  return errors.map((e) => ({ line: e.line + linesBefore, code: 'bad_request', message: e.message }));
}
