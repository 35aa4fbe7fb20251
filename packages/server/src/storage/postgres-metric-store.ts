/**
 * @module storage/postgres-metric-store
 * `PostgresMetricStore`, the MetricStore of `store.engine: postgres`: the nodes of a cluster share one schema, so the
 * series, compressed chunks and rollups any node writes are read by every node. Tables `metric_*` live in
 * `store.schema` beside the state tables; migrations are numbered in `vigil_migrations` (part `metrics`) and applied
 * at `open()` in one transaction under the same advisory lock as the state store's, so nodes starting together
 * migrate once. Append new steps; never edit an applied one.
 *
 * Write path (as the SQLite store's, storage/sqlite-store):
 * - `append()` validates and copies the batch into the write queue and returns the promise shared by everything
 *   queued. A commit writes the whole queue as ONE `metric_pending` row (storage/pending-batch) tagged with this
 *   node's id, in one statement, then hands the samples to the in-memory open chunks (storage/series-state) and
 *   resolves: an append resolves once PostgreSQL has committed its samples.
 * - `checkpoint()` seals each open chunk (storage/chunk-codec `encodeSamples`), writes the rollups of those samples and
 *   deletes this node's pending rows, in one transaction with a few statements (arrays through `unnest`, no SQL per
 *   series). As on SQLite, a series' open samples are merged into its newest `metric_chunks` row (whichever node
 *   wrote it; re-encoded, the row updated) while the result holds at most `mergeMaxSamples` (1,024) samples, spans at
 *   most MERGE_MAX_SPAN_MS (an hour) and the open samples start no earlier than the chunk ends; otherwise they make a
 *   new row. Each series' newest chunk, and the bucket a checkpoint continues, are read `FOR UPDATE` in that
 *   transaction (in series order), so two nodes writing one series wait for each other instead of overwriting each
 *   other's chunk or buckets.
 * - `open()` replays this node's leftover pending rows (same `node` id) into its open chunks.
 *
 * Reads: every sample durable on any node is read on every node. A read takes the chunks (or buckets) in range and
 * the other nodes' pending rows as of one snapshot: there each of their samples is in a chunk or in a pending row,
 * never both or neither, since a checkpoint writes the one and deletes the other in one transaction. One statement
 * returns the chunks and a summary of the pending rows per node; the pending rows are unpacked once into a per-node
 * cache (`foreign`), so a second statement fetches only the rows committed since (if it misses some, sealed in
 * between, the read runs again in one REPEATABLE READ transaction), and rows the snapshot shows sealed leave the
 * cache: it holds at most what the other nodes hold unsealed (bounded by their checkpoints: `checkpointIntervalMs`,
 * `maxOpenSamples`), 24 bytes a sample. This
 * node's own unsealed samples come from its open chunks; a read that overlaps one of its checkpoints runs again
 * behind it. Runs from chunks, pending rows and open chunks are merged in timestamp order (chunks of one series
 * written by two nodes may overlap in time too). Rollup reads add the buckets of the unsealed samples, each one
 * continuing the stored bucket of the same start.
 */
import pg from 'pg';
import { decodeSamples, encodeSamples } from './chunk-codec.js';
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
import { bucketStart, lowerBound, rollupBuckets, upperBound } from './open-series.js';
import { type PendingSamples, packPending, unpackPending } from './pending-batch.js';
import { canonicalLabels, type SeriesEntry, SeriesState } from './series-state.js';
import { WriteQueue } from './write-queue.js';

/** The metric schema's history: step N is version N (part `metrics` of `vigil_migrations`). */
export const POSTGRES_METRIC_MIGRATIONS: readonly string[] = [
  `CREATE TABLE metric_series (id SERIAL PRIMARY KEY, name TEXT NOT NULL, labels TEXT NOT NULL, UNIQUE (name, labels));
   CREATE TABLE metric_chunks (id BIGSERIAL PRIMARY KEY, series INTEGER NOT NULL, start_ts BIGINT NOT NULL,
     end_ts BIGINT NOT NULL, count INTEGER NOT NULL, data BYTEA NOT NULL);
   CREATE INDEX metric_chunks_series ON metric_chunks (series, end_ts);
   CREATE INDEX metric_chunks_end ON metric_chunks (end_ts);
   CREATE TABLE metric_rollup_1m (series INTEGER NOT NULL, ts BIGINT NOT NULL, min DOUBLE PRECISION NOT NULL,
     max DOUBLE PRECISION NOT NULL, sum DOUBLE PRECISION NOT NULL, count INTEGER NOT NULL, PRIMARY KEY (series, ts));
   CREATE INDEX metric_rollup_1m_ts ON metric_rollup_1m (ts);
   CREATE TABLE metric_rollup_1h (series INTEGER NOT NULL, ts BIGINT NOT NULL, min DOUBLE PRECISION NOT NULL,
     max DOUBLE PRECISION NOT NULL, sum DOUBLE PRECISION NOT NULL, count INTEGER NOT NULL, PRIMARY KEY (series, ts));
   CREATE INDEX metric_rollup_1h_ts ON metric_rollup_1h (ts);
   CREATE TABLE metric_pending (id BIGSERIAL PRIMARY KEY, node TEXT NOT NULL, data BYTEA NOT NULL);
   CREATE INDEX metric_pending_node ON metric_pending (node, id);
   CREATE TABLE metric_meta (key TEXT PRIMARY KEY, value BIGINT NOT NULL);
   INSERT INTO metric_meta (key, value) VALUES ('sealed_samples', 0), ('sealed_bytes', 0);`,
];

/** The tables of the metric store, for operators and tests. */
export const POSTGRES_METRIC_TABLES = [
  'metric_series',
  'metric_chunks',
  'metric_rollup_1m',
  'metric_rollup_1h',
  'metric_pending',
  'metric_meta',
] as const;

/** BIGINT (20) comes back as a JS number: every timestamp and counter stored is below 2^53. */
const TYPES = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === 20) return (v: string) => Number(v);
    return pg.types.getTypeParser(oid, format);
  },
} as pg.CustomTypesConfig;

