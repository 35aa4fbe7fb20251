/**
 * @module query.test
 * The read side against a real hub: series lists, current values, range queries on each tier, window statistics
 * and z-scores, the summary, WS calls, live host metrics within 2 s of start, and `system.status` with its snapshot.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type RunningHub, startHub, TestClient } from '../testing/hub-fixture.js';

describe('metrics queries and streaming', () => {
  let h: RunningHub;
  const t0 = Math.floor(Date.now() / 60_000) * 60_000 - 10 * 60_000;
  before(async () => {
    h = await startHub({ metrics: { collect_interval: '1s', status_interval: '300ms' } });
    // 10 minutes of 1 s data for two series; a counter that resets once.
    const samples: object[] = [];
    for (let i = 0; i < 600; i++) {
      samples.push({ name: 'q.temp', value: 20 + (i % 60) / 10, labels: { room: 'a' }, ts: t0 + i * 1000 });
      samples.push({ name: 'q.temp', value: 30, labels: { room: 'b' }, ts: t0 + i * 1000 });
      samples.push({ name: 'q.count', value: i < 300 ? i * 2 : (i - 300) * 2, ts: t0 + i * 1000 });
    }
    const res = await fetch(`${h.url}/api/v1/metrics`, {
      method: 'POST',
      body: JSON.stringify(samples),
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(res.status, 200);
  });
  after(() => h.stop());

  const get = async (path: string) => {
    const res = await fetch(`${h.url}${path}`);
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  test('a subscriber to metrics.> sees live host metrics from a fresh hub', async () => {
    const fresh = await startHub({ metrics: { collect_interval: '1s' } });
    const c = await TestClient.connect(`${fresh.wsUrl}?channels=metrics.>`);
    const ev = await c.next((f) => f.type === 'event' && String(f.channel).startsWith('metrics.system.'), 30_000);
    assert.equal(ev.kind, 'metric_update');
    c.close();
    await fresh.stop();
  });

  test('series list and current values, filtered by prefix and labels', async () => {
    const list = (await get('/api/v1/metrics?prefix=q.&labels=room%3Da')).body.series as { metric: string }[];
    assert.deepEqual(
      list.map((s) => s.metric),
      ['q.temp'],
    );
    const current = (await get('/api/v1/metrics/current?prefix=q.temp')).body.metrics as {
      labels: { room: string };
      value: number;
      ts: number;
    }[];
    assert.deepEqual(
      current.map((c) => [c.labels.room, c.value, c.ts]),
      [
        ['a', 20 + (599 % 60) / 10, t0 + 599_000],
        ['b', 30, t0 + 599_000],
      ],
    );
  });

  test('range query: raw tier by step, aggregates, rate with a counter reset, max points', async () => {
    const q = await get(`/api/v1/metrics/q.temp?from=${t0}&to=${t0 + 600_000}&step=1m&agg=max&labels=room=a`);
    assert.equal(q.status, 200);
    const body = q.body as { tier: string; series: { labels: object; points: [number, number][] }[] };
    assert.equal(body.tier, '1m');
    assert.equal(body.series.length, 1);
    assert.equal(body.series[0]!.points.length, 10);
    for (const [, v] of body.series[0]!.points) assert.ok(Math.abs(v - 25.9) < 1e-9);
    const raw = (await get(`/api/v1/metrics/q.temp?from=${t0}&to=${t0 + 59_999}&step=10s&agg=avg&labels=room=b`))
      .body as {
      tier: string;
      series: { points: [number, number][] }[];
    };
    assert.equal(raw.tier, 'raw');
    assert.deepEqual(
      raw.series[0]!.points.map((p) => p[1]),
      [30, 30, 30, 30, 30, 30],
    );
    const rate = (await get(`/api/v1/metrics/q.count?from=${t0 + 1000}&to=${t0 + 599_999}&step=20s&agg=rate`)).body as {
      series: { points: [number, number][] }[];
    };
    for (const [, v] of rate.series[0]!.points) assert.ok(v >= 1.9 && v <= 2.0001, `rate ${v}`);
    const tooMany = await get(`/api/v1/metrics/q.temp?from=${t0}&to=${t0 + 600_000}&step=1ms`);
    assert.equal(tooMany.status, 400);
    assert.match(String((tooMany.body.error as { message: string }).message), /limit/);
    const badAgg = await get('/api/v1/metrics/q.temp?agg=median');
    assert.equal(badAgg.status, 400);
    assert.equal((await get('/api/v1/metrics/no.such.metric')).status, 404);
  });

  test('window stats with median, stddev, p95, trend and z-score; summary', async () => {
    const now = Date.now();
    const samples = [];
    for (let i = 0; i < 60; i++)
      samples.push({ name: 's.load', value: i % 2 === 0 ? 10 : 12, ts: now - 60_000 + i * 1000 });
    samples.push({ name: 's.load', value: 40, ts: now });
    await fetch(`${h.url}/api/v1/metrics`, {
      method: 'POST',
      body: JSON.stringify(samples),
      headers: { 'content-type': 'application/json' },
    });
    const stats = (await get('/api/v1/metrics/s.load/stats?window=5m')).body as {
      metric: string;
      window: string;
      series: {
        count: number;
        min: number;
        max: number;
        median: number;
        p95: number;
        stddev: number;
        trend: number;
        zscore: number;
      }[];
    };
    assert.deepEqual([stats.metric, stats.window], ['s.load', '5m']);
    const s = stats.series[0]!;
    assert.deepEqual([s.count, s.min, s.max, s.median], [61, 10, 40, 12]);
    assert.ok(s.zscore > 25, `a spike has a large z-score (${s.zscore})`);
    assert.ok(s.trend > 0);
    const summary = (await get('/api/v1/metrics/summary')).body.metrics as {
      metric: string;
      count: number;
      max: number;
    }[];
    const row = summary.find((r) => r.metric === 's.load');
    assert.deepEqual([row?.count, row?.max], [61, 40]);
  });

  test('WS calls metrics.current, metrics.query and metrics.summary', async () => {
    const c = await TestClient.connect(h.wsUrl);
    const cur = await c.request({
      op: 'call',
      method: 'metrics.current',
      params: { prefix: 'q.temp', labels: { room: 'b' } },
    });
    assert.equal((cur.result as { metrics: unknown[] }).metrics.length, 1);
    const q = await c.request({
      op: 'call',
      method: 'metrics.query',
      params: { metric: 'q.temp', from: t0, to: t0 + 600_000, step: '5m' },
    });
    assert.equal((q.result as { series: unknown[] }).series.length, 2);
    const bad = await c.request({ op: 'call', method: 'metrics.query', params: { metric: 5 } });
    assert.equal((bad.error as { code: string }).code, 'bad_request');
    const sum = await c.request({ op: 'call', method: 'metrics.summary' });
    assert.ok((sum.result as { metrics: unknown[] }).metrics.length > 0);
    c.close();
  });

  test('system.status is published periodically and is its own snapshot', async () => {
    const c = await TestClient.connect(h.wsUrl);
    await c.request({ op: 'subscribe', channels: ['system.status'] });
    const ev = await c.next((f) => f.type === 'event' && f.channel === 'system.status', 3000);
    const data = ev.data as Record<string, unknown>;
    for (const key of ['status', 'uptime_s', 'cpu', 'memory', 'disk', 'network', 'connections', 'messages_per_s']) {
      assert.ok(key in data, key);
    }
    const d = await TestClient.connect(h.wsUrl);
    await d.request({ op: 'subscribe', channels: ['system.status'] });
    const snap = await d.next((f) => f.type === 'snapshot');
    assert.equal((snap.data as { status: string }).status, 'ok');
    c.close();
    d.close();
  });
});
