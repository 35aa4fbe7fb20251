/**
 * @module storage/sqlite-schema
 * Tables, pragmas and prepared statements of the SQLite metric store (see storage/sqlite-store).
 *
 * - `series`: one row per series; `labels` is canonical JSON (keys sorted). The store keeps (name, labels) unique in
 *   memory; no index repeats them on disk (files made before had a UNIQUE index, which stays and costs nothing else).
 * - `chunks`: sealed raw samples in the format of storage/chunk-codec (older files may also hold version 1 chunks of
 *   storage/gorilla, which still decode). A checkpoint appends each series' new samples to its newest chunk while
 *   that one is small (the row is replaced), or starts a new one. A rowid table, so chunks are appended in commit
 *   order and their pages stay full; `(series, end_ts)` indexes reads and retention.
 * - `rollup_1m`, `rollup_1h`: min, max, sum, count per epoch-aligned bucket. REAL columns store integral values as
 *   integers (compact for counters), which also means a -0 min, max or sum reads back as 0; NaN never reaches them
 *   except as a sum of +Infinity and -Infinity, which SQLite stores as NULL and the store reads back as NaN.
 * - `pending`: one blob per write-queue flush (storage/pending-batch), deleted once its samples are sealed.
 * - `meta`: the schema version and running totals, so `stats()` never scans the chunks.
 */
import type Database from 'better-sqlite3';
import type { RollupTier } from './metric-store.js';

export const SCHEMA_VERSION = 1;
export const META_SCHEMA = 'metric_store.schema_version';
export const META_SEALED_SAMPLES = 'metric_store.sealed_samples';
export const META_SEALED_BYTES = 'metric_store.sealed_bytes';

