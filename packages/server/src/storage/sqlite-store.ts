/**
 * @module storage/sqlite-store
 * `SqliteMetricStore`, the default MetricStore: one SQLite file (WAL, better-sqlite3), tables in storage/sqlite-schema.
 *
 * Write path:
 * - `append()` validates and copies the batch into the write queue (storage/write-queue) and returns the promise
 *   shared by everything queued. No SQL per sample, nor per call.
 * - A commit writes the whole queue as ONE `pending` row (storage/pending-batch) plus any new `series` rows, in one
 *   transaction, then hands the samples to the in-memory open chunks (storage/series-state, which sorts them by series
 *   when a read or a seal needs them) and resolves the promise. Commits come at most once per `flushIntervalMs`, and
 *   at once when `maxQueueSamples` are queued.
 * - `checkpoint()` (every `checkpointIntervalMs`, when the open chunks hold `maxOpenSamples`, and at close) seals each
 *   open chunk into a `chunks` row with `encodeChunk`, writes the rollups of those samples (continuing a bucket that a
 *   previous checkpoint stored), and deletes the pending rows, in one transaction.
 * - `open()` replays leftover `pending` rows into the open chunks: every acknowledged sample survives a crash.
 *
 * Reads merge sealed rows with the open chunks, so an acknowledged sample is visible at once. Rollup rules (NaN
 * excluded, sums in time order) are in storage/open-series.
 */
import { mkdirSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { decodeSamples as decodeChunk, encodeSamples as encodeChunk } from './chunk-codec.js';
import {
  COMMIT_AT_ONCE_SAMPLES,
  MERGE_MAX_SAMPLES,
  MERGE_MAX_SPAN_MS,
  type MetricStore,
  type RawPoints,
  type RetentionPolicy,
  type RetentionResult,
  type RollupPoint,
  type RollupTier,
  type SampleBatch,
  type SeriesInfo,
  type StoreStats,
  TIER_MS,
} from './metric-store.js';
import { lowerBound, rollupBuckets, upperBound } from './open-series.js';
import { packPending, unpackPending } from './pending-batch.js';
import { type SeriesEntry, SeriesState } from './series-state.js';
import {
  applySchema,
  META_SEALED_BYTES,
  META_SEALED_SAMPLES,
  prepareStatements,
  type RollupRow,
  type Statements,
  type Synchronous,
} from './sqlite-schema.js';
import { WriteQueue } from './write-queue.js';

export interface SqliteMetricStoreOptions {
  /** The database file, normally `<dataDir>/vigil.db`; its directory is created if missing. */
  path: string;
  /** SQLite `synchronous`: `full` (default) fsyncs every commit; `normal` may lose the last commits on power loss. */
  synchronous?: Synchronous;
  /** Least time between two commits of the write queue, ms. Default 50. */
  flushIntervalMs?: number;
  /** Queue size that triggers a commit without waiting for the interval, samples. Default `COMMIT_AT_ONCE_SAMPLES`. */
  maxQueueSamples?: number;
  /** Time between checkpoints, ms. Default 120,000. */
  checkpointIntervalMs?: number;
  /** Open (durable, unsealed) samples that trigger an early checkpoint. Default 2,000,000. */
  maxOpenSamples?: number;
  /**
   * A checkpoint merges a series' new samples into its newest chunk while the result holds at most this many samples
   * and spans at most `MERGE_MAX_SPAN_MS`. Default `MERGE_MAX_SAMPLES` (1,024); 0 writes one chunk per checkpoint.
   */
  mergeMaxSamples?: number;
  /** Clock for commit pacing. Default `Date.now`. */
  now?: () => number;
  /** Receives errors of background commits and checkpoints. Default: a process warning. */
  onError?: (error: Error) => void;
}

export const DEFAULT_DB_FILE = 'vigil.db';

export { MERGE_MAX_SAMPLES, MERGE_MAX_SPAN_MS } from './metric-store.js';

const TIERS: readonly RollupTier[] = ['1m', '1h'];

function positive(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value <= 0) {
    throw new RangeError(`SqliteMetricStore: ${name} must be > 0, got ${value}`);
  }
  return value;
}

