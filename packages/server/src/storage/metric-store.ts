/**
 * @module metric-store
 * The storage interface of the time-series database. The metrics pipeline owns validation, the series registry,
 * the hot in-memory ring and streaming; a MetricStore owns durability, compressed raw chunks, rollup tiers and
 * retention. SQLite (better-sqlite3) is the default engine.
 *
 * Contract:
 * - `append()` receives samples whose timestamps never decrease per series (the pipeline rejects out-of-order ones)
 *   and resolves once they are durable: a hub restart after that loses none of them.
 * - Raw samples end up in compressed chunks (Gorilla-style), at most ~4 bytes per sample on disk once sealed.
 * - Rollups (1 m and 1 h buckets aligned to the Unix epoch, in UTC) hold min, max, sum and count, and always equal a
 *   recomputation from the raw samples.
 * - `enforceRetention()` deletes raw chunks, 1 m and 1 h rows older than their tier's retention, and nothing else.
 */

export interface SeriesInfo {
  id: number;
  name: string;
  labels: Record<string, string>;
}

export type RollupTier = '1m' | '1h';

export const TIER_MS: Record<RollupTier, number> = { '1m': 60_000, '1h': 3_600_000 };

/**
 * A checkpoint merges a series' new samples into its newest chunk (re-encoded as one chunk) while the result holds at
 * most this many samples and spans at most MERGE_MAX_SPAN_MS, so frequent checkpoints or slow series do not leave many
 * small chunks, each with its own row, index entry and codec header. Both engines follow it.
 */
export const MERGE_MAX_SAMPLES = 1024;

/**
 * Queued samples at which a store's write queue commits without waiting out its flush interval: one sync to disk
 * (about a millisecond) is then a small share of the samples' own cost, so waiting to group more writers only
 * delays the replies.
 */
export const COMMIT_AT_ONCE_SAMPLES = 4096;
export const MERGE_MAX_SPAN_MS = 3_600_000;

export interface RollupPoint {
  /** Start of the bucket, ms since the epoch. */
  ts: number;
  min: number;
  max: number;
  sum: number;
  count: number;
}

export interface RawPoints {
  ts: number[];
  values: Float64Array;
}

/** A batch of samples for several series, as parallel arrays of equal `length`. */
export interface SampleBatch {
  length: number;
  series: Uint32Array;
  ts: Float64Array;
  values: Float64Array;
}

export interface RetentionPolicy {
  rawMs: number;
  oneMinuteMs: number;
  oneHourMs: number;
}

export interface RetentionResult {
  rawChunks: number;
  oneMinuteRows: number;
  oneHourRows: number;
}

export interface StoreStats {
  /** Size of the database files (main file plus WAL), bytes. */
  bytesOnDisk: number;
  series: number;
  /** Samples held in sealed raw chunks. */
  sealedSamples: number;
  /** Bytes of sealed raw chunk payloads. */
  sealedChunkBytes: number;
  /** Samples durable but not yet sealed into a chunk. */
  pendingSamples: number;
}

export interface MetricStore {
  /** Opens (creating if needed) and returns every known series, so the registry can be rebuilt. */
  open(): Promise<SeriesInfo[]>;
  /**
   * Creates a series (or finds it, when another node of a cluster created it) and resolves with its id. The pipeline
   * calls it once per new series.
   */
  createSeries(name: string, labels: Record<string, string>): Promise<number>;
  /**
   * Series other nodes created since `open()` (or the previous call), on a store that nodes share; a store of one
   * node leaves it out. The metrics service calls it every few seconds so a node can query every node's series.
   */
  discoverSeries?(): Promise<SeriesInfo[]>;
  /** Queues samples; resolves once they are durable. Batches from many calls share one commit. */
  append(batch: SampleBatch): Promise<void>;
  /** Raw samples of one series with from <= ts <= to, oldest first (sealed chunks and pending samples). */
  readRaw(series: number, from: number, to: number): Promise<RawPoints>;
  /** Rollup buckets of one series whose start lies in [from, to], oldest first, including the open bucket. */
  readRollup(series: number, tier: RollupTier, from: number, to: number): Promise<RollupPoint[]>;
  /** The newest durable sample of each series (used to restore `current` values after a restart). */
  lastSamples(): Promise<Map<number, { ts: number; value: number }>>;
  /** Seals every open chunk into compressed rows and writes their rollups. Runs on a timer and at close. */
  checkpoint(): Promise<void>;
  /** Deletes what is older than each tier's retention, relative to `now`. */
  enforceRetention(now: number, policy: RetentionPolicy): Promise<RetentionResult>;
  stats(): Promise<StoreStats>;
  /** Commits what is queued, checkpoints and closes. */
  close(): Promise<void>;
}
