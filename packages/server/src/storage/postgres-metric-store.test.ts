/**
 * @module storage/postgres-metric-store.test
 * PostgresMetricStore against the real PostgreSQL of this machine (DATABASE_URL, by default
 * postgres://postgres@127.0.0.1:5432/test), each store in a schema of its own that is dropped after the run: the shared
 * MetricStore conformance suite (merging chunks, and one chunk per checkpoint), then what is specific to a shared
 * store: migrations once when nodes start together, two nodes writing one schema (same series ids, every node reads
 * what any node made durable, before and after it checkpoints, exactly once, also while checkpoints run; buckets and
 * chunks merged), a node's unsealed samples replayed when it opens again, and chunks merged as the SQLite store does.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import pg from 'pg';
import { databaseUrl, dropPostgresSchema, randomSchema, requireService } from '../testing/services.js';
import {
  assertRawEqual,
  bruteRollups,
  metricStoreConformance,
  normaliseZeros,
  type Sample,
  toBatch,
} from './metric-store-conformance.js';
import {
  POSTGRES_METRIC_MIGRATIONS,
  PostgresMetricStore,
  type PostgresMetricStoreOptions,
} from './postgres-metric-store.js';
import { SqliteMetricStore } from './sqlite-store.js';

const url = databaseUrl();
const T0 = Date.UTC(2026, 0, 5, 9, 0, 0);
const EVERYTHING = [0, Number.MAX_SAFE_INTEGER] as const;
/** Conformance names the tables as the SQLite store does. */
const TABLES: Record<string, string> = {
  series: 'metric_series',
  chunks: 'metric_chunks',
  rollup_1m: 'metric_rollup_1m',
  rollup_1h: 'metric_rollup_1h',
  pending: 'metric_pending',
  meta: 'metric_meta',
};

async function withClient<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