function toPoint(row: RollupRow): RollupPoint {
  return { ts: row.ts, min: row.min, max: row.max, sum: row.sum ?? Number.NaN, count: row.count };
}

function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

export class SqliteMetricStore implements MetricStore {
  private readonly path: string;
  private readonly synchronous: Synchronous;
  private readonly checkpointIntervalMs: number;
  private readonly maxOpenSamples: number;
  private readonly mergeMaxSamples: number;
  private readonly onError: (error: Error) => void;

  private db: Database.Database | undefined;
  private st!: Statements;
  private state: 'new' | 'open' | 'closed' = 'new';

  private readonly series = new SeriesState();
  private readonly writes: WriteQueue;
  private lastPendingId = 0;
  private sealedSamples = 0;
  private sealedBytes = 0;
  private checkpointTimer: NodeJS.Timeout | undefined;
  private checkpointSoon: NodeJS.Immediate | undefined;

  constructor(options: SqliteMetricStoreOptions) {
    this.path = options.path;
    this.synchronous = options.synchronous ?? 'full';
    if (this.synchronous !== 'full' && this.synchronous !== 'normal') {
      throw new RangeError(`SqliteMetricStore: synchronous must be 'full' or 'normal', got ${options.synchronous}`);
    }
    this.checkpointIntervalMs = positive('checkpointIntervalMs', options.checkpointIntervalMs, 120_000);
    this.maxOpenSamples = positive('maxOpenSamples', options.maxOpenSamples, 2_000_000);
    this.mergeMaxSamples = options.mergeMaxSamples ?? MERGE_MAX_SAMPLES;
    if (!Number.isSafeInteger(this.mergeMaxSamples) || this.mergeMaxSamples < 0) {
      throw new RangeError(
        `SqliteMetricStore: mergeMaxSamples must be an integer >= 0, got ${options.mergeMaxSamples}`,
      );
    }
    this.onError = options.onError ?? ((error) => process.emitWarning(error));
    this.writes = new WriteQueue({
      flushIntervalMs: positive('flushIntervalMs', options.flushIntervalMs, 50),
      maxQueueSamples: positive('maxQueueSamples', options.maxQueueSamples, COMMIT_AT_ONCE_SAMPLES),
      now: options.now ?? Date.now,
      onDue: () => this.background(() => this.flush()),
    });
  }

  async open(): Promise<SeriesInfo[]> {
    if (this.state !== 'new') throw new Error(`SqliteMetricStore: open() on a ${this.state} store`);
    mkdirSync(dirname(this.path), { recursive: true });
    const db = new Database(this.path);
    try {
      applySchema(db, this.synchronous);
      this.st = prepareStatements(db);
      for (const row of this.st.allSeries.all()) {
        this.series.load(row, this.st.maxEndTs.get(row.id) ?? Number.NEGATIVE_INFINITY);
      }
      this.sealedSamples = this.st.getMeta.get(META_SEALED_SAMPLES) ?? 0;
      this.sealedBytes = this.st.getMeta.get(META_SEALED_BYTES) ?? 0;
      for (const row of this.st.allPending.all()) {
        this.series.feed(unpackPending(row.data));
        this.lastPendingId = row.id;
      }
    } catch (err) {
      this.state = 'closed';
      db.close();
      throw err;
    }
    this.db = db;
    this.state = 'open';
    this.checkpointTimer = setInterval(() => this.background(() => this.seal()), this.checkpointIntervalMs);
    this.checkpointTimer.unref();
    return this.series.list.map((s) => ({ id: s.id, name: s.name, labels: { ...s.labels } }));
  }

  async createSeries(name: string, labels: Record<string, string>): Promise<number> {
    this.assertOpen();
    // A new series is written with the next commit, in the same transaction as the first samples that name it.
    const id = this.series.resolve(name, labels);
    if (this.series.hasUnsaved) this.writes.schedule();
    return id;
  }

