/**
 * @module bench/ingest/storage
 * Phase 3 of the ingest bench: bytes on disk per raw sample. A realistic 1 s dataset (series × seconds, timestamps in
 * the past) is posted in time order, paced so that the hub's checkpoints (every second here) seal chunks about as
 * long as its default 2-minute checkpoint would on live 1 s data; the hub is then stopped with SIGTERM (it
 * checkpoints and truncates the WAL) and `vigil.db` (+ `-wal`) is measured, with a per-table breakdown (`dbstat`).
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { round } from '../fanout/stats.js';
import { seriesDefs } from './dataset.js';
import { keepAliveAgent, post, readIngestReply } from './http-client.js';
import { type RunningHub, stopHub } from './hub.js';
import { Feed } from './throughput.js';

export interface StorageOptions {
  series: number;
  seconds: number;
  samplesPerRequest: number;
  /** Data seconds sent per wall second; with a 1 s checkpoint interval this is the chunk length in samples. */
  pace: number;
  baseTs: number;
  jitterMs: number;
}

export interface DbLayout {
  fileBytes: number;
  walBytes: number;
  chunks: number;
  chunkSamples: number;
  /** Gorilla payload bytes (the `data` column) of all chunks. */
  chunkPayloadBytes: number;
  rollup1mRows: number;
  rollup1hRows: number;
  /** Bytes per table or index (`dbstat`), largest first. */
  objects: { name: string; bytes: number }[];
}

export interface StorageResult {
  samples: number;
  accepted: number;
  rejected: number;
  firstError: string | null;
  ingestMs: number;
  stop: { graceful: boolean; ms: number };
  layout: DbLayout;
  stateDbBytes: number;
  bytesPerSample: number;
  chunkPayloadBytesPerSample: number;
  avgSamplesPerChunk: number;
}

function size(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

/** Reads the metric store's layout from `<dataDir>/vigil.db` (the hub must be stopped). */
export function inspectDb(dataDir: string): DbLayout {
  const path = join(dataDir, 'vigil.db');
  const fileBytes = size(path);
  const walBytes = size(`${path}-wal`);
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    const chunks = db
      .prepare<[], { n: number; samples: number | null; bytes: number | null }>(
        'SELECT count(*) AS n, sum(count) AS samples, sum(length(data)) AS bytes FROM chunks',
      )
      .get()!;
    const count = (table: string): number =>
      db.prepare<[], { n: number }>(`SELECT count(*) AS n FROM ${table}`).get()!.n;
    const objects = db
      .prepare<[], { name: string; bytes: number }>(
        'SELECT name, sum(pgsize) AS bytes FROM dbstat GROUP BY name ORDER BY bytes DESC',
      )
      .all();
    return {
      fileBytes,
      walBytes,
      chunks: chunks.n,
      chunkSamples: chunks.samples ?? 0,
      chunkPayloadBytes: chunks.bytes ?? 0,
      rollup1mRows: count('rollup_1m'),
      rollup1hRows: count('rollup_1h'),
      objects,
    };
  } finally {
    db.close();
  }
}

/** Posts the dataset in time order at `pace` data seconds per wall second; resolves when every reply is in. */
export async function ingestDataset(
  hub: RunningHub,
  o: StorageOptions,
): Promise<{ accepted: number; rejected: number; firstError: string | null; ms: number }> {
  const feed = new Feed(seriesDefs(o.series), 'json', o.baseTs, o.jitterMs);
  const agent = keepAliveAgent(1);
  const total = o.series * o.seconds;
  const samplesPerWallMs = (o.pace * o.series) / 1000;
  let accepted = 0;
  let rejected = 0;
  let firstError: string | null = null;
  const t0 = performance.now();
  for (let sent = 0; sent < total; ) {
    const n = Math.min(o.samplesPerRequest, total - sent);
    const due = t0 + sent / samplesPerWallMs;
    const wait = due - performance.now();
    if (wait > 1) await sleep(wait);
    const r = readIngestReply(await post(agent, hub.port, '/api/v1/metrics', 'application/json', feed.next(n)), n);
    accepted += r.accepted;
    rejected += r.rejected;
    if (r.firstError !== null) firstError ??= r.firstError;
    sent += n;
  }
  agent.destroy();
  return { accepted, rejected, firstError, ms: Math.round(performance.now() - t0) };
}

export async function runStorage(hub: RunningHub, o: StorageOptions): Promise<StorageResult> {
  const ingest = await ingestDataset(hub, o);
  const stop = await stopHub(hub);
  const layout = inspectDb(hub.dataDir);
  const samples = o.series * o.seconds;
  return {
    samples,
    accepted: ingest.accepted,
    rejected: ingest.rejected,
    firstError: ingest.firstError,
    ingestMs: ingest.ms,
    stop,
    layout,
    stateDbBytes: size(join(hub.dataDir, 'state.db')) + size(join(hub.dataDir, 'state.db-wal')),
    bytesPerSample: round((layout.fileBytes + layout.walBytes) / samples, 3),
    chunkPayloadBytesPerSample: round(layout.chunkPayloadBytes / samples, 3),
    avgSamplesPerChunk: layout.chunks > 0 ? round(layout.chunkSamples / layout.chunks, 1) : 0,
  };
}