export interface PostgresMetricStoreOptions {
  /** `postgres://user@host:port/database`. */
  url: string;
  /** Schema of the tables (default `public`); created when missing. The nodes of a cluster share it. */
  schema?: string;
  /** This node's id: its pending (durable, unsealed) rows are its own, replayed when it opens again. */
  node?: string;
  /** Most connections held (default 4). */
  poolSize?: number;
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

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;
const TIERS: readonly RollupTier[] = ['1m', '1h'];
const TABLE: Record<RollupTier, string> = { '1m': 'metric_rollup_1m', '1h': 'metric_rollup_1h' };
/** Deadlock or serialization failure between nodes: the transaction is retried. */
const RETRYABLE = new Set(['40P01', '40001']);
const MAX_ATTEMPTS = 5;

/** A series' newest sealed chunk, which a checkpoint merges the series' open samples into. */
interface TailChunk {
  id: number;
  start: number;
  data: Buffer;
}

interface NewChunk {
  /** The row replaced, or 0 for a new row. */
  id: number;
  series: number;
  start: number;
  end: number;
  count: number;
  data: Uint8Array;
}

interface RollupRow {
  series: number;
  ts: number;
  min: number;
  max: number;
  sum: number;
  count: number;
}

function positive(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value <= 0) {
    throw new RangeError(`PostgresMetricStore: ${name} must be > 0, got ${value}`);
  }
  return value;
}

function toPoint(row: RollupRow): RollupPoint {
  return { ts: row.ts, min: row.min, max: row.max, sum: row.sum, count: row.count };
}

/** A query bound as a BIGINT: clamped to the safe range, rounded inwards. */
function lowBound(from: number): number {
  return Math.max(Math.ceil(from), -Number.MAX_SAFE_INTEGER);
}
function highBound(to: number): number {
  return Math.min(Math.floor(to), Number.MAX_SAFE_INTEGER);
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Rollup rows as the parallel arrays of an `unnest` insert (doubles as text: NaN and ±Infinity survive). */
function rollupArrays(rows: readonly RollupRow[]): unknown[] {
  return [
    rows.map((r) => r.series),
    rows.map((r) => r.ts),
    rows.map((r) => String(r.min)),
    rows.map((r) => String(r.max)),
    rows.map((r) => String(r.sum)),
    rows.map((r) => r.count),
  ];
}

/** Another node's pending row, unpacked, with the positions of its samples ordered by series. */
interface ForeignRow {
  readonly id: number;
  readonly samples: PendingSamples;
  /** Positions of the samples, sorted by series and, within a series, in the row's (timestamp) order. */
  readonly order: Uint32Array;
}

function foreignRow(id: number, data: Uint8Array): ForeignRow {
  // A copy of its own: the driver may hand out a view of a larger shared buffer, which the cache would keep alive.
  const samples = unpackPending(new Uint8Array(data));
  const { series, count } = samples;
  const order = new Uint32Array(count);
  let grouped = true;
  for (let i = 0; i < count; i++) {
    order[i] = i;
    if (i > 0 && series[i] < series[i - 1]) grouped = false;
  }
  if (!grouped) order.sort((a, b) => series[a] - series[b] || a - b);
  return { id, samples, order };
}

/** Two lists of rows in id order, merged in id order; a row in both is kept once. */
function mergeById(a: ForeignRow[], b: ForeignRow[]): ForeignRow[] {
  if (b.length === 0) return a;
  if (a.length === 0) return b;
  const out: ForeignRow[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (j >= b.length || (i < a.length && a[i].id < b[j].id)) out.push(a[i++]);
    else if (i >= a.length || b[j].id < a[i].id) out.push(b[j++]);
    else {
      out.push(a[i++]);
      j++;
    }
  }
  return out;
}

/**
 * Raw samples of one series gathered from runs that are each in timestamp order (chunks, pending rows, the open
 * chunk), then put in timestamp order as a whole when the runs overlap (a stable sort, so equal instants keep the
 * order they were gathered in). Values are copied as IEEE-754 words, never through a JS number, so NaN payloads
 * survive.
 */
class SampleMerger {
  private readonly ts: number[] = [];
  private words = new Uint32Array(64);
  private sorted = true;

  /** Samples `[lo, hi)` of one run. */
  add(ts: ArrayLike<number>, values: Float64Array, lo: number, hi: number): void {
    if (hi <= lo) return;
    const src = new Uint32Array(values.buffer, values.byteOffset, values.length * 2);
    this.reserve(hi - lo);
    if (this.ts.length > 0 && ts[lo] < this.ts[this.ts.length - 1]) this.sorted = false;
    this.words.set(src.subarray(2 * lo, 2 * hi), 2 * this.ts.length);
    for (let i = lo; i < hi; i++) this.ts.push(ts[i]);
  }

  /** The samples of `series` in [from, to] from one node's pending rows, in id order. */
  addPending(rows: readonly ForeignRow[], series: number, from: number, to: number): void {
    let first = true;
    for (const { samples, order } of rows) {
      const key = samples.series;
      // The positions of `series` within the row: a binary search over the row's series order.
      let lo = 0;
      let hi = order.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (key[order[mid]] < series) lo = mid + 1;
        else hi = mid;
      }
      if (lo === order.length || key[order[lo]] !== series) continue;
      const src = new Uint32Array(samples.values.buffer, samples.values.byteOffset, samples.count * 2);
      for (let k = lo; k < order.length && key[order[k]] === series; k++) {
        const i = order[k];
        const t = samples.ts[i];
        if (t < from || t > to) continue;
        const n = this.ts.length;
        if (first && n > 0 && t < this.ts[n - 1]) this.sorted = false;
        first = false;
        this.reserve(1);
        this.words[2 * n] = src[2 * i];
        this.words[2 * n + 1] = src[2 * i + 1];
        this.ts.push(t);
      }
    }
  }

  finish(): RawPoints {
    const n = this.ts.length;
    const values = new Float64Array(n);
    const out = new Uint32Array(values.buffer);
    if (this.sorted) {
      out.set(this.words.subarray(0, 2 * n));
      return { ts: this.ts, values };
    }
    const ts = this.ts;
    const order = ts.map((_, i) => i).sort((a, b) => ts[a] - ts[b] || a - b);
    for (let k = 0; k < n; k++) {
      out[2 * k] = this.words[2 * order[k]];
      out[2 * k + 1] = this.words[2 * order[k] + 1];
    }
    return { ts: order.map((i) => ts[i]), values };
  }

  private reserve(more: number): void {
    const need = 2 * (this.ts.length + more);
    if (need <= this.words.length) return;
    const grown = new Uint32Array(Math.max(need, this.words.length * 2));
    grown.set(this.words);
    this.words = grown;
  }
}

