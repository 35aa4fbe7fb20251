/**
 * @module pipeline
 * The metrics pipeline: every ingest path (HTTP JSON, Prometheus text, Influx line protocol, WS publish, scrape
 * targets, the collector) ends here. Per sample: resolve the series (cardinality guard), reject out-of-order
 * timestamps, update the hot ring and the latest value, queue it for the store, and tell sample listeners (the alert
 * engine). At the end of each call, every series it touched is streamed once on `metrics.<name>` as a
 * `metric_update` with its newest sample: samples are coalesced per series per ingest call. Past `streamMaxRate`
 * events in a second, updates are coalesced harder: per series, published every `streamTickMs` with the newest
 * sample, until the next second.
 */
import { type ErrorCode, VigilError } from '@vigil/protocol';
import type { StoredEvent } from '../broker/broker.js';
import type { MetricStore, SampleBatch } from '../storage/metric-store.js';
import type { SampleColumns } from './ingest/ingest-result.js';
import type { Sample } from './sample.js';
import type { Series, SeriesRegistry } from './series-registry.js';

export interface IngestIssue {
  /** Position in the request: `index` for JSON arrays, `line` for text formats. */
  index?: number;
  line?: number;
  code: ErrorCode;
  message: string;
  metric?: string;
}

export interface IngestOutcome {
  accepted: number;
  rejected: number;
  errors: IngestIssue[];
  /** Resolves once every accepted sample is durable. */
  durable: Promise<void>;
  /** The metric_update events published by this call (one per series touched). */
  events: Promise<StoredEvent[]>;
}

export type SampleListener = (series: Series, ts: number, value: number) => void;

export interface PipelineOptions {
  store: MetricStore;
  registry: SeriesRegistry;
  emit: (channel: string, kind: string, data: unknown) => Promise<StoredEvent>;
  ringMs: number;
  anomalyMs: number;
  /** metric_update events per second published as samples arrive; past it, updates wait for the next tick. */
  streamMaxRate: number;
  streamTickMs: number;
}

export interface IngestOptions {
  /** Publish this call's updates at once whatever the rate (a WS publish replies with the event's position). */
  streamNow?: boolean;
  /** Samples another node took in and relayed to this one (the leader): they are not relayed again. */
  relayed?: boolean;
  /**
   * `false`: the samples are already durable in a store this node shares (a follower wrote them to the cluster's
   * PostgreSQL before relaying them): evaluated, kept hot and streamed, but not appended again. Default true.
   */
  persist?: boolean;
}

/** One ingest call in progress: the batch for the store, the series to stream, the rejections. */
interface Call {
  batch: SampleBatch;
  touched: Series[];
  /** Samples of series the store is still creating: their ids are filled in once it has. */
  waiting: { k: number; series: Series }[] | undefined;
  rejected: number;
  errors: IngestIssue[];
  /**
   * The second's update budget was spent when the call began (and it need not stream at once): its series go
   * straight to the next tick, not through `touched`.
   */
  deferAll: boolean;
}

/** An ingest call fed in parts (see `MetricsPipeline.beginColumns`). */
export type ColumnsCall = object;

/** Makes room in `batch` for `extra` more samples. */
function reserve(batch: SampleBatch, extra: number): void {
  const need = batch.length + extra;
  if (need <= batch.ts.length) return;
  const cap = Math.max(need, batch.ts.length * 2);
  const series = new Uint32Array(cap);
  const ts = new Float64Array(cap);
  const values = new Float64Array(cap);
  series.set(batch.series.subarray(0, batch.length));
  ts.set(batch.ts.subarray(0, batch.length));
  values.set(batch.values.subarray(0, batch.length));
  batch.series = series;
  batch.ts = ts;
  batch.values = values;
}

/** Most error entries returned per call; the counts stay exact. */
export const MAX_REPORTED_ERRORS = 100;

export class MetricsPipeline {
  private readonly listeners: SampleListener[] = [];
  private deferred: Series[] = [];
  /** The last append that had to wait (for a series id, or behind one that did). */
  private appending: Promise<void> | undefined;
  private windowStart = 0;
  private windowCount = 0;
  private readonly timer: NodeJS.Timeout;
  samplesIn = 0;
  samplesRejected = 0;
  /** Updates that waited for a tick because the rate was over `streamMaxRate`. */
  deferredUpdates = 0;