  append(batch: SampleBatch): Promise<void> {
    if (this.state !== 'open') return Promise.reject(new Error(`SqliteMetricStore: append() on a ${this.state} store`));
    const n = batch.length;
    if (n === 0) return Promise.resolve();
    const error = this.series.accept(batch);
    if (error !== undefined) return Promise.reject(error);
    return this.writes.push({
      count: n,
      series: batch.series.slice(0, n),
      ts: batch.ts.slice(0, n),
      values: batch.values.slice(0, n),
    });
  }

  async readRaw(series: number, from: number, to: number): Promise<RawPoints> {
    this.assertOpen();
    const ts: number[] = [];
    const parts: Float64Array[] = [];
    if (!(from <= to)) return { ts, values: new Float64Array(0) };
    for (const blob of this.st.chunksIn.all(series, from, to)) {
      const chunk = decodeChunk(blob);
      const n = chunk.ts.length;
      const lo = from <= chunk.ts[0] ? 0 : lowerBound(chunk.ts, n, from);
      const hi = to >= chunk.ts[n - 1] ? n : upperBound(chunk.ts, n, to);
      for (let i = lo; i < hi; i++) ts.push(chunk.ts[i]);
      parts.push(chunk.values.subarray(lo, hi));
    }
    const open = this.series.get(series)?.open;
    if (open !== undefined && open.count > 0) {
      const lo = open.lowerBound(from);
      const hi = open.upperBound(to);
      for (let i = lo; i < hi; i++) ts.push(open.ts[i]);
      parts.push(open.values.slice(lo, hi));
    }
    const values = new Float64Array(ts.length);
    let at = 0;
    for (const part of parts) {
      values.set(part, at);
      at += part.length;
    }
    return { ts, values };
  }

  async readRollup(series: number, tier: RollupTier, from: number, to: number): Promise<RollupPoint[]> {
    this.assertOpen();
    if (!(from <= to)) return [];
    const out = this.st.tiers[tier].range.all(series, from, to).map(toPoint);
    const entry = this.series.get(series);
    if (entry === undefined || entry.open.count === 0) return out;
    const open = entry.open;
    for (const b of rollupBuckets(open.ts, open.values, 0, open.count, TIER_MS[tier], this.storedBucket(entry, tier))) {
      if (b.ts < from || b.ts > to) continue;
      if (out.length > 0 && out[out.length - 1].ts === b.ts) out[out.length - 1] = b;
      else out.push(b);
    }
    return out;
  }

  async lastSamples(): Promise<Map<number, { ts: number; value: number }>> {
    this.assertOpen();
    const out = new Map<number, { ts: number; value: number }>();
    for (const s of this.series.list) {
      const open = this.series.get(s.id)!.open;
      if (open.count > 0) {
        out.set(s.id, { ts: open.ts[open.count - 1], value: open.values[open.count - 1] });
        continue;
      }
      const blob = this.st.newestChunk.get(s.id);
      if (blob === undefined) continue;
      const chunk = decodeChunk(blob);
      const k = chunk.ts.length - 1;
      if (k >= 0) out.set(s.id, { ts: chunk.ts[k], value: chunk.values[k] });
    }
    return out;
  }

  async checkpoint(): Promise<void> {
    this.seal();
  }