/**
 * Buckets of samples in timestamp order that no stored bucket holds yet, each continuing the stored bucket of the
 * same start, if any (`stored`): with samples of several nodes, any bucket may already hold another node's sealed
 * samples, not only the first. Otherwise as storage/open-series `rollupBuckets` (NaN left out, sums in order).
 */
function continueBuckets(
  ts: readonly number[],
  values: Float64Array,
  tierMs: number,
  stored: (bucketTs: number) => RollupPoint | undefined,
): RollupPoint[] {
  const out: RollupPoint[] = [];
  let cur: RollupPoint | undefined;
  for (let i = 0; i < ts.length; i++) {
    const v = values[i];
    if (Number.isNaN(v)) continue;
    const b = bucketStart(ts[i], tierMs);
    if (cur === undefined || cur.ts !== b) {
      const prev = stored(b);
      if (prev === undefined) {
        cur = { ts: b, min: v, max: v, sum: v, count: 1 };
        out.push(cur);
        continue;
      }
      cur = { ...prev };
      out.push(cur);
    }
    cur.min = Math.min(cur.min, v);
    cur.max = Math.max(cur.max, v);
    cur.sum += v;
    cur.count++;
  }
  return out;
}

/** What a snapshot holds of one other node's pending rows. */
interface PendingSummary {
  node: string;
  lo: number;
  hi: number;
  n: number;
  sum: number;
}

/** The summary as the arrays of one row (see withPending); null when no other node has pending rows. */
interface SummaryArrays {
  p_node: string[] | null;
  p_lo: number[];
  p_hi: number[];
  p_n: number[];
  p_sum: number[];
}

interface PendingPlan {
  /** Per node, the cached rows the snapshot holds (completed by `complete`). */
  visible: Map<string, ForeignRow[]>;
  /** Nodes whose rows the cache does not all hold, with the ids it holds from and to. */
  fetch: (PendingSummary & { cachedLo: number; cachedHi: number })[];
  done(): ForeignRow[][];
}

type Run = (sql: string, values: unknown[]) => Promise<pg.QueryResult>;

/** The other nodes' pending rows per node; `$p` is this node's id. Ids as doubles: exact below 2^53. */
function summarySql(p: number): string {
  return (
    'SELECT node, min(id)::float8 AS lo, max(id)::float8 AS hi, count(*)::int AS n, sum(id)::float8 AS sum ' +
    `FROM metric_pending WHERE node <> $${p} GROUP BY node`
  );
}

/** Whether `rows` are the rows `s` describes (see plan). */
function matches(rows: readonly ForeignRow[], s: PendingSummary): boolean {
  return rows.length === s.n && rows.reduce((t, r) => t + r.id, 0) === s.sum;
}

export class PostgresMetricStore implements MetricStore {
  readonly schema: string;
  readonly node: string;
  private readonly checkpointIntervalMs: number;
  private readonly maxOpenSamples: number;
  private readonly mergeMaxSamples: number;
  private readonly onError: (error: Error) => void;

  private pool: pg.Pool | undefined;
  private state: 'new' | 'open' | 'closed' = 'new';
  private readonly series = new SeriesState();
  private readonly creating = new Map<string, Promise<number>>();
  private readonly writes: WriteQueue;
  private lastPendingId = 0;
  /** Commits and checkpoints run one after another. */
  private serial: Promise<void> = Promise.resolve();
  private checkpointTimer: NodeJS.Timeout | undefined;
  private checkpointSoon = false;
  /** Odd while a checkpoint of this node runs; rises by two with each (see reading). */
  private sealEpoch = 0;
  /**
   * The other nodes' pending rows that reads have needed, unpacked, per node in id order; a read drops the rows its
   * snapshot shows sealed. It holds at most what the other nodes hold unsealed (each node seals every
   * `checkpointIntervalMs`, and once it holds `maxOpenSamples`), 24 bytes a sample.
   */
  private readonly foreign = new Map<string, ForeignRow[]>();

  constructor(private readonly o: PostgresMetricStoreOptions) {
    this.schema = o.schema ?? 'public';
    if (!SCHEMA_NAME.test(this.schema)) throw new Error(`invalid PostgreSQL schema name '${this.schema}'`);
    this.node = o.node ?? 'vigil';
    if (this.node.length === 0 || this.node.length > 200) throw new RangeError('PostgresMetricStore: bad node id');
    this.checkpointIntervalMs = positive('checkpointIntervalMs', o.checkpointIntervalMs, 120_000);
    this.maxOpenSamples = positive('maxOpenSamples', o.maxOpenSamples, 2_000_000);
    this.mergeMaxSamples = o.mergeMaxSamples ?? MERGE_MAX_SAMPLES;
    if (!Number.isSafeInteger(this.mergeMaxSamples) || this.mergeMaxSamples < 0) {
      throw new RangeError(`PostgresMetricStore: mergeMaxSamples must be an integer >= 0, got ${o.mergeMaxSamples}`);
    }
    this.onError = o.onError ?? ((error) => process.emitWarning(error));
    this.writes = new WriteQueue({
      flushIntervalMs: positive('flushIntervalMs', o.flushIntervalMs, 50),
      maxQueueSamples: positive('maxQueueSamples', o.maxQueueSamples, COMMIT_AT_ONCE_SAMPLES),
      now: o.now ?? Date.now,
      onDue: () => this.background(() => this.flush()),
    });
  }

  private get db(): pg.Pool {
    if (this.state !== 'open' || this.pool === undefined) {
      throw new Error(`PostgresMetricStore: the store is ${this.state}`);
    }
    return this.pool;
  }

