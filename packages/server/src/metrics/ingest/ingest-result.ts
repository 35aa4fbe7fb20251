/**
 * @module metrics/ingest/ingest-result
 * The result shape shared by the text ingest parsers (Prometheus exposition, InfluxDB line protocol): the samples of
 * the good lines, and one error per rejected line with its 1-based line number.
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
 * Per sample (parallel arrays), what decides its metric and labels: for line protocol, the parser's object for the
 * line's measurement and tags (one object per distinct head text while it is cached) and the field key. Samples with
 * the same head object and field key always belong to one series, so the series registry may map the pair to its
 * series without building the series key (`SeriesRegistry.resolve`).
 */
export interface SeriesHints {
  heads: object[];
  fields: string[];
}
