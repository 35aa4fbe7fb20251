/**
 * @module storage/metric-store-conformance
 * The shared conformance suite every MetricStore engine must pass, through the public interface only: bit-exact raw
 * round trips across checkpoints and restarts, rollups equal to a brute-force recomputation, retention that deletes
 * exactly what is older than each tier's cutoff, series registration and input validation. An engine's test file
 * calls `metricStoreConformance()`; see sqlite-store.test.ts.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { prng } from '../testing/seeded-random.js';
import {
  type MetricStore,
  type RawPoints,
  type RollupPoint,
  type RollupTier,
  type SampleBatch,
  TIER_MS,
} from './metric-store.js';

export interface ConformanceTarget {
  /** A new, empty place for a store (for SQLite, a file in a temporary directory). */
  newPlace(): string;
  /** An unopened store on `place`. Called again on the same place after `close()` to restart. */
  make(place: string): MetricStore;
  /** Rows per table, to prove that retention touches nothing else (optional, engine-specific). */
  countRows?(place: string): Record<string, number> | Promise<Record<string, number>>;
  /**
   * The engine may merge a checkpoint's samples into the series' newest chunk (so chunk boundaries are not the
   * checkpoints'): retention is then checked to keep every sample at or after the cutoff and to delete whole chunks,
   * not at exact chunk boundaries.
   */
  mergesChunks?: boolean;
}

export interface Sample {
  series: number;
  ts: number;
  value: number;
}

export function toBatch(samples: readonly Sample[]): SampleBatch {
  const n = samples.length;
  const batch: SampleBatch = {
    length: n,
    series: new Uint32Array(n),
    ts: new Float64Array(n),
    values: new Float64Array(n),
  };
  samples.forEach((s, i) => {
    batch.series[i] = s.series;
    batch.ts[i] = s.ts;
    batch.values[i] = s.value;
  });
  return batch;
}

/** Asserts that `actual` holds exactly `expected`, comparing values bit for bit. */
export function assertRawEqual(actual: RawPoints, expected: { ts: number[]; values: Float64Array }, what = ''): void {
  assert.deepEqual(actual.ts, expected.ts, `timestamps ${what}`);
  assert.equal(actual.values.length, expected.values.length, `value count ${what}`);
  const a = new BigUint64Array(actual.values.buffer, actual.values.byteOffset, actual.values.length);
  const e = new BigUint64Array(expected.values.buffer, expected.values.byteOffset, expected.values.length);
  for (let i = 0; i < e.length; i++) {
    if (a[i] !== e[i]) assert.fail(`${what} value ${i}: got 0x${a[i].toString(16)}, expected 0x${e[i].toString(16)}`);
  }
}

/**
 * Brute-force rollups from raw samples (oldest first): NaN excluded, min/max via Math.min/Math.max, a left-to-right
 * sum starting from the bucket's first value. Zeros are normalised (a stored -0 may read back as 0).
 */
export function bruteRollups(ts: readonly number[], values: Float64Array, tier: RollupTier): RollupPoint[] {
  const out: RollupPoint[] = [];
  const ms = TIER_MS[tier];
  for (let i = 0; i < ts.length; i++) {
    const v = values[i];
    if (Number.isNaN(v)) continue;
    const b = Math.floor(ts[i] / ms) * ms;
    const last = out[out.length - 1];
    if (last === undefined || last.ts !== b) {
      out.push({ ts: b, min: v, max: v, sum: v, count: 1 });
    } else {
      last.min = Math.min(last.min, v);
      last.max = Math.max(last.max, v);
      last.sum += v;
      last.count++;
    }
  }
  return normaliseZeros(out);
}

export function normaliseZeros(points: RollupPoint[]): RollupPoint[] {
  const z = (x: number) => (x === 0 ? 0 : x);
  return points.map((p) => ({ ts: p.ts, min: z(p.min), max: z(p.max), sum: z(p.sum), count: p.count }));
}

function rawOf(samples: readonly Sample[], series: number, from = -Infinity, to = Infinity) {
  const picked = samples.filter((s) => s.series === series && s.ts >= from && s.ts <= to);
  return { ts: picked.map((s) => s.ts), values: Float64Array.from(picked.map((s) => s.value)) };
}

