/**
 * @module metrics/ingest/ingest-result
 * The result shapes shared by the text ingest parsers (Prometheus exposition, InfluxDB line protocol): the samples of
 * the good lines, and one error per rejected line with its 1-based line number; and the columnar form the line
 * protocol parser writes for the hot path (`SampleColumns`), where each sample names its series through a
 * `SeriesSlot` instead of carrying its own name and labels.
 */
import type { Sample } from '../sample.js';

export interface IngestError {
  /** 1-based line number in the request body. */
  line: number;
  message: string;
}

export interface IngestResult {
  samples: Sample[];
  errors: IngestError[];
}

/**
 * What decides one series in an ingest format (for line protocol: a line head and a field key), kept by the parser
 * for as long as it caches that head: the metric name and labels, and a place where the series registry remembers
 * which series they resolved to (`SeriesRegistry.resolveSlot`), so a known series costs no lookup at all. Samples
 * with the same slot always belong to one series.
 */
export interface SeriesSlot {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  /** Owned by the series registry: the series, valid while `epoch` equals the registry's. */
  series: object | undefined;
  epoch: number;
  /** Owned by the line protocol parse thread: the slot's number there (see influx-worker); -1 until it has one. */
  wire: number;
}

/** Samples as parallel columns of equal `length` (the arrays may be longer). */
export interface SampleColumns {
  length: number;
  slots: SeriesSlot[];
  ts: Float64Array;
  values: Float64Array;
}

/** A new slot for `name` and `labels`, not yet resolved. */
export function seriesSlot(name: string, labels: Readonly<Record<string, string>>): SeriesSlot {
  return { name, labels, series: undefined, epoch: 0, wire: -1 };
}

/** The columns as one Sample each (the labels objects are shared, as the parser made them). */
export function columnSamples(columns: SampleColumns): Sample[] {
  const out: Sample[] = new Array(columns.length);
  for (let i = 0; i < columns.length; i++) {
    const slot = columns.slots[i]!;
    out[i] = {
      name: slot.name,
      value: columns.values[i]!,
      labels: slot.labels as Record<string, string>,
      ts: columns.ts[i]!,
    };
  }
  return out;
}
