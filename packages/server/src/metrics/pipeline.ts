/**
 * @module pipeline
 * The metrics pipeline: every ingest path (HTTP JSON, Prometheus text, Influx line protocol, WS publish, scrape
 * targets, the collector) ends here. Per sample: resolve the series (cardinality guard), reject out-of-order
 * timestamps, update the hot ring and the latest value, queue it for the store, and tell sample listeners (the alert
 * engine). At the end of each call, every series it touched is streamed once on `metrics.<name>` as a
 * `metric_update` with its newest sample: samples are coalesced per series per ingest call.
 */
import { type ErrorCode, VigilError } from '@vigil/protocol';
import type { StoredEvent } from '../broker/broker.js';
import type { MetricStore, SampleBatch } from '../storage/metric-store.js';
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
}

/** Most error entries returned per call; the counts stay exact. */
export const MAX_REPORTED_ERRORS = 100;

export class MetricsPipeline {
  private readonly listeners: SampleListener[] = [];
  samplesIn = 0;
  samplesRejected = 0;

  constructor(private readonly o: PipelineOptions) {}

  onSample(listener: SampleListener): void {
    this.listeners.push(listener);
  }

  /**
   * Ingests validated samples. `issues` carries errors found earlier (parse errors) so they are reported together;
   * `position` maps a sample to its place in the request for error messages.
   */
  ingest(
    samples: readonly Sample[],
    issues: IngestIssue[] = [],
    position?: (i: number) => IngestIssue['index'],
  ): IngestOutcome {
    const n = samples.length;
    const batch: SampleBatch = {
      length: 0,
      series: new Uint32Array(n),
      ts: new Float64Array(n),
      values: new Float64Array(n),
    };
    const touched: Series[] = [];
    const store = this.o.store;
    let rejected = issues.length;
    const errors = issues.slice(0, MAX_REPORTED_ERRORS);
    const reject = (i: number, code: ErrorCode, message: string, metric: string) => {
      rejected++;
      if (errors.length < MAX_REPORTED_ERRORS)
        errors.push({ index: position ? position(i) : i, code, message, metric });
    };
    for (let i = 0; i < n; i++) {
      const s = samples[i]!;
      let series: Series;
      try {
        series = this.o.registry.resolve(s.name, s.labels, () => store.createSeries(s.name, s.labels));
      } catch (err) {
        if (err instanceof VigilError) {
          reject(i, err.code, err.message, s.name);
          continue;
        }
        throw err;
      }
      if (s.ts < series.lastTs) {
        reject(
          i,
          'bad_request',
          `Out-of-order sample for ${series.key}: ts ${s.ts} is older than the newest stored (${series.lastTs})`,
          s.name,
        );
        continue;
      }
      series.lastZ = series.ring.zscore(s.value);
      series.ring.push(s.ts, s.value, this.o.ringMs, this.o.anomalyMs);
      series.lastTs = s.ts;
      series.lastValue = s.value;
      const k = batch.length++;
      batch.series[k] = series.id;
      batch.ts[k] = s.ts;
      batch.values[k] = s.value;
      if (!series.streamPending) {
        series.streamPending = true;
        touched.push(series);
      }
      for (const listener of this.listeners) listener(series, s.ts, s.value);
    }
    this.samplesIn += batch.length;
    this.samplesRejected += rejected;
    const durable = batch.length > 0 ? store.append(batch) : Promise.resolve();
    const published: Promise<StoredEvent>[] = [];
    for (const series of touched) {
      series.streamPending = false;
      published.push(
        this.o.emit(series.channel, 'metric_update', {
          metric: series.name,
          ts: series.lastTs,
          value: series.lastValue,
          labels: series.labels,
        }),
      );
    }
    return { accepted: batch.length, rejected, errors, durable, events: Promise.all(published) };
  }
}
