/**
 * @module hot-budget.test
 * The hot rings' memory budget (`metrics.hot_max_bytes`): rings grow lazily, many busy series together never hold
 * more than the budget, a late series still gets room from the largest rings, idle rings give memory back, and reads
 * of samples dropped from memory come from the store.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type RunningHub, startHub } from '../testing/hub-fixture.js';
import { BYTES_PER_POINT, HotBudget, HotRing } from './hot-ring.js';

const MiB = 1_048_576;
const HOUR = 3_600_000;

describe('hot ring budget', () => {
  test('a ring holds nothing until its first sample and grows by doubling', () => {
    const budget = new HotBudget(MiB);
    const ring = new HotRing(budget);
    assert.equal(budget.used, 0);
    ring.push(1, 1, HOUR, HOUR);
    assert.equal(ring.capacity, 16);
    assert.equal(budget.used, 16 * BYTES_PER_POINT);
    for (let i = 2; i <= 17; i++) ring.push(i, i, HOUR, HOUR);
    assert.equal(ring.capacity, 32);
    assert.equal(budget.used, 32 * BYTES_PER_POINT);
  });

  test('busy rings stay within the budget; a late ring takes room from the largest', () => {
    const max = 64 * 1024;
    const budget = new HotBudget(max);
    const rings = Array.from({ length: 4 }, () => new HotRing(budget));
    for (let t = 0; t < 10_000; t++) {
      for (const r of rings) r.push(t, t, HOUR, HOUR);
      assert.ok(budget.used <= max, `used ${budget.used} at t=${t}`);
    }
    // Four rings share 4,096 points: each holds 1,024, its newest.
    for (const r of rings) {
      assert.equal(r.capacity, 1024);
      assert.equal(r.oldest(), 10_000 - 1024);
    }
    assert.ok(budget.evicted > 0);
    const late = new HotRing(budget);
    for (let t = 10_000; t < 11_000; t++) {
      late.push(t, t, HOUR, HOUR);
      assert.ok(budget.used <= max, `used ${budget.used}`);
    }
    assert.ok(late.capacity >= 512, `the late ring grew to ${late.capacity}`);
    assert.equal(budget.peak <= max, true);
  });

  test('a ring past its window gives memory back, and a released ring all of it', () => {
    const budget = new HotBudget(MiB);
    const ring = new HotRing(budget);
    for (let t = 0; t < 4000; t++) ring.push(t, t, HOUR, HOUR);
    assert.equal(ring.capacity, 4096);
    ring.trim(3990);
    assert.equal(ring.length, 10);
    assert.equal(ring.capacity, 2048, 'one halving per trim');
    for (let i = 0; i < 8; i++) ring.trim(3990);
    assert.equal(ring.capacity, 32, 'ten samples keep a quarter of 32 or more');
    assert.equal(budget.used, 32 * BYTES_PER_POINT);
    ring.release();
    assert.equal(budget.used, 0);
    assert.equal(ring.oldest(), Number.POSITIVE_INFINITY);
  });

  test('the z-score window follows the samples a ring keeps', () => {
    const budget = new HotBudget(16 * BYTES_PER_POINT);
    const ring = new HotRing(budget);
    for (let t = 0; t < 100; t++) ring.push(t, t % 2 === 0 ? 10 : 20, HOUR, HOUR);
    assert.equal(ring.length, 16);
    assert.equal(ring.window().n, 16);
    assert.equal(ring.window().mean, 15);
  });
});

describe('hot budget in a hub', () => {
  let h: RunningHub;
  const SERIES = 300;
  const SAMPLES = 600;
  const t0 = Date.now() - SAMPLES * 1000;
  before(async () => {
    h = await startHub({ metrics: { collect_interval: 0, hot_max_bytes: MiB } });
    for (let i0 = 0; i0 < SAMPLES; i0 += 100) {
      const samples: object[] = [];
      for (let i = i0; i < i0 + 100; i++) {
        for (let s = 0; s < SERIES; s++)
          samples.push({ name: 'hot.busy', value: i, labels: { s: `${s}` }, ts: t0 + i * 1000 });
      }
      const res = await fetch(`${h.url}/api/v1/metrics`, {
        method: 'POST',
        body: JSON.stringify(samples),
        headers: { 'content-type': 'application/json' },
      });
      assert.equal(res.status, 200);
    }
  });
  after(() => h.stop());

  test('many busy series hold no more than metrics.hot_max_bytes, and the figures are exported', async () => {
    const hot = h.hub.metricsService.hotFigures();
    // Unbounded, each series would hold 1,024 points (16 KiB): 4.7 MiB in all.
    assert.equal(hot.maxBytes, MiB);
    assert.ok(hot.bytes <= MiB, `hot bytes ${hot.bytes}`);
    assert.ok(hot.peakBytes <= MiB, `peak hot bytes ${hot.peakBytes}`);
    assert.ok(hot.evicted > 0, 'samples were dropped from memory');
    const text = await (await fetch(`${h.url}/metrics`)).text();
    assert.match(text, /^vigil_metrics_hot_max_bytes 1048576$/m);
    const bytes = Number(/^vigil_metrics_hot_bytes (\d+)$/m.exec(text)?.[1]);
    assert.ok(bytes > 0 && bytes <= MiB, `vigil_metrics_hot_bytes ${bytes}`);
    assert.match(text, /^vigil_metrics_hot_evicted_total [1-9]\d*$/m);
  });

  test('samples dropped from memory are read from the store', async () => {
    const series = h.hub.metricsService.registry.ofMetric('hot.busy')[7]!;
    assert.ok(series.ring.oldest() > t0, 'the ring no longer holds the first sample');
    const res = await fetch(
      `${h.url}/api/v1/metrics/hot.busy?from=${t0}&to=${t0 + SAMPLES * 1000}&step=1s&agg=last&labels=s=7`,
    );
    assert.equal(res.status, 200);
    const body = (await res.json()) as { tier: string; series: { points: [number, number][] }[] };
    assert.equal(body.tier, 'raw');
    assert.deepEqual(
      body.series[0]!.points.map((p) => p[1]),
      Array.from({ length: SAMPLES }, (_, i) => i),
    );
    const stats = await fetch(`${h.url}/api/v1/metrics/hot.busy/stats?window=15m&labels=s=7`);
    const s = ((await stats.json()) as { series: { count: number }[] }).series[0]!;
    assert.equal(s.count, SAMPLES);
  });

  test('series that stop sending give their memory back', () => {
    const service = h.hub.metricsService;
    for (let i = 0; i < 12; i++) service.trimHot(Date.now() + 2 * HOUR);
    const hot = service.hotFigures();
    assert.ok(hot.bytes <= SERIES * 16 * BYTES_PER_POINT, `hot bytes after trimming ${hot.bytes}`);
  });
});