/** NaN with a payload, to check that payload bits survive. */
function nanWithPayload(): number {
  const f = new Float64Array(1);
  new Uint32Array(f.buffer).set([0xdeadbeef, 0x7ff8beef]);
  return f[0];
}

const T0 = Date.UTC(2026, 0, 5, 9, 0, 0);
const EVERYTHING = [0, Number.MAX_SAFE_INTEGER] as const;

export function metricStoreConformance(engine: string, target: ConformanceTarget): void {
  describe(`MetricStore conformance: ${engine}`, () => {
    const opened: MetricStore[] = [];
    const start = async (place: string) => {
      const store = target.make(place);
      opened.push(store);
      return { store, series: await store.open() };
    };
    after(async () => {
      for (const s of opened) await s.close();
    });

    test('series: ids are stable, label order does not matter, and they come back after a restart', async () => {
      const place = target.newPlace();
      const { store, series } = await start(place);
      assert.deepEqual(series, []);
      const a = await store.createSeries('cpu.usage', { host: 'a', core: '0' });
      const b = await store.createSeries('cpu.usage', { core: '0', host: 'a' });
      const c = await store.createSeries('cpu.usage', { host: 'b' });
      const d = await store.createSeries('mem.used', {});
      assert.equal(a, b);
      assert.equal(new Set([a, c, d]).size, 3);
      await store.append(toBatch([{ series: a, ts: T0, value: 1 }]));
      await store.close();
      const again = await start(place);
      const byId = new Map(again.series.map((s) => [s.id, s]));
      assert.deepEqual(byId.get(a), { id: a, name: 'cpu.usage', labels: { core: '0', host: 'a' } });
      assert.deepEqual(byId.get(c)?.labels, { host: 'b' });
      assert.equal(byId.get(d)?.name, 'mem.used');
      assert.equal(await again.store.createSeries('cpu.usage', { host: 'a', core: '0' }), a);
      const e = await again.store.createSeries('disk.free', { dev: 'sda' });
      assert.ok(![a, c, d].includes(e), 'a new series gets a new id');
    });

    test('raw samples round-trip bit for bit (NaN payloads, ±Infinity, -0) across checkpoints and a restart', async () => {
      const place = target.newPlace();
      const { store } = await start(place);
      const s1 = await store.createSeries('edge', { k: '1' });
      const s2 = await store.createSeries('edge', { k: '2' });
      const special = [Number.NaN, nanWithPayload(), Infinity, -Infinity, -0, 0, 5e-324, Number.MAX_VALUE, -1.5];
      const rand = prng(7);
      const all: Sample[] = [];
      let t = T0;
      for (let round = 0; round < 5; round++) {
        const batch: Sample[] = [];
        for (let i = 0; i < 300; i++) {
          t += rand() < 0.1 ? 0 : 1 + Math.floor(rand() * 2000); // equal timestamps are allowed
          const pick = rand();
          const value = pick < 0.2 ? special[Math.floor(rand() * special.length)] : Math.round(rand() * 1e4) / 100;
          batch.push({ series: rand() < 0.5 ? s1 : s2, ts: t, value });
        }
        all.push(...batch);
        await store.append(toBatch(batch));
        if (round % 2 === 1) await store.checkpoint();
        // Readable at once, whether sealed or still open.
        for (const s of [s1, s2])
          assertRawEqual(await store.readRaw(s, ...EVERYTHING), rawOf(all, s), `round ${round}`);
      }
      const mid = all[Math.floor(all.length / 3)].ts;
      const late = all[Math.floor((all.length * 5) / 6)].ts;
      const check = async (st: MetricStore, what: string) => {
        for (const s of [s1, s2]) {
          assertRawEqual(await st.readRaw(s, ...EVERYTHING), rawOf(all, s), what);
          assertRawEqual(await st.readRaw(s, mid, late), rawOf(all, s, mid, late), `${what}, inclusive sub-range`);
          assertRawEqual(await st.readRaw(s, mid, mid), rawOf(all, s, mid, mid), `${what}, one instant`);
          assert.equal((await st.readRaw(s, late, mid)).ts.length, 0, 'from > to is empty');
        }
      };
      await check(store, 'before restart');
      const last = await store.lastSamples();
      for (const s of [s1, s2]) {
        const mine = all.filter((x) => x.series === s);
        // deepEqual compares with Object.is: NaN equals NaN, -0 differs from 0.
        assert.deepEqual(last.get(s), { ts: mine[mine.length - 1].ts, value: mine[mine.length - 1].value });
      }
      await store.close();
      const again = await start(place);
      await check(again.store, 'after restart');
      assert.deepEqual(await again.store.lastSamples(), last);
    });

    test('1 m and 1 h rollups equal a brute-force recomputation over hours of irregular data', async () => {
      const place = target.newPlace();
      const { store } = await start(place);
      const ids = await Promise.all([0, 1, 2].map((i) => store.createSeries('irregular', { i: String(i) })));
      const rand = prng(11);
      const all: Sample[] = [];
      const clock = ids.map(() => T0 - 30_000);
      const end = T0 + 5 * 3_600_000;
      let nextCheckpoint = T0 + 7 * 60_000;
      const compare = async (st: MetricStore, what: string) => {
        for (const s of ids) {
          const raw = rawOf(all, s);
          for (const tier of ['1m', '1h'] as const) {
            const want = bruteRollups(raw.ts, raw.values, tier);
            assert.deepEqual(normaliseZeros(await st.readRollup(s, tier, ...EVERYTHING)), want, `${what} ${tier} ${s}`);
            // A window in the middle returns the buckets that start inside it, open or stored.
            const from = want[Math.floor(want.length / 3)]?.ts ?? 0;
            const to = want[Math.floor(want.length / 2)]?.ts ?? 0;
            const inside = want.filter((p) => p.ts >= from && p.ts <= to);
            assert.deepEqual(normaliseZeros(await st.readRollup(s, tier, from, to)), inside, `${what} ${tier} window`);
          }
        }
      };
      while (Math.min(...clock) < end) {
        const batch: Sample[] = [];
        for (let k = 0; k < 200; k++) {
          const j = Math.floor(rand() * ids.length);
          // Irregular gaps: mostly seconds, sometimes minutes (empty buckets), sometimes the same instant.
          const r = rand();
          clock[j] += r < 0.05 ? 0 : r < 0.97 ? Math.floor(rand() * 20_000) : Math.floor(rand() * 600_000);
          const v = rand();
          const value =
            v < 0.03 ? Number.NaN : v < 0.05 ? -0 : v < 0.5 ? Math.round(rand() * 1e4) / 100 : (rand() - 0.5) * 1e6;
          batch.push({ series: ids[j], ts: clock[j], value });
        }
        // One bucket holding both infinities: its sum is NaN, its min and max the infinities.
        if (all.length === 2000) {
          batch.push(
            { series: ids[0], ts: clock[0], value: Infinity },
            { series: ids[0], ts: clock[0], value: -Infinity },
          );
        }
        all.push(...batch);
        await store.append(toBatch(batch));
        if (Math.min(...clock) >= nextCheckpoint) {
          await store.checkpoint();
          nextCheckpoint += Math.floor(rand() * 40 * 60_000); // checkpoints fall mid-bucket for both tiers
          await compare(store, 'after a checkpoint');
        }
      }
      await compare(store, 'with open samples');
      await store.close();
      const again = await start(place);
      await compare(again.store, 'after restart');
      // Buckets spanning the restart continue from their stored rows.
      const more: Sample[] = ids.map((s, j) => ({ series: s, ts: clock[j] + 1, value: 0.25 }));
      all.push(...more);
      await again.store.append(toBatch(more));
      await compare(again.store, 'continued after restart');
      await again.store.checkpoint();
      await compare(again.store, 'continued and sealed');
    });

    test('retention deletes exactly what is older than each cutoff, and nothing else', async () => {
      const place = target.newPlace();
      const { store } = await start(place);
      const ids = await Promise.all([0, 1].map((i) => store.createSeries('kept', { i: String(i) })));
      const all: Sample[] = [];
      /** Chunk boundaries the test controls: one checkpoint per 10 minutes of data, one sample per 15 s. */
      const sealedChunks: { series: number; end: number }[] = [];
      const hours = 6;
      for (let m = 0; m < hours * 60; m += 10) {
        const batch: Sample[] = [];
        for (let t = T0 + m * 60_000; t < T0 + (m + 10) * 60_000; t += 15_000) {
          for (const s of ids) batch.push({ series: s, ts: t, value: (t - T0) / 1000 + s });
        }
        all.push(...batch);
        await store.append(toBatch(batch));
        if (m + 10 < hours * 60) {
          await store.checkpoint();
          for (const s of ids) sealedChunks.push({ series: s, end: T0 + (m + 10) * 60_000 - 15_000 });
        }
      }
      // The last 10 minutes stay open: retention must not touch them even though `now` is far ahead.
      const openFrom = T0 + (hours * 60 - 10) * 60_000;
      // Cutoffs land exactly on boundaries: a chunk ending at the cutoff and buckets ending at it.
      const rawCutoff = sealedChunks[20].end; // that chunk's newest sample is not older than the cutoff: kept
      const oneMinuteCutoff = T0 + 95 * 60_000; // the bucket [T0+94m, T0+95m) is wholly older: deleted
      const oneHourCutoff = T0 + 2 * 3_600_000 + 1; // the bucket [T0+2h, T0+3h) holds a newer sample: kept
      const now = T0 + 48 * 3_600_000;
      const policy = { rawMs: now - rawCutoff, oneMinuteMs: now - oneMinuteCutoff, oneHourMs: now - oneHourCutoff };
      const before = await target.countRows?.(place);
      const rollupsBefore = new Map<number, RollupPoint[][]>();
      for (const s of ids) {
        rollupsBefore.set(s, [
          await store.readRollup(s, '1m', ...EVERYTHING),
          await store.readRollup(s, '1h', ...EVERYTHING),
        ]);
      }
      const lastBefore = await store.lastSamples();

      const result = await store.enforceRetention(now, policy);
      const expectChunks = sealedChunks.filter((c) => c.end < rawCutoff).length;
      if (target.mergesChunks === true) assert.ok(result.rawChunks > 0 && result.rawChunks <= expectChunks);
      else {
        assert.equal(result.rawChunks, expectChunks);
        assert.equal(expectChunks, 2 * 10, 'the boundary chunk itself survives');
      }
      for (const s of ids) {
        const [m1, h1] = rollupsBefore.get(s)!;
        const keptM = m1.filter((p) => p.ts + 60_000 > oneMinuteCutoff);
        const keptH = h1.filter((p) => p.ts + 3_600_000 > oneHourCutoff);
        assert.deepEqual(await store.readRollup(s, '1m', ...EVERYTHING), keptM, `1m rows of ${s}`);
        assert.deepEqual(await store.readRollup(s, '1h', ...EVERYTHING), keptH, `1h rows of ${s}`);
        assert.equal(keptM[0].ts, oneMinuteCutoff, 'the first 1 m bucket kept is the one starting at the cutoff');
        assert.equal(keptH[0].ts, T0 + 2 * 3_600_000);
        // Raw: whole chunks at or after the cutoff, plus the open samples.
        const firstKept = sealedChunks.filter((c) => c.series === s && c.end >= rawCutoff)[0].end - 9 * 60_000 - 45_000;
        const raw = await store.readRaw(s, ...EVERYTHING);
        if (target.mergesChunks === true) {
          // Merged chunks: what is kept starts at a chunk start no later than the first checkpoint chunk kept.
          assert.ok(raw.ts[0] <= firstKept && raw.ts[0] > T0, `raw of ${s} starts within the data, by ${firstKept}`);
          assertRawEqual(raw, rawOf(all, s, raw.ts[0]), `raw of ${s}`);
        } else assertRawEqual(raw, rawOf(all, s, firstKept), `raw of ${s}`);
        assert.ok((await store.readRaw(s, openFrom, Infinity)).ts.length > 0);
      }
      assert.deepEqual(await store.lastSamples(), lastBefore, 'the newest samples are untouched');
      if (before !== undefined && target.countRows !== undefined) {
        const afterRows = await target.countRows(place);
        const dropped: Record<string, number> = {};
        for (const k of Object.keys(before)) dropped[k] = before[k] - afterRows[k];
        const expectDropped: Record<string, number> = {};
        for (const k of Object.keys(before)) expectDropped[k] = 0;
        Object.assign(expectDropped, {
          chunks: result.rawChunks,
          rollup_1m: result.oneMinuteRows,
          rollup_1h: result.oneHourRows,
        });
        assert.deepEqual(dropped, expectDropped, 'rows deleted per table');
        assert.equal(result.oneMinuteRows, 2 * 95);
        assert.equal(result.oneHourRows, 2 * 2);
      }
      // Idempotent, and a later checkpoint still writes correct rollups for the open buckets.
      assert.deepEqual(await store.enforceRetention(now, policy), { rawChunks: 0, oneMinuteRows: 0, oneHourRows: 0 });
      await store.checkpoint();
      for (const s of ids) {
        const raw = rawOf(all, s);
        const want = bruteRollups(raw.ts, raw.values, '1m').filter((p) => p.ts + 60_000 > oneMinuteCutoff);
        assert.deepEqual(normaliseZeros(await store.readRollup(s, '1m', ...EVERYTHING)), want);
      }
    });

    test('many commits of interleaved series between reads: each series reads back whole, in time order', async () => {
      const place = target.newPlace();
      const { store } = await start(place);
      const ids: number[] = [];
      for (let k = 0; k < 7; k++) ids.push(await store.createSeries('interleaved', { k: String(k) }));
      const rand = prng(11);
      const all: Sample[] = [];
      const clock = new Map<number, number>(ids.map((id) => [id, T0]));
      const commit = async () => {
        const batch: Sample[] = [];
        for (let i = 0; i < 40; i++) {
          const series = ids[Math.floor(rand() * ids.length)];
          const ts = clock.get(series)! + Math.floor(rand() * 3) * 1000;
          clock.set(series, ts);
          batch.push({ series, ts, value: rand() < 0.05 ? nanWithPayload() : Math.round(rand() * 1e4) / 100 });
        }
        all.push(...batch);
        await store.append(toBatch(batch));
      };
      const check = async (st: MetricStore, what: string) => {
        for (const s of ids) assertRawEqual(await st.readRaw(s, ...EVERYTHING), rawOf(all, s), `${what}, series ${s}`);
      };
      for (let i = 0; i < 12; i++) await commit();
      await check(store, 'twelve commits, then a read');
      for (let i = 0; i < 5; i++) await commit();
      await store.checkpoint();
      for (let i = 0; i < 9; i++) await commit();
      await check(store, 'sealed and open');
      await store.close();
      const again = await start(place);
      await check(again.store, 'after restart');
    });

    test('append validates: unknown series, bad or decreasing timestamps reject the whole batch', async () => {
      const { store } = await start(target.newPlace());
      const s = await store.createSeries('v', {});
      await store.append(toBatch([{ series: s, ts: T0 + 10, value: 1 }]));
      const bad: Sample[][] = [
        [{ series: s + 100, ts: T0 + 20, value: 1 }],
        [{ series: s, ts: T0 + 5, value: 1 }],
        [{ series: s, ts: T0 + 10.5, value: 1 }],
        [{ series: s, ts: -1, value: 1 }],
        [
          { series: s, ts: T0 + 30, value: 1 },
          { series: s, ts: T0 + 20, value: 2 },
        ],
      ];
      for (const b of bad) await assert.rejects(store.append(toBatch(b)), RangeError);
      // Nothing of a rejected batch was kept, and the series still accepts its next sample.
      await store.append(
        toBatch([
          { series: s, ts: T0 + 10, value: 2 },
          { series: s, ts: T0 + 25, value: 3 },
        ]),
      );
      assert.deepEqual((await store.readRaw(s, ...EVERYTHING)).ts, [T0 + 10, T0 + 10, T0 + 25]);
      // A batch's `length` wins over its arrays' length.
      const partial = toBatch([
        { series: s, ts: T0 + 40, value: 4 },
        { series: s, ts: 0, value: 5 },
      ]);
      partial.length = 1;
      await store.append(partial);
      assert.deepEqual((await store.readRaw(s, ...EVERYTHING)).ts, [T0 + 10, T0 + 10, T0 + 25, T0 + 40]);
      await store.append(toBatch([]));
    });
  });
}