  async open(): Promise<SeriesInfo[]> {
    if (this.state !== 'new') throw new Error(`PostgresMetricStore: open() on a ${this.state} store`);
    const pool = new pg.Pool({
      connectionString: this.o.url,
      max: this.o.poolSize ?? 4,
      types: TYPES,
      options: `-c search_path=${this.schema}`,
      connectionTimeoutMillis: 10_000,
    });
    // A connection lost while idle is replaced on the next query; the pool must not throw it at the process.
    pool.on('error', () => {});
    try {
      await this.migrate(pool);
      const lastTs = new Map<number, number>();
      const ends = await pool.query<{ series: number; end_ts: number }>(
        'SELECT series, max(end_ts) AS end_ts FROM metric_chunks GROUP BY series',
      );
      for (const r of ends.rows) lastTs.set(r.series, r.end_ts);
      const all = await pool.query<{ id: number; name: string; labels: string }>(
        'SELECT id, name, labels FROM metric_series ORDER BY id',
      );
      for (const row of all.rows) this.series.load(row, lastTs.get(row.id) ?? Number.NEGATIVE_INFINITY);
      const pending = await pool.query<{ id: number; data: Buffer }>(
        'SELECT id, data FROM metric_pending WHERE node = $1 ORDER BY id',
        [this.node],
      );
      for (const row of pending.rows) {
        this.series.feed(unpackPending(row.data));
        this.lastPendingId = row.id;
      }
    } catch (err) {
      this.state = 'closed';
      await pool.end().catch(() => {});
      throw err;
    }
    this.pool = pool;
    this.state = 'open';
    this.checkpointTimer = setInterval(() => this.background(() => this.seal()), this.checkpointIntervalMs);
    this.checkpointTimer.unref();
    return this.series.list.map((s) => ({ id: s.id, name: s.name, labels: { ...s.labels } }));
  }