  /** Seals every open chunk now (see checkpoint). */
  private seal(): void {
    this.assertOpen();
    this.flush();
    const sealing = this.series.openSamples;
    if (sealing === 0) return;
    const work = this.series.withOpenSamples();
    const tails: Record<RollupTier, RollupPoint | undefined>[] = [];
    let bytes = 0;
    const seal = this.db!.transaction(() => {
      tails.length = 0;
      bytes = 0;
      for (const entry of work) {
        const { open, id } = entry;
        const n = open.count;
        bytes += this.sealChunk(entry);
        const tail = { ...entry.tails };
        for (const tier of TIERS) {
          const buckets = rollupBuckets(open.ts, open.values, 0, n, TIER_MS[tier], this.storedBucket(entry, tier));
          const upsert = this.st.tiers[tier].upsert;
          for (const b of buckets) upsert.run(id, b.ts, b.min, b.max, b.sum, b.count);
          if (buckets.length > 0) tail[tier] = buckets[buckets.length - 1];
        }
        tails.push(tail);
      }
      this.st.deletePending.run(this.lastPendingId);
      this.st.setMeta.run(META_SEALED_SAMPLES, this.sealedSamples + sealing);
      this.st.setMeta.run(META_SEALED_BYTES, this.sealedBytes + bytes);
    });
    try {
      seal.immediate();
    } catch (err) {
      // Rolled back: what was noted about each series' newest chunk may not hold any more; look it up again.
      for (const entry of work) entry.chunk = undefined;
      throw err;
    }
    for (let i = 0; i < work.length; i++) {
      work[i].tails = tails[i];
      work[i].open.clear();
    }
    this.sealedSamples += sealing;
    this.sealedBytes += bytes;
    this.series.openSamples = 0;
    this.compact();
  }

  /**
   * Writes the open samples of `entry` as a chunk: merged into its newest chunk while that one is small and recent
   * (MERGE_MAX_SAMPLES, MERGE_MAX_SPAN_MS), otherwise as a new one. Returns the change in stored chunk bytes. Runs
   * inside the seal transaction.
   */
  private sealChunk(entry: SeriesEntry): number {
    const { open, id } = entry;
    const n = open.count;
    if (entry.chunk === undefined && this.mergeMaxSamples > 0) entry.chunk = this.st.newestChunkInfo.get(id) ?? null;
    const tail = entry.chunk;
    if (
      tail != null &&
      tail.count + n <= this.mergeMaxSamples &&
      open.ts[n - 1] - tail.startTs <= MERGE_MAX_SPAN_MS &&
      open.ts[0] >= tail.endTs
    ) {
      const blob = this.st.chunkData.get(tail.id);
      if (blob !== undefined) {
        const old = decodeChunk(blob);
        const m = old.ts.length;
        const ts = new Float64Array(m + n);
        const values = new Float64Array(m + n);
        for (let i = 0; i < m; i++) ts[i] = old.ts[i];
        ts.set(open.ts.subarray(0, n), m);
        values.set(old.values, 0);
        values.set(open.values.subarray(0, n), m);
        const data = encodeChunk(ts, values);
        const endTs = open.ts[n - 1];
        this.st.deleteChunk.run(tail.id);
        const rowId = Number(this.st.insertChunk.run(id, tail.startTs, endTs, m + n, data).lastInsertRowid);
        entry.chunk = { id: rowId, startTs: tail.startTs, endTs, count: m + n };
        return data.byteLength - blob.byteLength;
      }
    }
    const data = encodeChunk(open.ts.subarray(0, n), open.values.subarray(0, n));
    const rowId = Number(this.st.insertChunk.run(id, open.ts[0], open.ts[n - 1], n, data).lastInsertRowid);
    entry.chunk = { id: rowId, startTs: open.ts[0], endTs: open.ts[n - 1], count: n };
    return data.byteLength;
  }

  /**
   * Gives the pages freed by sealed pending rows and replaced chunks back to the file system and empties the WAL
   * file, so that the data directory stays the size of what it holds. Best effort: the samples are sealed already,
   * so a failure is reported, not thrown.
   */
  private compact(): void {
    try {
      this.db!.pragma('incremental_vacuum');
      this.db!.pragma('wal_checkpoint(TRUNCATE)');
    } catch (err) {
      this.onError(err instanceof Error ? err : new Error(String(err)));
    }
  }

