/**
 * @module storage/sqlite-store.test
 * SqliteMetricStore on real files in a temporary directory: the shared MetricStore conformance suite, then what is
 * specific to SQLite: one pending row per commit, commit pacing, early checkpoints, stats, the schema version, a
 * writer process killed with SIGKILL, and bytes on disk for an hour of realistic 1 s data.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { prng } from '../testing/seeded-random.js';
import type { SampleBatch } from './metric-store.js';
import {
  assertRawEqual,
  bruteRollups,
  metricStoreConformance,
  normaliseZeros,
  type Sample,
  toBatch,
} from './metric-store-conformance.js';
import { SqliteMetricStore, type SqliteMetricStoreOptions } from './sqlite-store.js';

const TABLES = ['series', 'chunks', 'rollup_1m', 'rollup_1h', 'pending', 'meta'];
const EVERYTHING = [0, Number.MAX_SAFE_INTEGER] as const;
const T0 = Date.UTC(2026, 0, 5, 9, 0, 0);

const newPath = () => join(mkdtempSync(join(tmpdir(), 'vigil-store-')), 'vigil.db');

/** Runs `fn` on a read-only connection of its own, as an outside observer of the file. */
function inspect<T>(path: string, fn: (db: Database.Database) => T): T {
  const db = new Database(path, { readonly: true });
  try {
    return fn(db);
  } finally {
    db.close();
  }
}

function countRows(path: string): Record<string, number> {
  return inspect(path, (db) => {
    const out: Record<string, number> = {};
    for (const t of TABLES) out[t] = db.prepare<[], number>(`SELECT count(*) FROM ${t}`).pluck().get()!;
    return out;
  });
}

metricStoreConformance('sqlite', {
  newPlace: newPath,
  make: (path) => new SqliteMetricStore({ path }),
  countRows,
  mergesChunks: true,
});

metricStoreConformance('sqlite, one chunk per checkpoint', {
  newPlace: newPath,
  make: (path) => new SqliteMetricStore({ path, mergeMaxSamples: 0 }),
  countRows,
});