const DDL = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value ANY) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS series (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  labels TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS chunks (
  id INTEGER PRIMARY KEY,
  series INTEGER NOT NULL,
  start_ts INTEGER NOT NULL,
  end_ts INTEGER NOT NULL,
  count INTEGER NOT NULL,
  data BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS chunks_series_end ON chunks (series, end_ts);
CREATE TABLE IF NOT EXISTS rollup_1m (
  series INTEGER NOT NULL, ts INTEGER NOT NULL, min REAL NOT NULL, max REAL NOT NULL, sum REAL, count INTEGER NOT NULL,
  PRIMARY KEY (series, ts)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS rollup_1h (
  series INTEGER NOT NULL, ts INTEGER NOT NULL, min REAL NOT NULL, max REAL NOT NULL, sum REAL, count INTEGER NOT NULL,
  PRIMARY KEY (series, ts)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS pending (id INTEGER PRIMARY KEY, data BLOB NOT NULL);
`;

export type Synchronous = 'full' | 'normal';

/** Sets the pragmas, creates missing tables and checks the schema version. */
export function applySchema(db: Database.Database, synchronous: Synchronous): void {
  // Only takes effect on a new, empty file: lets checkpoints hand freed pages (mostly old pending blobs) back to the OS.
  // (16 KiB pages were tried: they pack chunks of a kilobyte better, but leave more room unused in the rollup tables
  // and cost a whole page per table and index; the data directory grew.)
  db.pragma('auto_vacuum = INCREMENTAL');
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${synchronous === 'normal' ? 'NORMAL' : 'FULL'}`);
  db.pragma('journal_size_limit = 67108864');
  db.pragma('cache_size = -16384');
  db.transaction(() => {
    db.exec(DDL);
    const row = db.prepare<[string], { value: number }>('SELECT value FROM meta WHERE key = ?').get(META_SCHEMA);
    if (row === undefined) {
      db.prepare('INSERT INTO meta (key, value) VALUES (?, ?)').run(META_SCHEMA, SCHEMA_VERSION);
    } else if (row.value !== SCHEMA_VERSION) {
      throw new Error(`metric store: schema version ${row.value} in ${db.name}, this build reads ${SCHEMA_VERSION}`);
    }
  }).immediate();
}

export interface RollupRow {
  ts: number;
  min: number;
  max: number;
  sum: number | null;
  count: number;
}

export interface TierStatements {
  upsert: Database.Statement<[number, number, number, number, number, number]>;
  range: Database.Statement<[number, number, number], RollupRow>;
  get: Database.Statement<[number, number], RollupRow>;
  /** Deletes rows whose bucket starts at or before the bound, for every series. */
  expire: Database.Statement<[number]>;
}

export interface Statements {
  allSeries: Database.Statement<[], { id: number; name: string; labels: string }>;
  insertSeries: Database.Statement<[number, string, string]>;
  allPending: Database.Statement<[], { id: number; data: Buffer }>;
  insertPending: Database.Statement<[Uint8Array]>;
  deletePending: Database.Statement<[number]>;
  insertChunk: Database.Statement<[number, number, number, number, Uint8Array]>;
  deleteChunk: Database.Statement<[number]>;
  chunkData: Database.Statement<[number], Buffer>;
  /** The newest chunk of one series: its row id, span and sample count. */
  newestChunkInfo: Database.Statement<[number], { id: number; startTs: number; endTs: number; count: number }>;
  /** Chunk payloads of one series overlapping [from, to], oldest first. */
  chunksIn: Database.Statement<[number, number, number], Buffer>;
  newestChunk: Database.Statement<[number], Buffer>;
  maxEndTs: Database.Statement<[number], number | null>;
  expiredTotals: Database.Statement<[number], { chunks: number; samples: number | null; bytes: number | null }>;
  expireChunks: Database.Statement<[number]>;
  getMeta: Database.Statement<[string], number>;
  setMeta: Database.Statement<[string, number]>;
  tiers: Record<RollupTier, TierStatements>;
}

function tierStatements(db: Database.Database, table: string): TierStatements {
  return {
    upsert: db.prepare(`INSERT OR REPLACE INTO ${table} (series, ts, min, max, sum, count) VALUES (?, ?, ?, ?, ?, ?)`),
    range: db.prepare(
      `SELECT ts, min, max, sum, count FROM ${table} WHERE series = ? AND ts >= ? AND ts <= ? ORDER BY ts`,
    ),
    get: db.prepare(`SELECT ts, min, max, sum, count FROM ${table} WHERE series = ? AND ts = ?`),
    expire: db.prepare(`DELETE FROM ${table} WHERE series IN (SELECT id FROM series) AND ts <= ?`),
  };
}

export function prepareStatements(db: Database.Database): Statements {
  return {
    allSeries: db.prepare('SELECT id, name, labels FROM series ORDER BY id'),
    insertSeries: db.prepare('INSERT INTO series (id, name, labels) VALUES (?, ?, ?)'),
    allPending: db.prepare('SELECT id, data FROM pending ORDER BY id'),
    insertPending: db.prepare('INSERT INTO pending (data) VALUES (?)'),
    deletePending: db.prepare('DELETE FROM pending WHERE id <= ?'),
    insertChunk: db.prepare('INSERT INTO chunks (series, start_ts, end_ts, count, data) VALUES (?, ?, ?, ?, ?)'),
    deleteChunk: db.prepare('DELETE FROM chunks WHERE id = ?'),
    chunkData: db.prepare<[number], Buffer>('SELECT data FROM chunks WHERE id = ?').pluck(),
    newestChunkInfo: db.prepare(
      'SELECT id, start_ts AS startTs, end_ts AS endTs, count FROM chunks WHERE series = ? ORDER BY end_ts DESC, id DESC LIMIT 1',
    ),
    chunksIn: db
      .prepare<[number, number, number], Buffer>(
        'SELECT data FROM chunks WHERE series = ? AND end_ts >= ? AND start_ts <= ? ORDER BY end_ts, id',
      )
      .pluck(),
    newestChunk: db
      .prepare<[number], Buffer>('SELECT data FROM chunks WHERE series = ? ORDER BY end_ts DESC, id DESC LIMIT 1')
      .pluck(),
    maxEndTs: db.prepare<[number], number | null>('SELECT max(end_ts) FROM chunks WHERE series = ?').pluck(),
    expiredTotals: db.prepare(
      'SELECT count(*) AS chunks, sum(count) AS samples, sum(length(data)) AS bytes FROM chunks ' +
        'WHERE series IN (SELECT id FROM series) AND end_ts < ?',
    ),
    expireChunks: db.prepare('DELETE FROM chunks WHERE series IN (SELECT id FROM series) AND end_ts < ?'),
    getMeta: db.prepare<[string], number>('SELECT value FROM meta WHERE key = ?').pluck(),
    setMeta: db.prepare('INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)'),
    tiers: { '1m': tierStatements(db, 'rollup_1m'), '1h': tierStatements(db, 'rollup_1h') },
  };
}
