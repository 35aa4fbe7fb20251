/**
 * @module bench/cluster/pg-store
 * The PostgreSQL metric store against the SQLite one, in one invocation: `--series` series of 1 s gauge samples
 * (two decimals, a random walk), appended in batches of `--batch` as the pipeline does (without waiting for each
 * commit), then a checkpoint; with `--checkpoints N` the samples come in N equal slices of time, each followed by a
 * checkpoint (the steady state of a hub checkpointing every `600 / N` s of data, where a store that merges a series'
 * samples into its newest chunk writes fewer, larger chunks). Per engine and round: chunks, samples/s until every
 * append is durable, samples/s of the checkpoints (compressed chunks and rollups), chunk bytes per sample and bytes on
 * disk per sample. Rounds alternate the engines (`--runs`, default 3); figures are medians. PostgreSQL from
 * DATABASE_URL (a schema of its own, dropped after).
 *
 * `node --import tsx bench/cluster/pg-store.ts [--series 1000] [--samples 600] [--batch 5000] [--checkpoints 1] [--runs 3]`
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { type MetricStore, PostgresMetricStore, type SampleBatch, SqliteMetricStore } from '@vigil/server';
import Database from 'better-sqlite3';
import pg from 'pg';

const { values } = parseArgs({
  options: {
    series: { type: 'string', default: '1000' },
    samples: { type: 'string', default: '600' },
    batch: { type: 'string', default: '5000' },
    checkpoints: { type: 'string', default: '1' },
    runs: { type: 'string', default: '3' },
  },
});
const SERIES = Number(values.series);
const PER_SERIES = Number(values.samples);
const BATCH = Number(values.batch);
const CHECKPOINTS = Math.max(1, Math.min(Number(values.checkpoints), Number(values.samples)));
const RUNS = Number(values.runs);
const url = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const T0 = Date.UTC(2026, 0, 5, 9, 0, 0);

interface Round {
  chunks: number;
  ingestPerS: number;
  checkpointPerS: number;
  chunkBytesPerSample: number;
  diskBytesPerSample: number;
}

/** Samples in time order across series, every series one per second, in CHECKPOINTS slices of time. */
function slices(ids: number[]): SampleBatch[][] {
  const out: SampleBatch[][] = [];
  const level = ids.map((_, i) => 20 + (i % 50));
  let cur: SampleBatch | undefined;
  let seed = 1;
  const rand = () => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648;
  };
  for (let k = 0; k < PER_SERIES; k++) {
    const slice = Math.floor((k * CHECKPOINTS) / PER_SERIES);
    if (out.length === slice) {
      out.push([]);
      cur = undefined;
    }
    for (let i = 0; i < ids.length; i++) {
      if (cur === undefined || cur.length === BATCH) {
        cur = {
          length: 0,
          series: new Uint32Array(BATCH),
          ts: new Float64Array(BATCH),
          values: new Float64Array(BATCH),
        };
        out[slice]!.push(cur);
      }
      level[i] = Math.max(0, level[i]! + (rand() - 0.5));
      cur.series[cur.length] = ids[i]!;
      cur.ts[cur.length] = T0 + k * 1000;
      cur.values[cur.length] = Math.round(level[i]! * 100) / 100;
      cur.length++;
    }
  }
  return out;
}

async function round(store: MetricStore, countChunks: () => Promise<number>): Promise<Round> {
  await store.open();
  const ids: number[] = [];
  for (let i = 0; i < SERIES; i++) ids.push(await store.createSeries('bench.gauge', { i: String(i) }));
  const work = slices(ids);
  const total = SERIES * PER_SERIES;
  let ingestMs = 0;
  let checkpointMs = 0;
  for (const slice of work) {
    const t0 = performance.now();
    await Promise.all(slice.map((b) => store.append(b)));
    const t1 = performance.now();
    await store.checkpoint();
    ingestMs += t1 - t0;
    checkpointMs += performance.now() - t1;
  }
  const stats = await store.stats();
  await store.close();
  return {
    chunks: await countChunks(),
    ingestPerS: total / (ingestMs / 1000),
    checkpointPerS: total / (checkpointMs / 1000),
    chunkBytesPerSample: stats.sealedChunkBytes / stats.sealedSamples,
    diskBytesPerSample: stats.bytesOnDisk / stats.sealedSamples,
  };
}

function median(xs: number[]): number {
  const v = [...xs].sort((a, b) => a - b);
  const m = Math.floor(v.length / 2);
  return v.length % 2 ? v[m]! : (v[m - 1]! + v[m]!) / 2;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(os.tmpdir(), 'vigil-bench-pgstore-'));
  const schemas: string[] = [];
  const results: Record<'sqlite' | 'postgres', Round[]> = { sqlite: [], postgres: [] };
  try {
    for (let r = 0; r < RUNS; r++) {
      for (const engine of ['sqlite', 'postgres'] as const) {
        let store: MetricStore;
        let countChunks: () => Promise<number>;
        if (engine === 'sqlite') {
          const path = join(dir, `r${r}.db`);
          store = new SqliteMetricStore({ path });
          countChunks = async () => {
            const db = new Database(path, { readonly: true });
            try {
              return db.prepare<[], number>('SELECT count(*) FROM chunks').pluck().get()!;
            } finally {
              db.close();
            }
          };
        } else {
          const schema = `vigil_bench_${Math.random().toString(36).slice(2, 10)}`;
          schemas.push(schema);
          store = new PostgresMetricStore({ url, schema });
          countChunks = async () => {
            const client = new pg.Client({ connectionString: url });
            await client.connect();
            try {
              const res = await client.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${schema}.metric_chunks`);
              return res.rows[0]!.n;
            } finally {
              await client.end();
            }
          };
        }
        const res = await round(store, countChunks);
        results[engine].push(res);
        console.log(`round ${r + 1} ${engine}: ${JSON.stringify(res)}`);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    for (const s of schemas) await client.query(`DROP SCHEMA IF EXISTS ${s} CASCADE`);
    await client.end();
  }
  const med = (e: 'sqlite' | 'postgres') => {
    const rs = results[e];
    return {
      chunks: median(rs.map((x) => x.chunks)),
      ingest_samples_per_s: Math.round(median(rs.map((x) => x.ingestPerS))),
      checkpoint_samples_per_s: Math.round(median(rs.map((x) => x.checkpointPerS))),
      chunk_bytes_per_sample: Math.round(median(rs.map((x) => x.chunkBytesPerSample)) * 100) / 100,
      disk_bytes_per_sample: Math.round(median(rs.map((x) => x.diskBytesPerSample)) * 100) / 100,
    };
  };
  const sqlite = med('sqlite');
  const postgres = med('postgres');
  console.log(
    `\n== ${SERIES} series x ${PER_SERIES} samples, ${CHECKPOINTS} checkpoint(s), medians of ${RUNS} interleaved rounds`,
  );
  console.log(`sqlite:   ${JSON.stringify(sqlite)}`);
  console.log(`postgres: ${JSON.stringify(postgres)}`);
  console.log(
    `postgres vs sqlite: ingest ${Math.round((postgres.ingest_samples_per_s / sqlite.ingest_samples_per_s) * 100) / 100}, ` +
      `checkpoint ${Math.round((postgres.checkpoint_samples_per_s / sqlite.checkpoint_samples_per_s) * 100) / 100}; ` +
      `load average ${os
        .loadavg()
        .map((x) => x.toFixed(1))
        .join(' ')}`,
  );
}

await main();