describe('SqliteMetricStore', () => {
  const opened: SqliteMetricStore[] = [];
  const start = async (options: SqliteMetricStoreOptions) => {
    const store = new SqliteMetricStore(options);
    opened.push(store);
    await store.open();
    return store;
  };
  after(async () => {
    for (const s of opened) await s.close();
  });

  test('appends made in one turn share one commit: one pending row, sealed and deleted by a checkpoint', async () => {
    const path = newPath();
    const store = await start({ path });
    const ids = await Promise.all([0, 1, 2, 3].map((i) => store.createSeries('shared', { i: String(i) })));
    const appends: Promise<void>[] = [];
    for (let k = 0; k < 20; k++)
      appends.push(store.append(toBatch(ids.map((s) => ({ series: s, ts: T0 + k, value: k })))));
    await Promise.all(appends);
    assert.deepEqual(
      { ...countRows(path), meta: 0 },
      { series: 4, chunks: 0, rollup_1m: 0, rollup_1h: 0, pending: 1, meta: 0 },
    );
    assert.equal(
      inspect(path, (db) => db.pragma('journal_mode', { simple: true })),
      'wal',
    );
    await store.checkpoint();
    const rows = countRows(path);
    assert.equal(rows.pending, 0);
    assert.equal(rows.chunks, 4, 'one chunk per series');
    assert.equal(rows.rollup_1m, 4);
  });

  test('commits are paced by flushIntervalMs, and a full queue commits at once', async () => {
    let clock = 1_000_000;
    const store = await start({ path: newPath(), flushIntervalMs: 60_000, maxQueueSamples: 1000, now: () => clock });
    const s = await store.createSeries('paced', {});
    const settled = (p: Promise<void>) => {
      let done = false;
      p.then(() => {
        done = true;
      });
      return () => done;
    };
    // After a quiet spell the first append commits on the next turn.
    await store.append(toBatch([{ series: s, ts: T0, value: 1 }]));
    clock += 10_000;
    const second = settled(store.append(toBatch([{ series: s, ts: T0 + 1, value: 2 }])));
    await new Promise((r) => setTimeout(r, 30));
    assert.equal(second(), false, 'waits for the rest of the interval');
    const big = Array.from({ length: 1000 }, (_, i) => ({ series: s, ts: T0 + 2 + i, value: i }));
    await store.append(toBatch(big));
    assert.equal(second(), true, 'a full queue commits everything queued');
    assert.equal((await store.stats()).pendingSamples, 1002);
    clock += 10_000;
    const third = settled(store.append(toBatch([{ series: s, ts: T0 + 5000, value: 3 }])));
    await new Promise((r) => setImmediate(r));
    assert.equal(third(), false);
    await store.checkpoint(); // commits the queue first
    await new Promise((r) => setImmediate(r));
    assert.equal(third(), true);
    assert.equal((await store.stats()).sealedSamples, 1003);
  });

  test('open samples past maxOpenSamples trigger a checkpoint', async () => {
    const path = newPath();
    const store = await start({ path, maxOpenSamples: 1000 });
    const s = await store.createSeries('early', {});
    await store.append(toBatch(Array.from({ length: 999 }, (_, i) => ({ series: s, ts: T0 + i, value: i }))));
    await new Promise((r) => setImmediate(r));
    assert.equal((await store.stats()).pendingSamples, 999);
    await store.append(toBatch([{ series: s, ts: T0 + 999, value: 0 }]));
    await new Promise((r) => setImmediate(r));
    assert.equal((await store.stats()).pendingSamples, 0);
    assert.equal(countRows(path).chunks, 1);
  });

  test('stats: bytes on disk, series, sealed samples and bytes, pending; totals survive a restart', async () => {
    const path = newPath();
    // One chunk per checkpoint, so that retention below drops the first checkpoint's chunks.
    const store = await start({ path, mergeMaxSamples: 0 });
    const ids = await Promise.all([0, 1, 2].map((i) => store.createSeries('stats', { i: String(i) })));
    const batch = (from: number) =>
      toBatch(ids.flatMap((s) => [0, 1, 2, 3, 4].map((k) => ({ series: s, ts: from + k * 1000, value: k }))));
    await store.append(batch(T0));
    await store.checkpoint();
    await store.append(batch(T0 + 10_000));
    const stats = await store.stats();
    const sealedBytes = inspect(path, (db) =>
      db.prepare<[], number>('SELECT sum(length(data)) FROM chunks').pluck().get(),
    );
    assert.equal(stats.series, 3);
    assert.equal(stats.sealedSamples, 15);
    assert.equal(stats.sealedChunkBytes, sealedBytes);
    assert.equal(stats.pendingSamples, 15);
    assert.equal(stats.bytesOnDisk, statSync(path).size + statSync(`${path}-wal`).size);
    await store.close();
    assert.ok(!existsSync(`${path}-wal`) || statSync(`${path}-wal`).size === 0, 'close empties the WAL');
    const again = await start({ path, mergeMaxSamples: 0 });
    const restarted = await again.stats();
    assert.equal(restarted.sealedSamples, 30);
    assert.equal(restarted.pendingSamples, 0);
    assert.equal(
      restarted.sealedChunkBytes,
      inspect(path, (db) => db.prepare<[], number>('SELECT sum(length(data)) FROM chunks').pluck().get()),
    );
    const result = await again.enforceRetention(T0 + 10_000 + 3_600_000, {
      rawMs: 3_600_000,
      oneMinuteMs: 1e12,
      oneHourMs: 1e12,
    });
    assert.equal(result.rawChunks, 3);
    assert.equal((await again.stats()).sealedSamples, 15);
  });

  test('checkpoints merge into the newest chunk up to mergeMaxSamples, across restarts; freed pages and the WAL are given back', async () => {
    const path = newPath();
    const store = await start({ path, mergeMaxSamples: 100 });
    const s = await store.createSeries('merge', {});
    const all: Sample[] = [];
    const rand = prng(11);
    const chunks = () =>
      inspect(path, (db) =>
        db
          .prepare<[], { start_ts: number; end_ts: number; count: number }>(
            'SELECT start_ts, end_ts, count FROM chunks ORDER BY id',
          )
          .all(),
      );
    const round = async (k: number, n: number) => {
      const batch = Array.from({ length: n }, (_, i) => ({
        series: s,
        ts: T0 + (all.length + i) * 1000,
        value: k % 2 === 0 ? Math.round(rand() * 10000) / 100 : rand(),
      }));
      all.push(...batch);
      await store.append(toBatch(batch));
      await store.checkpoint();
    };
    for (let k = 0; k < 4; k++) await round(k, 30);
    // 30 + 30 + 30 merge into one chunk of 90; a fourth 30 would pass 100, so it starts a new chunk.
    assert.deepEqual(
      chunks().map((c) => c.count),
      [90, 30],
    );
    assert.equal(chunks()[0].start_ts, T0);
    assert.equal(chunks()[0].end_ts, T0 + 89_000);
    const stats = await store.stats();
    assert.equal(stats.sealedSamples, 120);
    assert.equal(
      stats.sealedChunkBytes,
      inspect(path, (db) => db.prepare<[], number>('SELECT sum(length(data)) FROM chunks').pluck().get()),
    );
    assert.equal(
      inspect(path, (db) => db.pragma('freelist_count', { simple: true })),
      0,
      'no free pages',
    );
    assert.ok(!existsSync(`${path}-wal`) || statSync(`${path}-wal`).size === 0, 'the WAL is emptied');
    await store.close();
    const again = await start({ path, mergeMaxSamples: 100 });
    const rawOf = () => ({ ts: all.map((x) => x.ts), values: Float64Array.from(all.map((x) => x.value)) });
    assertRawEqual(await again.readRaw(s, ...EVERYTHING), rawOf(), 'after a restart');
    await again.append(toBatch([{ series: s, ts: T0 + all.length * 1000, value: 1.5 }]));
    all.push({ series: s, ts: T0 + all.length * 1000, value: 1.5 });
    await again.checkpoint();
    assert.deepEqual(
      chunks().map((c) => c.count),
      [90, 31],
      'the newest chunk is found again after a restart',
    );
    assertRawEqual(await again.readRaw(s, ...EVERYTHING), rawOf(), 'merged after a restart');
    assertRawEqual(
      await again.readRaw(s, T0 + 95_000, T0 + 100_000),
      { ts: all.slice(95, 101).map((x) => x.ts), values: Float64Array.from(all.slice(95, 101).map((x) => x.value)) },
      'a range inside the merged chunk',
    );
    assert.equal((await again.stats()).sealedSamples, 121);
  });

  test('a database of another schema version is refused', async () => {
    const path = newPath();
    await (await start({ path })).close();
    const db = new Database(path);
    db.prepare("UPDATE meta SET value = 99 WHERE key = 'metric_store.schema_version'").run();
    db.close();
    await assert.rejects(() => new SqliteMetricStore({ path }).open(), /schema version 99/);
    assert.throws(() => new SqliteMetricStore({ path, flushIntervalMs: 0 }), RangeError);
  });

  test('a writer killed with SIGKILL loses no acknowledged sample, and nothing unacknowledged appears', async () => {
    const path = newPath();
    const code = `
      import { writeSync } from 'node:fs';
      const { SqliteMetricStore } = await import(${JSON.stringify(new URL('./sqlite-store.ts', import.meta.url).href)});
      const store = new SqliteMetricStore({ path: ${JSON.stringify(path)} });
      await store.open();
      const ids = await Promise.all([0, 1, 2].map((i) => store.createSeries('crash', { i: String(i) })));
      const batch = (from, n) => {
        const b = { length: n, series: new Uint32Array(n), ts: new Float64Array(n), values: new Float64Array(n) };
        for (let k = 0; k < n; k++) {
          const j = from + k;
          b.series[k] = ids[j % 3];
          b.ts[k] = ${T0} + Math.floor(j / 3) * 2100;
          b.values[k] = ${crashValueSource};
        }
        return b;
      };
      const acks = [];
      for (let b = 0; b < 40; b++) {
        acks.push(store.append(batch(b * 250, 250)));
        if (b % 10 === 9 && b < 30) { await Promise.all(acks); await store.checkpoint(); }
      }
      await Promise.all(acks);
      writeSync(1, JSON.stringify({ ids, stats: await store.stats() }) + '\\n');
      store.append(batch(10000, 250)); // queued, never acknowledged
      process.kill(process.pid, 'SIGKILL');
    `;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.stderr.on('data', (d) => {
      err += d;
    });
    const signal = await new Promise((resolve) => child.on('exit', (_code, sig) => resolve(sig)));
    assert.equal(signal, 'SIGKILL', err);
    const reported = JSON.parse(out) as { ids: number[]; stats: { pendingSamples: number; sealedSamples: number } };
    assert.deepEqual(reported.stats, { ...reported.stats, sealedSamples: 7500, pendingSamples: 2500 });
    assert.ok(statSync(`${path}-wal`).size > 0, 'the killed writer left its WAL behind');

    const all: Sample[] = [];
    for (let j = 0; j < 10_000; j++)
      all.push({ series: reported.ids[j % 3], ts: T0 + Math.floor(j / 3) * 2100, value: crashValue(j) });
    const verify = async (store: SqliteMetricStore, what: string) => {
      for (const s of reported.ids) {
        const mine = all.filter((x) => x.series === s);
        const raw = { ts: mine.map((x) => x.ts), values: Float64Array.from(mine.map((x) => x.value)) };
        assertRawEqual(await store.readRaw(s, ...EVERYTHING), raw, `${what}, series ${s}`);
        for (const tier of ['1m', '1h'] as const) {
          const got = normaliseZeros(await store.readRollup(s, tier, ...EVERYTHING));
          assert.deepEqual(got, bruteRollups(raw.ts, raw.values, tier), `${what}, ${tier} of ${s}`);
        }
        const last = (await store.lastSamples()).get(s);
        assert.deepEqual(last, { ts: mine[mine.length - 1].ts, value: mine[mine.length - 1].value });
      }
    };
    const store = await start({ path });
    assert.equal((await store.stats()).pendingSamples, 2500, 'pending rows replayed');
    assert.equal((await store.stats()).sealedSamples, 7500);
    await verify(store, 'replayed');
    await store.checkpoint();
    await verify(store, 'replayed and sealed');
    await store.close();
    const again = await start({ path });
    await verify(again, 'after a clean restart');
    assert.equal(countRows(path).pending, 0);
  });

  for (const timing of ['regular', 'jittered'] as const) {
    test(`bytes on disk: 1,000 series x 3,600 s of ${timing} 1 s data stay under 4 bytes per sample`, async (t) => {
      const path = newPath();
      const store = await start({ path });
      const series = 1000;
      const seconds = 3600;
      const rand = prng(5);
      const ids: number[] = [];
      const level: number[] = [];
      for (let i = 0; i < series; i++) {
        ids.push(await store.createSeries(`host.metric_${i % 4}`, { host: `h${Math.floor(i / 4)}` }));
        level.push([25, 123_456_789, 4_000_000_000, 40][i % 4]);
      }
      let ts = T0;
      let acks: Promise<void>[] = [];
      for (let k = 0; k < seconds; k++) {
        // The collector stamps a tick with Date.now(): a 1 s timer drifting by a few ms.
        ts += timing === 'regular' ? 1000 : 1000 + Math.floor(rand() * 7) - 3;
        const batch: SampleBatch = {
          length: series,
          series: Uint32Array.from(ids),
          ts: new Float64Array(series).fill(ts),
          values: new Float64Array(series),
        };
        for (let i = 0; i < series; i++) batch.values[i] = nextValue(i % 4, level, i, rand);
        acks.push(store.append(batch));
        // The checkpoint timer's cadence (120 s): chunks of 120 samples, rollup buckets continued across checkpoints.
        if ((k + 1) % 120 === 0) {
          await Promise.all(acks);
          acks = [];
          await store.checkpoint();
        }
      }
      await Promise.all(acks);
      await store.close();
      assert.ok(!existsSync(`${path}-wal`) || statSync(`${path}-wal`).size === 0);
      const perSample = statSync(path).size / (series * seconds);
      const blobs = inspect(path, (db) =>
        db.prepare<[], number>('SELECT sum(length(data)) * 1.0 / sum(count) FROM chunks').pluck().get(),
      );
      t.diagnostic(`${timing}: ${perSample.toFixed(3)} bytes/sample on disk (chunk payloads ${blobs?.toFixed(3)})`);
      assert.ok(perSample <= 4, `${perSample} bytes/sample`);
    });
  }
});

/** The crash test's values: 2-decimal gauges with NaN and -0 mixed in. Mirrored as source for the child process. */
function crashValue(j: number): number {
  return j % 97 === 0 ? Number.NaN : j % 1001 === 0 ? -0 : Math.round(Math.sin(j) * 10000) / 100;
}
const crashValueSource = 'j % 97 === 0 ? NaN : j % 1001 === 0 ? -0 : Math.round(Math.sin(j) * 10000) / 100';

/** Realistic host metrics: a CPU percentage (2 decimals), a byte counter, memory in pages, a temperature (1 decimal). */
function nextValue(kind: number, level: number[], i: number, rand: () => number): number {
  switch (kind) {
    case 0:
      level[i] = Math.min(100, Math.max(0, level[i] + (rand() - 0.5) * 2));
      return Math.round((level[i] + (rand() - 0.5) * 3) * 100) / 100;
    case 1:
      level[i] += 800 + Math.floor(rand() * 400);
      return level[i];
    case 2:
      if (rand() < 0.2) level[i] += Math.floor((rand() - 0.5) * 2_000_000) * 4096;
      return level[i];
    default:
      level[i] += (rand() - 0.5) * 0.4;
      return Math.round(level[i] * 10) / 10;
  }
}