  async enforceRetention(now: number, policy: RetentionPolicy): Promise<RetentionResult> {
    this.assertOpen();
    const rawCutoff = now - policy.rawMs;
    const result: RetentionResult = { rawChunks: 0, oneMinuteRows: 0, oneHourRows: 0 };
    let samples = 0;
    let bytes = 0;
    this.db!.transaction(() => {
      // A chunk goes once its newest sample is older than the cutoff; a bucket once its whole span is.
      const totals = this.st.expiredTotals.get(rawCutoff)!;
      samples = totals.samples ?? 0;
      bytes = totals.bytes ?? 0;
      result.rawChunks = this.st.expireChunks.run(rawCutoff).changes;
      result.oneMinuteRows = this.st.tiers['1m'].expire.run(now - policy.oneMinuteMs - TIER_MS['1m']).changes;
      result.oneHourRows = this.st.tiers['1h'].expire.run(now - policy.oneHourMs - TIER_MS['1h']).changes;
      this.st.setMeta.run(META_SEALED_SAMPLES, this.sealedSamples - samples);
      this.st.setMeta.run(META_SEALED_BYTES, this.sealedBytes - bytes);
    }).immediate();
    this.sealedSamples -= samples;
    this.sealedBytes -= bytes;
    // A remembered bucket may just have been deleted: look stored buckets up again from now on.
    this.series.forgetTails();
    return result;
  }

  async stats(): Promise<StoreStats> {
    return {
      bytesOnDisk: fileSize(this.path) + fileSize(`${this.path}-wal`),
      series: this.series.list.length,
      sealedSamples: this.sealedSamples,
      sealedChunkBytes: this.sealedBytes,
      pendingSamples: this.series.openSamples,
    };
  }

  async close(): Promise<void> {
    if (this.state !== 'open') {
      this.state = 'closed';
      return;
    }
    clearInterval(this.checkpointTimer);
    if (this.checkpointSoon !== undefined) clearImmediate(this.checkpointSoon);
    const db = this.db!;
    try {
      this.seal();
      db.pragma('incremental_vacuum');
      db.pragma('wal_checkpoint(TRUNCATE)');
    } finally {
      this.writes.stop();
      this.state = 'closed';
      this.db = undefined;
      db.close();
    }
  }

  private assertOpen(): void {
    if (this.state !== 'open') throw new Error(`SqliteMetricStore: the store is ${this.state}`);
  }

  private background(task: () => void): void {
    if (this.state !== 'open') return;
    try {
      task();
    } catch (err) {
      this.onError(err instanceof Error ? err : new Error(String(err)));
    }
  }

  /** Commits the write queue and new series rows in one transaction, then resolves the waiting appends. */
  private flush(): void {
    if (this.writes.samples === 0 && !this.series.hasUnsaved) {
      this.writes.stop();
      return;
    }
    const { parts, total, resolve, reject } = this.writes.take();
    const newSeries = this.series.takeUnsaved();
    let pendingId = 0;
    try {
      this.db!.transaction(() => {
        for (const s of newSeries) this.st.insertSeries.run(s.id, s.name, s.labels);
        if (total > 0) pendingId = Number(this.st.insertPending.run(packPending(parts, total)).lastInsertRowid);
      }).immediate();
    } catch (err) {
      // The samples are dropped (their appends reject); the series rows are retried with the next commit.
      this.series.restoreUnsaved(newSeries);
      reject(err);
      throw err;
    }
    for (const part of parts) this.series.feed(part);
    if (total > 0) this.lastPendingId = pendingId;
    resolve();
    if (this.series.openSamples >= this.maxOpenSamples && this.checkpointSoon === undefined) {
      this.checkpointSoon = setImmediate(() => {
        this.checkpointSoon = undefined;
        this.background(() => this.seal());
      });
    }
  }

  /** Looks up the stored bucket that new samples of `entry` may continue. */
  private storedBucket(entry: SeriesEntry, tier: RollupTier): (bucketTs: number) => RollupPoint | undefined {
    return (bucketTs) => {
      const tail = entry.tails[tier];
      // Without a remembered tail (after a restart or retention), ask the table; with one, only it can match.
      if (tail !== undefined) return tail.ts === bucketTs ? tail : undefined;
      const row = this.st.tiers[tier].get.get(entry.id, bucketTs);
      return row === undefined ? undefined : toPoint(row);
    };
  }
}