  /** Creates a series in the store (one function for every call, not a closure per sample). */
  private readonly createSeries: (name: string, labels: Record<string, string>) => Promise<number>;

  constructor(private readonly o: PipelineOptions) {
    this.createSeries = (name, labels) => o.store.createSeries(name, labels);
    this.timer = setInterval(() => this.flushDeferred(), o.streamTickMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.flushDeferred();
  }

  private publish(series: Series): Promise<StoredEvent> {
    return this.o.emit(series.channel, 'metric_update', {
      metric: series.name,
      ts: series.lastTs,
      value: series.lastValue,
      labels: series.labels,
    });
  }

  /** Publishes every series that waited for the tick, once, with its newest sample. */
  flushDeferred(): void {
    const list = this.deferred;
    if (list.length === 0) return;
    this.deferred = [];
    for (const series of list) {
      series.streamDeferred = false;
      this.publish(series).catch(() => {});
    }
  }

  /** Queues `series` for the next tick (once). */
  private defer(series: Series): void {
    if (series.streamDeferred) return;
    series.streamDeferred = true;
    this.deferred.push(series);
    this.deferredUpdates++;
  }

  /** Whether this second's update budget is spent already. */
  private rateSpent(): boolean {
    return Date.now() - this.windowStart < 1000 && this.windowCount >= this.o.streamMaxRate;
  }

  private withinRate(n: number): boolean {
    const now = Date.now();
    if (now - this.windowStart >= 1000) {
      this.windowStart = now;
      this.windowCount = 0;
    }
    this.windowCount += n;
    return this.windowCount <= this.o.streamMaxRate;
  }

  onSample(listener: SampleListener): void {
    this.listeners.push(listener);
  }

  /**
   * Hands a batch to the store in ingest order. A batch naming a series the store is still creating waits for its id,
   * and every batch after it waits its turn, so the store sees each series' samples in time order.
   */
  private append(batch: SampleBatch, waiting: { k: number; series: Series }[] | undefined): Promise<void> {
    if (waiting === undefined && this.appending === undefined) return this.o.store.append(batch);
    const before = this.appending ?? Promise.resolve();
    const ids = waiting ? Promise.all(waiting.map((w) => w.series.ready)) : Promise.resolve([]);
    // Wrapped, so that the next batch waits for this one to be handed over, not for it to be durable.
    const handed = Promise.all([before, ids]).then(() => {
      for (const w of waiting ?? []) batch.series[w.k] = w.series.id;
      return { durable: this.o.store.append(batch) };
    });
    const next = handed.then(
      () => {},
      () => {},
    );
    this.appending = next;
    next.then(() => {
      if (this.appending === next) this.appending = undefined;
    });
    return handed.then((h) => h.durable);
  }

  private begin(n: number, issues: IngestIssue[], streamNow = false): Call {
    return {
      batch: { length: 0, series: new Uint32Array(n), ts: new Float64Array(n), values: new Float64Array(n) },
      touched: [],
      waiting: undefined,
      rejected: issues.length,
      errors: issues.slice(0, MAX_REPORTED_ERRORS),
      deferAll: !streamNow && this.rateSpent(),
    };
  }

  private reject(call: Call, index: IngestIssue['index'], code: ErrorCode, message: string, metric: string): void {
    call.rejected++;
    if (call.errors.length < MAX_REPORTED_ERRORS) call.errors.push({ index, code, message, metric });
  }

  /**
   * Takes one sample of a resolved series: hot ring, latest value, the batch for the store, the series to stream,
   * the listeners. Returns false (and takes nothing) when it is older than the series' newest sample.
   */
  private take(call: Call, series: Series, ts: number, value: number): boolean {
    if (ts < series.lastTs) return false;
    series.lastZ = series.ring.zscore(value);
    series.ring.push(ts, value, this.o.ringMs, this.o.anomalyMs);
    series.lastTs = ts;
    series.lastValue = value;
    const batch = call.batch;
    const k = batch.length++;
    batch.series[k] = series.id;
    if (series.ready !== undefined) {
      call.waiting ??= [];
      call.waiting.push({ k, series });
    }
    batch.ts[k] = ts;
    batch.values[k] = value;
    if (call.deferAll) this.defer(series);
    else if (!series.streamPending) {
      series.streamPending = true;
      call.touched.push(series);
    }
    for (const listener of this.listeners) listener(series, ts, value);
    return true;
  }

  private outOfOrder(call: Call, index: IngestIssue['index'], series: Series, ts: number): void {
    this.reject(
      call,
      index,
      'bad_request',
      `Out-of-order sample for ${series.key}: ts ${ts} is older than the newest stored (${series.lastTs})`,
      series.name,
    );
  }

  /**
   * Ingests validated samples. `issues` carries errors found earlier (parse errors) so they are reported together;
   * `position` maps a sample to its place in the request for error messages.
   */
  ingest(
    samples: readonly Sample[],
    issues: IngestIssue[] = [],
    position?: (i: number) => IngestIssue['index'],
    options: IngestOptions = {},
  ): IngestOutcome {
    const n = samples.length;
    const call = this.begin(n, issues, options.streamNow === true);
    for (let i = 0; i < n; i++) {
      const s = samples[i]!;
      let series: Series;
      try {
        series = this.o.registry.resolve(s.name, s.labels, this.createSeries);
      } catch (err) {
        if (err instanceof VigilError) {
          this.reject(call, position ? position(i) : i, err.code, err.message, s.name);
          continue;
        }
        throw err;
      }
      if (!this.take(call, series, s.ts, s.value)) this.outOfOrder(call, position ? position(i) : i, series, s.ts);
    }
    return this.finish(call, options);
  }

  /** Ingests validated samples given as columns (see SampleColumns); errors name a sample by its index. */
  ingestColumns(columns: SampleColumns, issues: IngestIssue[] = [], options: IngestOptions = {}): IngestOutcome {
    const call = this.begin(columns.length, issues, options.streamNow === true);
    this.takeColumns(call, columns, 0);
    return this.finish(call, options);
  }

  /**
   * One ingest call fed in parts (`takeColumns`, then `finishColumns`), for samples that become ready at different
   * times, such as the parts of a body parsed on two threads. `expected` sizes the batch; it grows if need be.
   */
  beginColumns(expected: number, issues: IngestIssue[] = []): ColumnsCall {
    return this.begin(expected, issues);
  }

  /** Takes the samples of `columns`; errors name a sample by `first` + its index in `columns`. */
  takeColumns(call: ColumnsCall, columns: SampleColumns, first: number): void {
    const c = call as Call;
    const n = columns.length;
    const { slots, ts, values } = columns;
    reserve(c.batch, n);
    const registry = this.o.registry;
    for (let i = 0; i < n; i++) {
      const slot = slots[i]!;
      let series: Series;
      try {
        series = registry.resolveSlot(slot, this.createSeries);
      } catch (err) {
        if (err instanceof VigilError) {
          this.reject(c, first + i, err.code, err.message, slot.name);
          continue;
        }
        throw err;
      }
      if (!this.take(c, series, ts[i]!, values[i]!)) this.outOfOrder(c, first + i, series, ts[i]!);
    }
  }

  /** Adds issues found outside the pipeline (parse errors of a later part) to `call`'s report. */
  addIssues(call: ColumnsCall, issues: readonly IngestIssue[]): void {
    const c = call as Call;
    c.rejected += issues.length;
    for (const issue of issues) {
      if (c.errors.length >= MAX_REPORTED_ERRORS) break;
      c.errors.push(issue);
    }
  }

  finishColumns(call: ColumnsCall, options: IngestOptions = {}): IngestOutcome {
    return this.finish(call as Call, options);
  }

  private finish(call: Call, options: IngestOptions): IngestOutcome {
    const { batch, touched, waiting, rejected, errors } = call;
    this.samplesIn += batch.length;
    this.samplesRejected += rejected;
    const durable = batch.length > 0 && options.persist !== false ? this.append(batch, waiting) : Promise.resolve();
    const published: Promise<StoredEvent>[] = [];
    const now = options.streamNow === true || this.withinRate(touched.length);
    for (const series of touched) {
      series.streamPending = false;
      if (now) published.push(this.publish(series));
      else this.defer(series);
    }
    return { accepted: batch.length, rejected, errors, durable, events: Promise.all(published) };
  }
}
