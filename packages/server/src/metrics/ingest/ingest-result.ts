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