if (await requireService('postgres', url)) {
  const schemas: string[] = [];
  after(async () => {
    for (const s of schemas) await dropPostgresSchema(url, s);
  });
  const newSchema = () => {
    const s = randomSchema();
    schemas.push(s);
    return s;
  };

  const countRows = (schema: string) =>
    withClient(async (client) => {
      const out: Record<string, number> = {};
      for (const [k, table] of Object.entries(TABLES)) {
        const { rows } = await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${schema}.${table}`);
        out[k] = Number(rows[0]!.n);
      }
      return out;
    });

  metricStoreConformance('postgres', {
    newPlace: newSchema,
    make: (schema) => new PostgresMetricStore({ url, schema, poolSize: 2 }),
    countRows,
    mergesChunks: true,
  });

  metricStoreConformance('postgres, one chunk per checkpoint', {
    newPlace: newSchema,
    make: (schema) => new PostgresMetricStore({ url, schema, poolSize: 2, mergeMaxSamples: 0 }),
    countRows,
  });

  describe('PostgresMetricStore', () => {
    const opened: PostgresMetricStore[] = [];
    const start = async (options: Omit<PostgresMetricStoreOptions, 'url'>) => {
      const store = new PostgresMetricStore({ url, poolSize: 2, ...options });
      opened.push(store);
      const series = await store.open();
      return { store, series };
    };
    after(async () => {
      for (const s of opened) await s.close();
    });

    test('three nodes opening one new schema at once migrate it once', async () => {
      const schema = newSchema();
      await Promise.all(['a', 'b', 'c'].map((node) => start({ schema, node })));
      const rows = await withClient(
        async (client) =>
          (await client.query(`SELECT part, version FROM ${schema}.vigil_migrations ORDER BY version`)).rows,
      );
      assert.deepEqual(
        rows,
        POSTGRES_METRIC_MIGRATIONS.map((_, i) => ({ part: 'metrics', version: i + 1 })),
      );
    });

    test('a node discovers the series other nodes created after it opened, each once', async () => {
      const schema = newSchema();
      const a = await start({ schema, node: 'a' });
      const b = await start({ schema, node: 'b' });
      assert.deepEqual(await a.store.discoverSeries(), []);
      const made = await b.store.createSeries('made.on.b', { host: 'b' });
      const both = await a.store.createSeries('made.on.a', { host: 'a' });
      assert.deepEqual(await a.store.discoverSeries(), [{ id: made, name: 'made.on.b', labels: { host: 'b' } }]);
      assert.deepEqual(await a.store.discoverSeries(), []);
      assert.deepEqual(await b.store.discoverSeries(), [{ id: both, name: 'made.on.a', labels: { host: 'a' } }]);
      // Once discovered, the series is known: creating it again on A finds the same id without a new row.
      assert.equal(await a.store.createSeries('made.on.b', { host: 'b' }), made);
      assert.deepEqual(await b.store.discoverSeries(), []);
    });

    test('two nodes share series ids, read what the other sealed, and merge the buckets they both wrote', async () => {
      const schema = newSchema();
      const a = await start({ schema, node: 'a' });
      const b = await start({ schema, node: 'b' });
      const idA = await a.store.createSeries('shared', { host: 'x' });
      const [idB, idB2] = await Promise.all([
        b.store.createSeries('shared', { host: 'x' }),
        b.store.createSeries('shared', { host: 'x' }),
      ]);
      assert.equal(idA, idB);
      assert.equal(idB, idB2);
      // Each node takes every other sample of one series (a client posting through a balancer).
      const all: Sample[] = [];
      const mine: Record<'a' | 'b', Sample[]> = { a: [], b: [] };
      for (let i = 0; i < 600; i++) {
        const s = { series: idA, ts: T0 + i * 500, value: (i % 17) + 0.5 };
        all.push(s);
        mine[i % 2 === 0 ? 'a' : 'b'].push(s);
      }
      await Promise.all([a.store.append(toBatch(mine.a)), b.store.append(toBatch(mine.b))]);
      await Promise.all([a.store.checkpoint(), b.store.checkpoint()]);
      const want = { ts: all.map((s) => s.ts), values: Float64Array.from(all.map((s) => s.value)) };
      for (const node of [a, b]) {
        assertRawEqual(await node.store.readRaw(idA, ...EVERYTHING), want, `node ${node.store.node}`);
        for (const tier of ['1m', '1h'] as const) {
          const got = normaliseZeros(await node.store.readRollup(idA, tier, ...EVERYTHING));
          const brute = bruteRollups(want.ts, want.values, tier);
          // Merged sums may differ from a time-ordered sum in the last place; everything else is exact.
          assert.deepEqual(
            got.map((p) => ({ ...p, sum: Math.round(p.sum * 1000) })),
            brute.map((p) => ({ ...p, sum: Math.round(p.sum * 1000) })),
            `${tier} on ${node.store.node}`,
          );
        }
      }
      // A third node opening later knows the series and its newest sample.
      const c = await start({ schema, node: 'c' });
      assert.deepEqual(
        c.series.map((s) => s.id),
        [idA],
      );
      assert.deepEqual((await c.store.lastSamples()).get(idA), { ts: all[599].ts, value: all[599].value });
      const stats = await c.store.stats();
      assert.equal(stats.sealedSamples, 600);
      assert.ok(stats.bytesOnDisk > 0);
    });

    test("a node's durable, unsealed samples are its own and come back when it opens again", async () => {
      const schema = newSchema();
      const a = await start({ schema, node: 'a', checkpointIntervalMs: 3_600_000 });
      const id = await a.store.createSeries('kept', {});
      const samples = Array.from({ length: 50 }, (_, i) => ({ series: id, ts: T0 + i * 1000, value: i }));
      await a.store.append(toBatch(samples));
      // Another node does not replay them.
      const b = await start({ schema, node: 'b' });
      assert.equal((await b.store.stats()).pendingSamples, 0);
      // Abandon node a without a checkpoint (as a crash would), then open it again.
      const pending = await withClient(
        async (client) => (await client.query(`SELECT count(*)::int AS n FROM ${schema}.metric_pending`)).rows[0].n,
      );
      assert.equal(pending, 1, 'one pending row per commit');
      const again = await start({ schema, node: 'a' });
      assert.equal((await again.store.stats()).pendingSamples, 50);
      assertRawEqual(
        await again.store.readRaw(id, ...EVERYTHING),
        { ts: samples.map((s) => s.ts), values: Float64Array.from(samples.map((s) => s.value)) },
        'replayed',
      );
    });

    test("every node reads another node's durable samples before that node checkpoints, and once after", async () => {
      const schema = newSchema();
      const a = (await start({ schema, node: 'a', checkpointIntervalMs: 3_600_000 })).store;
      const b = (await start({ schema, node: 'b', checkpointIntervalMs: 3_600_000 })).store;
      // `host` is collected by node b alone; `both` takes samples on either node, a the even seconds, b the odd ones.
      const host = await b.createSeries('system.cpu', { host: 'b' });
      const both = await a.createSeries('both', {});
      assert.equal(await b.createSeries('both', {}), both);
      const written: Sample[] = [];
      let next = 0;
      /** Five minutes of data per call: host and b's half of both on b, a's half of both on a; a commit each. */
      const write = async () => {
        const onA: Sample[] = [];
        const onB: Sample[] = [];
        for (let i = next; i < next + 300; i++) {
          const ts = T0 + i * 1000;
          onB.push({ series: host, ts, value: (i % 23) / 4 });
          (i % 2 === 0 ? onA : onB).push({ series: both, ts, value: i % 2 === 0 ? i : -i / 8 });
        }
        next += 300;
        written.push(...onA, ...onB);
        await Promise.all([a.append(toBatch(onA)), b.append(toBatch(onB))]);
      };
      const expect = async (what: string) => {
        for (const id of [host, both]) {
          const samples = written.filter((x) => x.series === id).sort((x, y) => x.ts - y.ts);
          const want = { ts: samples.map((x) => x.ts), values: Float64Array.from(samples.map((x) => x.value)) };
          for (const store of [a, b]) {
            const where = `series ${id} on ${store.node}, ${what}`;
            assertRawEqual(await store.readRaw(id, ...EVERYTHING), want, where);
            // A range that starts and ends inside the data.
            const from = want.ts[37]!;
            const to = want.ts[want.ts.length - 41]!;
            const inner = samples.filter((x) => x.ts >= from && x.ts <= to);
            assertRawEqual(
              await store.readRaw(id, from, to),
              { ts: inner.map((x) => x.ts), values: Float64Array.from(inner.map((x) => x.value)) },
              `${where}, inner range`,
            );
            for (const tier of ['1m', '1h'] as const) {
              const got = normaliseZeros(await store.readRollup(id, tier, ...EVERYTHING));
              const brute = bruteRollups(want.ts, want.values, tier);
              // Buckets two nodes fill may sum in another order than time: exact to the last places.
              assert.deepEqual(
                got.map((p) => ({ ...p, sum: Math.round(p.sum * 1000) })),
                brute.map((p) => ({ ...p, sum: Math.round(p.sum * 1000) })),
                `${tier} of ${where}`,
              );
            }
            // Newest samples are those of the series a store knows (a had opened before b created `host`).
            if (store === a && id === host) continue;
            const last = samples[samples.length - 1]!;
            assert.deepEqual((await store.lastSamples()).get(id), { ts: last.ts, value: last.value }, where);
          }
        }
      };
      await write();
      await expect('nothing sealed');
      // A node starting now (as a hub restores its series' newest values and hot window) reads them too.
      const c = await start({ schema, node: 'c' });
      assert.deepEqual(c.series.map((x) => x.id).sort(), [host, both].sort());
      const newest = await c.store.lastSamples();
      for (const id of [host, both]) {
        const mine = written.filter((x) => x.series === id).sort((x, y) => x.ts - y.ts);
        const last = mine[mine.length - 1]!;
        assert.deepEqual(newest.get(id), { ts: last.ts, value: last.value }, `newest of ${id} on c`);
        assert.equal((await c.store.readRaw(id, ...EVERYTHING)).ts.length, mine.length);
      }
      await write();
      await expect('two commits of each, nothing sealed');
      await b.checkpoint();
      await expect("b's samples sealed");
      await write();
      await expect("b's newer samples unsealed again");
      await a.checkpoint();
      await write();
      await expect("a's sealed, then newer ones on both");
      await Promise.all([a.checkpoint(), b.checkpoint()]);
      await expect('everything sealed');
      const stats = await a.stats();
      assert.equal(stats.sealedSamples, written.length, 'each sample sealed once');
    });

    test('reads stay exact while this node and another one checkpoint', async () => {
      const schema = newSchema();
      const a = (await start({ schema, node: 'a', checkpointIntervalMs: 3_600_000 })).store;
      const b = (await start({ schema, node: 'b', checkpointIntervalMs: 3_600_000 })).store;
      const id = await a.createSeries('busy', {});
      assert.equal(await b.createSeries('busy', {}), id);
      const written: Sample[] = [];
      for (let round = 0; round < 8; round++) {
        const onA: Sample[] = [];
        const onB: Sample[] = [];
        for (let i = 0; i < 200; i++) {
          const ts = T0 + (round * 200 + i) * 1000;
          (i % 2 === 0 ? onA : onB).push({ series: id, ts, value: round * 1000 + i });
        }
        written.push(...onA, ...onB);
        await Promise.all([a.append(toBatch(onA)), b.append(toBatch(onB))]);
        const want = written.map((x) => x.ts).sort((x, y) => x - y);
        // Reads on both nodes while both checkpoint: each sees every sample once.
        const reads: Promise<unknown>[] = [a.checkpoint(), b.checkpoint()];
        for (let k = 0; k < 10; k++) {
          for (const store of [a, b]) {
            reads.push(
              store
                .readRaw(id, ...EVERYTHING)
                .then((got) => assert.deepEqual(got.ts, want, `read ${k} on ${store.node}`)),
            );
          }
        }
        await Promise.all(reads);
      }
    });

    test('a read whose rows another node seals between its two statements reads again, in one snapshot', async () => {
      const schema = newSchema();
      const a = (await start({ schema, node: 'a', checkpointIntervalMs: 3_600_000 })).store;
      const b = (await start({ schema, node: 'b', checkpointIntervalMs: 3_600_000 })).store;
      const id = await b.createSeries('raced', {});
      const samples: Sample[] = [];
      const commit = async (k: number) => {
        const s = { series: id, ts: T0 + k * 1000, value: k };
        samples.push(s);
        await b.append(toBatch([s]));
      };
      await commit(0);
      assert.equal((await a.readRaw(id, ...EVERYTHING)).ts.length, 1);
      await commit(1);
      // b seals everything just before a fetches its new row.
      const poolQuery = pg.Pool.prototype.query;
      const clientQuery = pg.Client.prototype.query;
      let raced = 0;
      let transactions = 0;
      const patched = {
        pool(this: pg.Pool, ...args: unknown[]) {
          const sql = args[0];
          if (typeof sql === 'string' && sql.includes('FROM metric_pending p') && raced++ === 0) {
            return b.checkpoint().then(() => (poolQuery as (...a: unknown[]) => unknown).apply(this, args));
          }
          return (poolQuery as (...a: unknown[]) => unknown).apply(this, args);
        },
        client(this: pg.Client, ...args: unknown[]) {
          if (typeof args[0] === 'string' && args[0].startsWith('BEGIN ISOLATION LEVEL REPEATABLE READ'))
            transactions++;
          return (clientQuery as (...a: unknown[]) => unknown).apply(this, args);
        },
      };
      pg.Pool.prototype.query = patched.pool as typeof poolQuery;
      pg.Client.prototype.query = patched.client as typeof clientQuery;
      let got: Awaited<ReturnType<typeof a.readRaw>>;
      try {
        got = await a.readRaw(id, ...EVERYTHING);
      } finally {
        pg.Pool.prototype.query = poolQuery;
        pg.Client.prototype.query = clientQuery;
      }
      assert.equal(raced, 1, 'the fetch of the new row raced the checkpoint');
      assert.equal(transactions, 1, 'the read ran again in one transaction');
      assertRawEqual(got, { ts: samples.map((x) => x.ts), values: Float64Array.from(samples.map((x) => x.value)) });
    });

    test('a read finds the rows of another node as they are, even with one deleted by hand', async () => {
      const schema = newSchema();
      const a = (await start({ schema, node: 'a', checkpointIntervalMs: 3_600_000 })).store;
      const b = (await start({ schema, node: 'b', checkpointIntervalMs: 3_600_000 })).store;
      const id = await b.createSeries('rows', {});
      const commit = async (k: number) => {
        await b.append(toBatch([{ series: id, ts: T0 + k * 1000, value: k }]));
      };
      for (let k = 0; k < 3; k++) await commit(k);
      assert.deepEqual(
        (await a.readRaw(id, ...EVERYTHING)).ts,
        [0, 1, 2].map((k) => T0 + k * 1000),
      );
      // Delete b's middle row behind its back and commit a fourth: as many rows as before, other ids.
      await withClient((client) =>
        client.query(
          `DELETE FROM ${schema}.metric_pending WHERE id = (SELECT id FROM ${schema}.metric_pending ORDER BY id OFFSET 1 LIMIT 1)`,
        ),
      );
      await commit(3);
      assert.deepEqual(
        (await a.readRaw(id, ...EVERYTHING)).ts,
        [0, 2, 3].map((k) => T0 + k * 1000),
      );
      await commit(4);
      assert.deepEqual(
        (await a.readRaw(id, ...EVERYTHING)).ts,
        [0, 2, 3, 4].map((k) => T0 + k * 1000),
      );
    });

    test('checkpoints merge into the newest chunk as the SQLite store does: same chunks, same bytes', async () => {
      const schema = newSchema();
      const pgStore = (await start({ schema, checkpointIntervalMs: 3_600_000 })).store;
      const dir = mkdtempSync(join(tmpdir(), 'vigil-pg-merge-'));
      const path = join(dir, 'vigil.db');
      const lite = new SqliteMetricStore({ path, checkpointIntervalMs: 3_600_000 });
      await lite.open();
      try {
        const stores = [pgStore, lite];
        const ids: number[][] = [];
        for (const store of stores) {
          ids.push([await store.createSeries('fast', {}), await store.createSeries('slow', {})]);
        }
        const all: Sample[][] = [[], []];
        // 90 checkpoints, one per minute of data: `fast` takes one sample a second (a chunk is full at 1,024
        // samples), `slow` one a minute (a chunk is full once it spans an hour).
        for (let m = 0; m < 90; m++) {
          for (const [k, store] of stores.entries()) {
            const [fast, slow] = ids[k]!;
            const batch: Sample[] = [];
            for (let i = 0; i < 60; i++)
              batch.push({ series: fast!, ts: T0 + m * 60_000 + i * 1000, value: m + i / 4 });
            batch.push({ series: slow!, ts: T0 + m * 60_000 + 500, value: m * 2 });
            all[k]!.push(...batch);
            await store.append(toBatch(batch));
            await store.checkpoint();
          }
        }
        const pgChunks = await withClient(
          async (client) =>
            (
              await client.query<{ series: number; n: number }>(
                `SELECT series, count(*)::int AS n FROM ${schema}.metric_chunks GROUP BY series ORDER BY series`,
              )
            ).rows,
        );
        const db = new Database(path, { readonly: true });
        const liteChunks = db
          .prepare<[], { series: number; n: number }>(
            'SELECT series, count(*) AS n FROM chunks GROUP BY series ORDER BY series',
          )
          .all();
        db.close();
        // 5,400 samples of `fast` in chunks of 1,020 (17 checkpoints: 18 would pass 1,024); `slow` spans 89 minutes.
        assert.deepEqual(
          pgChunks.map((r) => r.n),
          [6, 2],
        );
        assert.deepEqual(
          liteChunks.map((r) => r.n),
          [6, 2],
        );
        const [pgStats, liteStats] = [await pgStore.stats(), await lite.stats()];
        assert.equal(pgStats.sealedSamples, 90 * 61);
        assert.equal(pgStats.sealedSamples, liteStats.sealedSamples);
        assert.equal(pgStats.sealedChunkBytes, liteStats.sealedChunkBytes, 'the same chunks, byte for byte');
        for (const [k, store] of stores.entries()) {
          for (const id of ids[k]!) {
            const want = all[k]!.filter((x) => x.series === id);
            assertRawEqual(
              await store.readRaw(id, ...EVERYTHING),
              { ts: want.map((x) => x.ts), values: Float64Array.from(want.map((x) => x.value)) },
              `series ${id} of ${k === 0 ? 'postgres' : 'sqlite'}`,
            );
          }
        }
      } finally {
        await lite.close();
        rmSync(dir, { recursive: true, force: true });
      }
    });

    test("a node's checkpoint merges into the chunk another node sealed, unless their samples overlap", async () => {
      const schema = newSchema();
      const a = (await start({ schema, node: 'a', checkpointIntervalMs: 3_600_000 })).store;
      const b = (await start({ schema, node: 'b', checkpointIntervalMs: 3_600_000 })).store;
      const id = await a.createSeries('handed', {});
      assert.equal(await b.createSeries('handed', {}), id);
      const all: Sample[] = [];
      const part = (from: number, n: number) => {
        const out = Array.from({ length: n }, (_, i) => ({ series: id, ts: T0 + (from + i) * 1000, value: from + i }));
        all.push(...out);
        return out;
      };
      const chunks = () =>
        withClient(
          async (client) =>
            (await client.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${schema}.metric_chunks`)).rows[0]!.n,
        );
      await a.append(toBatch(part(0, 100)));
      await a.checkpoint();
      await b.append(toBatch(part(100, 100)));
      await b.checkpoint();
      await a.append(toBatch(part(200, 100)));
      await a.checkpoint();
      assert.equal(await chunks(), 1, 'each checkpoint continued the newest chunk');
      // Samples older than the newest chunk's end start a chunk of their own; reads merge them in order.
      await b.append(toBatch(part(250, 10)));
      await b.checkpoint();
      assert.equal(await chunks(), 2);
      all.sort((x, y) => x.ts - y.ts);
      for (const store of [a, b]) {
        const got = await store.readRaw(id, ...EVERYTHING);
        assert.deepEqual(
          got.ts,
          all.map((x) => x.ts),
          `timestamps on ${store.node}`,
        );
        assert.deepEqual(
          [...got.values].sort((x, y) => x - y),
          all.map((x) => x.value).sort((x, y) => x - y),
        );
      }
      assert.equal((await a.stats()).sealedSamples, 310);
    });

    test('a bad schema name or an unreachable server is a clear error', async () => {
      assert.throws(() => new PostgresMetricStore({ url, schema: 'x; DROP TABLE y' }), /invalid PostgreSQL schema/);
      const unreachable = new PostgresMetricStore({ url: 'postgres://postgres@127.0.0.1:1/test', schema: 'x' });
      await assert.rejects(unreachable.open(), /ECONNREFUSED|connect/);
    });
  });
}
