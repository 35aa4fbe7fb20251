/**
 * @module series-registry
 * Every known series, by key and by metric name, with its hot ring and latest value, and the cardinality guard: at
 * most `maxSeriesPerMetric` series per metric and `maxSeries` in all. Past a limit a new series is refused with
 * `cardinality_limit` naming the metric, while existing series keep flowing.
 */
import { VigilError } from '@vigil/protocol';
import { HotBudget, HotRing } from './hot-ring.js';
import type { SeriesSlot } from './ingest/ingest-result.js';
import { seriesKey } from './sample.js';

export class Series {
  readonly ring: HotRing;
  readonly channel: string;
  lastTs = Number.NEGATIVE_INFINITY;
  lastValue = Number.NaN;
  /** z-score of the latest sample against the anomaly window before it. */
  lastZ = Number.NaN;
  /** Set while the series waits to be streamed at the end of an ingest call. */
  streamPending = false;
  /** Set while the series waits for the pipeline's next stream tick (the update rate is over its budget). */
  streamDeferred = false;

  /** While the store creates the series: resolves once `id` is set (ids come from the store, perhaps over a network). */
  ready: Promise<void> | undefined = undefined;

  constructor(
    /** The store's id; -1 until the store has created the series (see `ready`). */
    public id: number,
    readonly name: string,
    readonly labels: Readonly<Record<string, string>>,
    readonly key: string,
    budget?: HotBudget,
  ) {
    this.channel = `metrics.${name}`;
    this.ring = new HotRing(budget);
  }
}

let epochs = 0;

function nextEpoch(): number {
  return ++epochs;
}

export interface CardinalityLimits {
  maxSeriesPerMetric: number;
  maxSeries: number;
  /** Bytes all hot rings together may hold (metrics.hot_max_bytes); default: no limit. */
  hotMaxBytes?: number;
}

export class SeriesRegistry {
  private readonly byKey = new Map<string, Series>();
  private readonly byName = new Map<string, Series[]>();
  private readonly byId = new Map<number, Series>();
  /** Series by their labels in arrival order (see `resolve`). */
  private readonly byQuickKey = new Map<string, Series>();
  /**
   * What a `SeriesSlot` remembers is valid while its epoch equals this one: unique to this registry (slots outlive
   * registries, e.g. in tests), and renewed when a series is forgotten.
   */
  private epoch = nextEpoch();

  /** The memory budget every series' hot ring draws from. */
  readonly hot: HotBudget;

  constructor(private readonly limits: CardinalityLimits) {
    this.hot = new HotBudget(limits.hotMaxBytes ?? Number.POSITIVE_INFINITY);
  }

  get size(): number {
    return this.byKey.size;
  }

  get(key: string): Series | undefined {
    return this.byKey.get(key);
  }

  getById(id: number): Series | undefined {
    return this.byId.get(id);
  }

  /** Registers a series that already has a storage id (at start, from the store). */
  restore(id: number, name: string, labels: Record<string, string>): Series {
    const key = seriesKey(name, labels);
    const existing = this.byKey.get(key);
    if (existing) return existing;
    return this.add(new Series(id, name, Object.freeze({ ...labels }), key, this.hot));
  }

  /**
   * The series for `name`/`labels`, created through `create` (which resolves with its storage id) when new. A new
   * series is usable at once (ring, latest value); its `ready` settles when the store has given it an id, and a
   * series the store failed to create is forgotten again. Throws `cardinality_limit` when a limit would be passed.
   */
  resolve(
    name: string,
    labels: Record<string, string>,
    create: (name: string, labels: Record<string, string>) => Promise<number>,
  ): Series {
    // Fast path: labels in the order they came, no sorting or escaping; checked against the series on a hit.
    let quick = name;
    for (const k in labels) quick += `\u0000${k}\u0001${labels[k]}`;
    const hit = this.byQuickKey.get(quick);
    if (hit && sameLabels(hit.labels, labels)) return hit;
    const key = seriesKey(name, labels);
    const found = this.byKey.get(key);
    if (found) {
      this.remember(quick, found);
      return found;
    }
    const siblings = this.byName.get(name)?.length ?? 0;
    if (siblings >= this.limits.maxSeriesPerMetric) {
      throw new VigilError('cardinality_limit', `Metric '${name}' already has ${siblings} series (the limit)`, {
        metric: name,
        limit: this.limits.maxSeriesPerMetric,
        scope: 'metric',
      });
    }
    if (this.byKey.size >= this.limits.maxSeries) {
      throw new VigilError(
        'cardinality_limit',
        `The hub holds ${this.byKey.size} series (the limit); '${name}' is new`,
        {
          metric: name,
          limit: this.limits.maxSeries,
          scope: 'total',
        },
      );
    }
    const series = this.add(new Series(-1, name, Object.freeze({ ...labels }), key, this.hot));
    this.remember(quick, series);
    series.ready = create(name, labels).then(
      (id) => {
        series.id = id;
        series.ready = undefined;
        this.byId.set(id, series);
      },
      (err: unknown) => {
        this.forget(series);
        throw err;
      },
    );
    return series;
  }

  /** The series of `slot` (see SeriesSlot): what the slot remembers, or `resolve` of its name and labels. */
  resolveSlot(slot: SeriesSlot, create: (name: string, labels: Record<string, string>) => Promise<number>): Series {
    if (slot.epoch === this.epoch) return slot.series as Series;
    const series = this.resolve(slot.name, slot.labels as Record<string, string>, create);
    slot.series = series;
    slot.epoch = this.epoch;
    return series;
  }

  private forget(series: Series): void {
    if (this.byKey.get(series.key) !== series) return;
    series.ring.release();
    this.byKey.delete(series.key);
    this.byQuickKey.clear();
    this.epoch = nextEpoch();
    const list = this.byName.get(series.name);
    const i = list?.indexOf(series) ?? -1;
    if (list && i >= 0) list.splice(i, 1);
    if (list?.length === 0) this.byName.delete(series.name);
  }

  private remember(quick: string, series: Series): void {
    if (this.byQuickKey.size >= 2 * this.limits.maxSeries) this.byQuickKey.clear();
    this.byQuickKey.set(quick, series);
  }

  private add(series: Series): Series {
    this.byKey.set(series.key, series);
    if (series.id >= 0) this.byId.set(series.id, series);
    let list = this.byName.get(series.name);
    if (!list) {
      list = [];
      this.byName.set(series.name, list);
    }
    list.push(series);
    return series;
  }

  /** Series of one metric (empty when unknown). */
  ofMetric(name: string): readonly Series[] {
    return this.byName.get(name) ?? [];
  }

  metricNames(): string[] {
    return [...this.byName.keys()].sort();
  }

  all(): IterableIterator<Series> {
    return this.byKey.values();
  }
}

function sameLabels(a: Readonly<Record<string, string>>, b: Record<string, string>): boolean {
  let n = 0;
  for (const k in b) {
    if (!Object.hasOwn(a, k) || a[k] !== b[k]) return false;
    n++;
  }
  return n === Object.keys(a).length;
}

/** Does `labels` contain every pair of `wanted`? A wanted empty value matches a missing label. */
export function labelsMatch(
  labels: Readonly<Record<string, string>>,
  wanted: Record<string, string> | undefined,
): boolean {
  if (!wanted) return true;
  for (const k in wanted) {
    const want = wanted[k];
    // As in Prometheus, an empty value selects the series that lack the label.
    if (want === '' ? labels[k] !== undefined && labels[k] !== '' : labels[k] !== want) return false;
  }
  return true;
}