  private async migrate(pool: pg.Pool): Promise<void> {
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      // The same lock as the state store's migrations: one schema migrates one part at a time.
      await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`vigil_migrations:${this.schema}`]);
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${this.schema}`);
      await client.query(
        'CREATE TABLE IF NOT EXISTS vigil_migrations (part TEXT NOT NULL, version INTEGER NOT NULL, ' +
          'applied_at TIMESTAMPTZ NOT NULL DEFAULT now(), PRIMARY KEY (part, version))',
      );
      const done = new Set(
        (
          await client.query<{ version: number }>("SELECT version FROM vigil_migrations WHERE part = 'metrics'")
        ).rows.map((r) => r.version),
      );
      for (const [i, sql] of POSTGRES_METRIC_MIGRATIONS.entries()) {
        if (done.has(i + 1)) continue;
        await client.query(sql);
        await client.query("INSERT INTO vigil_migrations (part, version) VALUES ('metrics', $1)", [i + 1]);
      }
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      throw err;
    } finally {
      client.release();
    }
  }

  async discoverSeries(): Promise<SeriesInfo[]> {
    const db = this.db;
    // Series are never deleted, so a count equal to what this node knows means nothing is new (one index scan).
    const count = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM metric_series');
    if ((count.rows[0]?.n ?? 0) <= this.series.list.length) return [];
    const known = this.series.list.map((s) => s.id);
    const rows = await db.query<{ id: number; name: string; labels: string }>(
      'SELECT id, name, labels FROM metric_series WHERE NOT (id = ANY($1::int[])) ORDER BY id',
      [known],
    );
    const found: SeriesInfo[] = [];
    for (const row of rows.rows) {
      // createSeries may have loaded it meanwhile.
      if (this.series.has(row.id)) continue;
      this.series.load(row, Number.NEGATIVE_INFINITY);
      const info = this.series.list[this.series.list.length - 1]!;
      found.push({ id: info.id, name: info.name, labels: { ...info.labels } });
    }
    return found;
  }

  async createSeries(name: string, labels: Record<string, string>): Promise<number> {
    const db = this.db;
    const json = canonicalLabels(labels);
    const known = this.series.find(name, json);
    if (known !== undefined) return known;
    const key = `${name}\u0000${json}`;
    let creating = this.creating.get(key);
    if (creating === undefined) {
      // Another node may have created it: the row is found instead, with the same id on every node.
      creating = db
        .query<{ id: number }>(
          'WITH made AS (INSERT INTO metric_series (name, labels) VALUES ($1, $2) ' +
            'ON CONFLICT (name, labels) DO NOTHING RETURNING id) ' +
            'SELECT id FROM made UNION ALL SELECT id FROM metric_series WHERE name = $1 AND labels = $2 LIMIT 1',
          [name, json],
        )
        .then(async (res) => {
          let id = res.rows[0]?.id;
          if (id === undefined) {
            // Another node's insert of the same series committed after this statement's snapshot was taken (the
            // insert waited for it, the select could not see it): a new statement sees it.
            const again = await db.query<{ id: number }>(
              'SELECT id FROM metric_series WHERE name = $1 AND labels = $2',
              [name, json],
            );
            id = again.rows[0]?.id;
          }
          if (id === undefined) throw new Error(`PostgresMetricStore: series ${name} was not created`);
          if (!this.series.has(id)) this.series.load({ id, name, labels: json }, Number.NEGATIVE_INFINITY);
          return id;
        })
        .finally(() => this.creating.delete(key));
      this.creating.set(key, creating);
    }
    return creating;
  }

  append(batch: SampleBatch): Promise<void> {
    if (this.state !== 'open') {
      return Promise.reject(new Error(`PostgresMetricStore: append() on a ${this.state} store`));
    }
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
    const db = this.db;
    if (!(from <= to)) return { ts: [], values: new Float64Array(0) };
    return this.reading(async (stable) => {
      const { result, foreign } = await this.withPending<{ data: Buffer }>(
        db,
        'SELECT data, start_ts, id FROM metric_chunks WHERE series = $1 AND end_ts >= $2 AND start_ts <= $3',
        [series, lowBound(from), highBound(to)],
        ['start_ts', 'id'],
      );
      if (!stable()) return undefined;
      const out = new SampleMerger();
      for (const row of result) {
        const chunk = decodeSamples(row.data);
        const n = chunk.ts.length;
        if (n === 0) continue;
        const lo = from <= chunk.ts[0] ? 0 : lowerBound(chunk.ts, n, from);
        const hi = to >= chunk.ts[n - 1] ? n : upperBound(chunk.ts, n, to);
        out.add(chunk.ts, chunk.values, lo, hi);
      }
      for (const rows of foreign) out.addPending(rows, series, from, to);
      const open = this.series.get(series)?.open;
      if (open !== undefined && open.count > 0) {
        out.add(open.ts, open.values, open.lowerBound(from), open.upperBound(to));
      }
      return out.finish();
    });
  }

  async readRollup(series: number, tier: RollupTier, from: number, to: number): Promise<RollupPoint[]> {
    const db = this.db;
    if (!(from <= to)) return [];
    return this.reading(async (stable) => {
      const { result, foreign } = await this.withPending<RollupRow>(
        db,
        `SELECT series, ts, min, max, sum, count FROM ${TABLE[tier]} WHERE series = $1 AND ts >= $2 AND ts <= $3`,
        [series, lowBound(from), highBound(to)],
        ['ts'],
      );
      if (!stable()) return undefined;
      const out = result.map(toPoint);
      // The samples no bucket holds yet: other nodes' pending rows and this node's open chunk.
      const unsealed = new SampleMerger();
      for (const rows of foreign) unsealed.addPending(rows, series, Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY);
      const open = this.series.get(series)?.open;
      if (open !== undefined && open.count > 0) unsealed.add(open.ts, open.values, 0, open.count);
      const { ts, values } = unsealed.finish();
      if (ts.length === 0) return out;
      const stored = new Map(out.map((p) => [p.ts, p]));
      for (const b of continueBuckets(ts, values, TIER_MS[tier], (t) => stored.get(t))) {
        if (b.ts < from || b.ts > to) continue;
        const i = out.findIndex((p) => p.ts >= b.ts);
        if (i < 0) out.push(b);
        else if (out[i].ts === b.ts) out[i] = b;
        else out.splice(i, 0, b);
      }
      return out;
    });
  }

  async lastSamples(): Promise<Map<number, { ts: number; value: number }>> {
    const db = this.db;
    return this.reading(async (stable) => {
      const { result, foreign } = await this.withPending<{ series: number; data: Buffer }>(
        db,
        'SELECT DISTINCT ON (series) series, data FROM metric_chunks ORDER BY series, end_ts DESC, id DESC',
        [],
        [],
      );
      if (!stable()) return undefined;
      const out = new Map<number, { ts: number; value: number }>();
      const offer = (series: number, ts: number, value: number) => {
        if (!this.series.has(series)) return;
        const had = out.get(series);
        if (had === undefined || ts >= had.ts) out.set(series, { ts, value });
      };
      for (const r of result) {
        const chunk = decodeSamples(r.data);
        const k = chunk.ts.length - 1;
        if (k >= 0) offer(r.series, chunk.ts[k], chunk.values[k]);
      }
      for (const rows of foreign) {
        for (const { samples } of rows) {
          for (let i = 0; i < samples.count; i++) offer(samples.series[i], samples.ts[i], samples.values[i]);
        }
      }
      for (const s of this.series.list) {
        const open = this.series.get(s.id)!.open;
        if (open.count > 0) offer(s.id, open.ts[open.count - 1], open.values[open.count - 1]);
      }
      return out;
    });
  }

  checkpoint(): Promise<void> {
    if (this.state !== 'open') return Promise.reject(new Error(`PostgresMetricStore: the store is ${this.state}`));
    return this.seal();
  }

  async enforceRetention(now: number, policy: RetentionPolicy): Promise<RetentionResult> {
    const db = this.db;
    const rawCutoff = now - policy.rawMs;
    const result: RetentionResult = { rawChunks: 0, oneMinuteRows: 0, oneHourRows: 0 };
    await this.transaction(db, async (client) => {
      // A chunk goes once its newest sample is older than the cutoff; a bucket once its whole span is.
      const gone = await client.query<{ chunks: number; samples: number | null; bytes: number | null }>(
        'WITH gone AS (DELETE FROM metric_chunks WHERE end_ts < $1 RETURNING count, octet_length(data) AS bytes) ' +
          'SELECT count(*)::int AS chunks, sum(count)::bigint AS samples, sum(bytes)::bigint AS bytes FROM gone',
        [Math.floor(rawCutoff)],
      );
      const g = gone.rows[0]!;
      result.rawChunks = g.chunks;
      await this.addMeta(client, -(g.samples ?? 0), -(g.bytes ?? 0));
      const m = await client.query(`DELETE FROM ${TABLE['1m']} WHERE ts <= $1`, [
        Math.floor(now - policy.oneMinuteMs - TIER_MS['1m']),
      ]);
      result.oneMinuteRows = m.rowCount ?? 0;
      const h = await client.query(`DELETE FROM ${TABLE['1h']} WHERE ts <= $1`, [
        Math.floor(now - policy.oneHourMs - TIER_MS['1h']),
      ]);
      result.oneHourRows = h.rowCount ?? 0;
    });
    return result;
  }

  async stats(): Promise<StoreStats> {
    const db = this.db;
    const size = await db.query<{ bytes: number; samples: number; sealed: number }>(
      `SELECT (${POSTGRES_METRIC_TABLES.map((t) => `pg_total_relation_size('${t}')`).join(' + ')})::bigint AS bytes, ` +
        "(SELECT value FROM metric_meta WHERE key = 'sealed_samples') AS samples, " +
        "(SELECT value FROM metric_meta WHERE key = 'sealed_bytes') AS sealed",
    );
    const r = size.rows[0]!;
    return {
      bytesOnDisk: r.bytes,
      series: this.series.list.length,
      sealedSamples: r.samples,
      sealedChunkBytes: r.sealed,
      pendingSamples: this.series.openSamples,
    };
  }

  async close(): Promise<void> {
    if (this.state !== 'open') {
      this.state = 'closed';
      return;
    }
    clearInterval(this.checkpointTimer);
    try {
      await this.seal();
    } finally {
      this.writes.stop();
      this.state = 'closed';
      this.foreign.clear();
      const pool = this.pool;
      this.pool = undefined;
      await pool?.end();
    }
  }

  private background(task: () => Promise<void>): void {
    if (this.state !== 'open') return;
    task().catch((err: unknown) => {
      if (this.state === 'open') this.onError(err instanceof Error ? err : new Error(String(err)));
    });
  }

  /** Runs `task` after every commit and checkpoint queued before it. */
  private run<T>(task: () => Promise<T>): Promise<T> {
    const next = this.serial.then(task);
    this.serial = next.then(
      () => {},
      () => {},
    );
    return next;
  }

  /**
   * Runs a read: `read` takes its snapshot (see snapshot), then, without awaiting anything more, adds this node's open
   * samples if `stable()` says that no checkpoint of this node ran meanwhile (one that committed between the snapshot
   * and that moment would leave its samples both in a chunk and in memory, or in neither), and returns undefined
   * otherwise. Such a read runs again behind the checkpoint, in turn with commits and checkpoints.
   */
  private async reading<R>(read: (stable: () => boolean) => Promise<R | undefined>): Promise<R> {
    const epoch = this.sealEpoch;
    if (epoch % 2 === 0) {
      const done = await read(() => this.sealEpoch === epoch);
      if (done !== undefined) return done;
    }
    return this.run(async () => {
      const done = await read(() => true);
      if (done === undefined) throw new Error('PostgresMetricStore: a read overlapped a checkpoint twice');
      return done;
    });
  }

  /**
   * Runs `sql` (whose parameters are `params`; `order` names the columns its rows are sorted by) and takes the other
   * nodes' pending rows as of the same snapshot, in which every sample another node made durable is either in a chunk
   * (with its buckets) or in a pending row, never in both or in neither, since a checkpoint writes the one and deletes
   * the other in one transaction. One statement returns the rows of `sql` and the summary of the pending rows per
   * node (see plan); the rows the cache lacks are fetched by a second one, which must find them all (their node may
   * have sealed and deleted them in between). Otherwise, or should the summary disagree with what the cache holds, the
   * read runs again in one REPEATABLE READ transaction (see snapshot).
   */
  private async withPending<T extends pg.QueryResultRow>(
    db: pg.Pool,
    sql: string,
    params: unknown[],
    order: string[],
  ): Promise<{ result: T[]; foreign: ForeignRow[][] }> {
    const p = params.length + 1;
    const res = await db.query<T & { q_row: number | null } & SummaryArrays>(
      `SELECT q.*, s.* FROM (SELECT 1 AS q_row, x.* FROM (${sql}) x) q RIGHT JOIN (SELECT array_agg(node) AS p_node, ` +
        'array_agg(lo) AS p_lo, array_agg(hi) AS p_hi, array_agg(n) AS p_n, array_agg(sum) AS p_sum ' +
        `FROM (${summarySql(p)}) g) s ON true` +
        (order.length > 0 ? ` ORDER BY ${order.map((c) => `q.${c}`).join(', ')}` : ''),
      [...params, this.node],
    );
    const head = res.rows[0];
    const summary: PendingSummary[] = [];
    if (head?.p_node != null) {
      for (let i = 0; i < head.p_node.length; i++) {
        summary.push({ node: head.p_node[i], lo: head.p_lo[i], hi: head.p_hi[i], n: head.p_n[i], sum: head.p_sum[i] });
      }
    }
    const plan = this.plan(summary);
    const foreign =
      plan.fetch.length === 0 ? plan.done() : await this.complete(plan, (sql, values) => db.query(sql, values));
    if (foreign !== undefined) return { result: res.rows.filter((r) => r.q_row !== null), foreign };
    return this.snapshot(db, async (client) => {
      const rows = await client.query<T>(order.length > 0 ? `${sql} ORDER BY ${order.join(', ')}` : sql, params);
      return rows.rows;
    });
  }

  /** Runs `query` and reads the other nodes' pending rows (see withPending) in one REPEATABLE READ transaction. */
  private async snapshot<T>(
    db: pg.Pool,
    query: (client: pg.PoolClient) => Promise<T>,
  ): Promise<{ result: T; foreign: ForeignRow[][] }> {
    const client = await db.connect();
    try {
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      const result = await query(client);
      const summary = await client.query<PendingSummary>(summarySql(1), [this.node]);
      const plan = this.plan(summary.rows);
      const run: Run = (sql, values) => client.query(sql, values);
      const foreign =
        plan.fetch.length === 0
          ? plan.done()
          : await this.complete(plan, run, (node, held) => this.pendingRowsOf(client, node, held));
      await client.query('COMMIT');
      return { result, foreign: foreign! };
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      throw err;
    } finally {
      client.release();
    }
  }

  /**
   * What a snapshot holds of the other nodes' pending rows (`summary`), against the cache (`foreign`). A node commits
   * its pending rows one after another and a checkpoint deletes a prefix of them (every row up to the last one it
   * sealed), so what a snapshot holds of a node is a run of its rows, known from their least and greatest id, their
   * count and the sum of their ids: only the rows past either end of what the cache holds need fetching, and rows
   * older than the least id are gone for good (sealed) and leave the cache.
   */
  private plan(summary: PendingSummary[]): PendingPlan {
    const nodes = new Set<string>();
    const visible = new Map<string, ForeignRow[]>();
    const fetch: PendingPlan['fetch'] = [];
    for (const s of summary) {
      nodes.add(s.node);
      const cached = (this.foreign.get(s.node) ?? []).filter((r) => r.id >= s.lo);
      this.foreign.set(s.node, cached);
      const held = cached.filter((r) => r.id <= s.hi);
      visible.set(s.node, held);
      if (!matches(held, s)) {
        fetch.push({ ...s, cachedLo: held[0]?.id ?? s.hi + 1, cachedHi: held[held.length - 1]?.id ?? s.hi });
      }
    }
    for (const node of [...this.foreign.keys()]) if (!nodes.has(node)) this.foreign.delete(node);
    return { visible, fetch, done: () => [...visible.values()].filter((rows) => rows.length > 0) };
  }

  /**
   * Fetches the rows `plan` lacks and returns every node's rows, or undefined if some node's rows then disagree with
   * the summary and there is no `resync` (which reads that node's rows one by one; short of rows deleted by hand, the
   * way a node writes and deletes its rows rules that out, but a second statement may miss rows sealed meanwhile).
   */
  private async complete(
    plan: PendingPlan,
    run: Run,
    resync?: (node: string, held: ForeignRow[]) => Promise<ForeignRow[]>,
  ): Promise<ForeignRow[][] | undefined> {
    const { fetch, visible } = plan;
    const rows = await run(
      'SELECT p.id, p.node, p.data FROM metric_pending p ' +
        'JOIN unnest($1::text[], $2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[]) AS k(node, lo, hi, clo, chi) ' +
        'ON p.node = k.node WHERE p.id >= k.lo AND p.id <= k.hi AND (p.id < k.clo OR p.id > k.chi) ORDER BY p.id',
      [
        fetch.map((f) => f.node),
        fetch.map((f) => f.lo),
        fetch.map((f) => f.hi),
        fetch.map((f) => f.cachedLo),
        fetch.map((f) => f.cachedHi),
      ],
    );
    const fetched = new Map<string, ForeignRow[]>();
    for (const r of rows.rows as { id: number; node: string; data: Buffer }[]) {
      const row = foreignRow(r.id, r.data);
      const list = fetched.get(r.node);
      if (list === undefined) fetched.set(r.node, [row]);
      else list.push(row);
    }
    for (const f of fetch) {
      let rowsOfNode = mergeById(visible.get(f.node)!, fetched.get(f.node) ?? []);
      if (matches(rowsOfNode, f)) this.remember(f.node, rowsOfNode);
      else {
        if (resync === undefined) return undefined;
        rowsOfNode = await resync(f.node, rowsOfNode);
        // What the cache held up to `hi` is replaced by what the snapshot holds.
        const newer = (this.foreign.get(f.node) ?? []).filter((r) => r.id > f.hi);
        this.foreign.set(f.node, mergeById(rowsOfNode, newer));
      }
      visible.set(f.node, rowsOfNode);
    }
    return plan.done();
  }

  /** Every pending row of `node` in the snapshot, taking those `held` already has from it. */
  private async pendingRowsOf(client: pg.PoolClient, node: string, held: ForeignRow[]): Promise<ForeignRow[]> {
    const byId = new Map(held.map((r) => [r.id, r]));
    const res = await client.query<{ id: number; data: Buffer | null }>(
      'SELECT id, CASE WHEN id = ANY($2::bigint[]) THEN NULL ELSE data END AS data FROM metric_pending ' +
        'WHERE node = $1 ORDER BY id',
      [node, held.map((r) => r.id)],
    );
    return res.rows.map((r) => (r.data === null ? byId.get(r.id)! : foreignRow(r.id, r.data)));
  }

  /** Adds rows to the cache of `node`, keeping it in id order. */
  private remember(node: string, rows: ForeignRow[]): void {
    const cached = this.foreign.get(node);
    this.foreign.set(node, cached === undefined ? rows : mergeById(cached, rows));
  }

  private flush(): Promise<void> {
    return this.run(() => this.commit());
  }

  /** Commits the write queue as one pending row, then resolves the waiting appends. */
  private async commit(): Promise<void> {
    if (this.writes.samples === 0) {
      this.writes.stop();
      return;
    }
    const { parts, total, resolve, reject } = this.writes.take();
    let pendingId: number;
    try {
      const res = await this.db.query<{ id: number }>(
        'INSERT INTO metric_pending (node, data) VALUES ($1, $2) RETURNING id',
        [this.node, asBuffer(packPending(parts, total))],
      );
      pendingId = res.rows[0]!.id;
    } catch (err) {
      reject(err);
      throw err;
    }
    for (const part of parts) this.series.feed(part);
    this.lastPendingId = pendingId;
    resolve();
    if (this.series.openSamples >= this.maxOpenSamples && !this.checkpointSoon) {
      this.checkpointSoon = true;
      setImmediate(() => {
        this.checkpointSoon = false;
        this.background(() => this.seal());
      });
    }
  }

  /** Seals every open chunk (see checkpoint), after committing what is queued. */
  private seal(): Promise<void> {
    return this.run(async () => {
      await this.commit();
      if (this.series.openSamples === 0) return;
      await this.sealOpen(this.series.withOpenSamples());
    });
  }

  private async sealOpen(work: SeriesEntry[]): Promise<void> {
    const sealing = work.reduce((n, e) => n + e.open.count, 0);
    this.sealEpoch++;
    try {
      await this.sealTransaction(work, sealing);
    } finally {
      this.sealEpoch++;
    }
  }

  private async sealTransaction(work: SeriesEntry[], sealing: number): Promise<void> {
    // Locks are taken in series order on every node, so two nodes sealing the same series wait instead of deadlocking.
    const sorted = [...work].sort((x, y) => x.id - y.id);
    await this.transaction(this.db, async (client) => {
      const tails = this.mergeMaxSamples > 0 ? await this.lockTails(client, sorted) : new Map<number, TailChunk>();
      const inserts: NewChunk[] = [];
      const updates: NewChunk[] = [];
      let bytes = 0;
      for (const entry of sorted) {
        const { open } = entry;
        const n = open.count;
        const tail = tails.get(entry.id);
        if (tail !== undefined) {
          const old = decodeSamples(tail.data);
          const m = old.ts.length;
          const ts = new Float64Array(m + n);
          const values = new Float64Array(m + n);
          ts.set(old.ts, 0);
          ts.set(open.ts.subarray(0, n), m);
          values.set(old.values, 0);
          values.set(open.values.subarray(0, n), m);
          const data = encodeSamples(ts, values);
          updates.push({ id: tail.id, series: entry.id, start: tail.start, end: open.ts[n - 1], count: m + n, data });
          bytes += data.byteLength - tail.data.byteLength;
        } else {
          const data = encodeSamples(open.ts.subarray(0, n), open.values.subarray(0, n));
          inserts.push({ id: 0, series: entry.id, start: open.ts[0], end: open.ts[n - 1], count: n, data });
          bytes += data.byteLength;
        }
      }
      if (inserts.length > 0) {
        await client.query(
          'INSERT INTO metric_chunks (series, start_ts, end_ts, count, data) ' +
            'SELECT * FROM unnest($1::int[], $2::bigint[], $3::bigint[], $4::int[], $5::bytea[])',
          [
            inserts.map((c) => c.series),
            inserts.map((c) => c.start),
            inserts.map((c) => c.end),
            inserts.map((c) => c.count),
            inserts.map((c) => asBuffer(c.data)),
          ],
        );
      }
      if (updates.length > 0) {
        await client.query(
          'UPDATE metric_chunks AS c SET end_ts = u.end_ts, count = u.count, data = u.data ' +
            'FROM unnest($1::bigint[], $2::bigint[], $3::int[], $4::bytea[]) AS u(id, end_ts, count, data) ' +
            'WHERE c.id = u.id',
          [
            updates.map((c) => c.id),
            updates.map((c) => c.end),
            updates.map((c) => c.count),
            updates.map((c) => asBuffer(c.data)),
          ],
        );
      }
      const chunks = sorted.map((entry) => ({ entry, n: entry.open.count }));
      for (const tier of TIERS) await this.writeRollups(client, tier, chunks);
      await client.query('DELETE FROM metric_pending WHERE node = $1 AND id <= $2', [this.node, this.lastPendingId]);
      await this.addMeta(client, sealing, bytes);
    });
    for (const entry of work) entry.open.clear();
    this.series.openSamples -= sealing;
  }

  /**
   * Locks the newest chunk of each series in `work` (any node's) and returns those the series' open samples may be
   * merged into, with their payload: fewer than `mergeMaxSamples` in all, spanning at most MERGE_MAX_SPAN_MS, and
   * ending no later than the first open sample. Another node merging into the same chunk waits for this transaction,
   * then sees the chunk as it was left.
   */
  private async lockTails(client: pg.PoolClient, work: SeriesEntry[]): Promise<Map<number, TailChunk>> {
    const res = await client.query<{ id: number; series: number; start_ts: number; data: Buffer | null }>(
      'SELECT c.id, c.series, c.start_ts, CASE WHEN c.count + k.n <= $5 AND k.last - c.start_ts <= $6 ' +
        'AND k.first >= c.end_ts THEN c.data END AS data ' +
        'FROM unnest($1::int[], $2::int[], $3::bigint[], $4::bigint[]) WITH ORDINALITY AS k(series, n, first, last, i) ' +
        'CROSS JOIN LATERAL (SELECT id, series, start_ts, end_ts, count, data FROM metric_chunks m ' +
        'WHERE m.series = k.series ORDER BY end_ts DESC, id DESC LIMIT 1 FOR UPDATE) c ORDER BY k.i',
      [
        work.map((e) => e.id),
        work.map((e) => e.open.count),
        work.map((e) => e.open.ts[0]),
        work.map((e) => e.open.ts[e.open.count - 1]),
        this.mergeMaxSamples,
        MERGE_MAX_SPAN_MS,
      ],
    );
    const out = new Map<number, TailChunk>();
    for (const r of res.rows) if (r.data !== null) out.set(r.series, { id: r.id, start: r.start_ts, data: r.data });
    return out;
  }

  /**
   * Writes the buckets of the samples being sealed. The first bucket of each series continues the stored row, read
   * under a row lock and then replaced; a bucket with no stored row is merged with whatever another node may have
   * stored meanwhile (min, max, sum and count combine).
   */
  private async writeRollups(
    client: pg.PoolClient,
    tier: RollupTier,
    chunks: { entry: SeriesEntry; n: number }[],
  ): Promise<void> {
    const ms = TIER_MS[tier];
    const firsts = chunks.map((c) => bucketStart(c.entry.open.ts[0], ms));
    const locked = await client.query<RollupRow>(
      `SELECT r.series, r.ts, r.min, r.max, r.sum, r.count FROM ${TABLE[tier]} r ` +
        'JOIN unnest($1::int[], $2::bigint[]) AS k(series, ts) ON r.series = k.series AND r.ts = k.ts ' +
        'ORDER BY r.series, r.ts FOR UPDATE OF r',
      [chunks.map((c) => c.entry.id), firsts],
    );
    const stored = new Map<number, RollupPoint>();
    for (const r of locked.rows) stored.set(r.series, toPoint(r));
    const replace: RollupRow[] = [];
    const merge: RollupRow[] = [];
    for (const { entry, n } of chunks) {
      const prev = stored.get(entry.id);
      const buckets = rollupBuckets(entry.open.ts, entry.open.values, 0, n, ms, (t) =>
        prev !== undefined && prev.ts === t ? prev : undefined,
      );
      for (const b of buckets) {
        const row = { series: entry.id, ...b };
        if (prev !== undefined && b.ts === prev.ts) replace.push(row);
        else merge.push(row);
      }
    }
    const table = TABLE[tier];
    const insert =
      `INSERT INTO ${table} AS t (series, ts, min, max, sum, count) ` +
      'SELECT * FROM unnest($1::int[], $2::bigint[], $3::float8[], $4::float8[], $5::float8[], $6::int[]) ' +
      'ON CONFLICT (series, ts) DO UPDATE SET ';
    if (replace.length > 0) {
      await client.query(
        `${insert}min = excluded.min, max = excluded.max, sum = excluded.sum, count = excluded.count`,
        rollupArrays(replace),
      );
    }
    if (merge.length > 0) {
      await client.query(
        `${insert}min = LEAST(t.min, excluded.min), max = GREATEST(t.max, excluded.max), ` +
          'sum = t.sum + excluded.sum, count = t.count + excluded.count',
        rollupArrays(merge),
      );
    }
  }

  private async addMeta(client: pg.PoolClient, samples: number, bytes: number): Promise<void> {
    await client.query(
      "UPDATE metric_meta SET value = value + CASE key WHEN 'sealed_samples' THEN $1::bigint ELSE $2::bigint END",
      [samples, bytes],
    );
  }

  /** One transaction, retried when it lost a deadlock or a serialization conflict against another node. */
  private async transaction(db: pg.Pool, fn: (client: pg.PoolClient) => Promise<void>): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const client = await db.connect();
      try {
        await client.query('BEGIN');
        await fn(client);
        await client.query('COMMIT');
        return;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => {});
        const code = (err as { code?: unknown }).code;
        if (attempt >= MAX_ATTEMPTS || typeof code !== 'string' || !RETRYABLE.has(code)) throw err;
      } finally {
        client.release();
      }
    }
  }
}
