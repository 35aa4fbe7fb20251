/**
 * @module query-limits.test
 * Range queries are bounded and share the event loop: more series than `metrics.max_query_series` or more points
 * than `metrics.max_response_points` answer `bad_request` naming the limit (over HTTP and WS), and while a large
 * allowed query runs, another client's pings are answered.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type RunningHub, startHub, TestClient } from '../testing/hub-fixture.js';

/** Ingests `seriesCount` series of `metric` with one sample per second over the last `seconds` seconds. */
async function fill(url: string, metric: string, seriesCount: number, seconds: number, now: number): Promise<void> {
  const stepsPerPost = Math.max(1, Math.floor(40_000 / seriesCount));
  for (let i0 = 0; i0 < seconds; i0 += stepsPerPost) {
    const samples: object[] = [];
    for (let i = i0; i < Math.min(seconds, i0 + stepsPerPost); i++) {
      const ts = now - (seconds - i) * 1000;
      for (let s = 0; s < seriesCount; s++) {
        samples.push({
          name: metric,
          value: (s * 7 + i * 13) % 1000,
          labels: { host: `h${s}`, shard: `${s % 10}` },
          ts,
        });
      }
    }
    const res = await fetch(`${url}/api/v1/metrics`, {
      method: 'POST',
      body: JSON.stringify(samples),
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(res.status, 200, await res.text());
  }
}

interface ErrorBody {
  error: { code: string; message: string; details: { limit: number; series?: number; points?: number } };
}

describe('range query limits', () => {
  let h: RunningHub;
  const now = Date.now();
  before(async () => {
    h = await startHub({ metrics: { collect_interval: 0, max_query_series: 50, max_response_points: 3000 } });
    await fill(h.url, 'q.many', 120, 60, now);
  });
  after(() => h.stop());

  test('more series than metrics.max_query_series answers bad_request naming the limit', async () => {
    const res = await fetch(`${h.url}/api/v1/metrics/q.many?from=now-1m&step=1m`);
    assert.equal(res.status, 400);
    const body = (await res.json()) as ErrorBody;
    assert.equal(body.error.code, 'bad_request');
    assert.match(body.error.message, /120 series.*limit is 50 \(metrics\.max_query_series\)/);
    assert.deepEqual([body.error.details.limit, body.error.details.series], [50, 120]);
    const stats = await fetch(`${h.url}/api/v1/metrics/q.many/stats?window=1m`);
    assert.equal(stats.status, 400);
    assert.match(((await stats.json()) as ErrorBody).error.message, /metrics\.max_query_series/);
    // A label filter within the limit is answered.
    const narrow = await fetch(`${h.url}/api/v1/metrics/q.many?from=now-1m&step=10s&labels=shard=3`);
    assert.equal(narrow.status, 200);
    assert.equal(((await narrow.json()) as { series: unknown[] }).series.length, 12);
  });

  test('more points per answer than metrics.max_response_points answers bad_request naming the limit', async () => {
    // 12 series × 300 points = 3,600 > 3,000.
    const res = await fetch(`${h.url}/api/v1/metrics/q.many?from=now-5m&step=1s&labels=shard=3`);
    assert.equal(res.status, 400);
    const body = (await res.json()) as ErrorBody;
    assert.equal(body.error.code, 'bad_request');
    assert.match(body.error.message, /3600 points \(12 series × 300\).*limit per answer is 3000/);
    assert.match(body.error.message, /metrics\.max_response_points/);
    assert.deepEqual([body.error.details.limit, body.error.details.points], [3000, 3600]);
    const c = await TestClient.connect(h.wsUrl);
    const ws = await c.request({
      op: 'call',
      method: 'metrics.query',
      params: { metric: 'q.many', from: 'now-5m', step: '1s', labels: { shard: '3' } },
    });
    assert.equal(ws.ok, false);
    assert.equal((ws.error as { code: string }).code, 'bad_request');
    assert.match((ws.error as { message: string }).message, /metrics\.max_response_points/);
    const all = await c.request({ op: 'call', method: 'metrics.query', params: { metric: 'q.many', from: 'now-5m' } });
    assert.match((all.error as { message: string }).message, /metrics\.max_query_series/);
    c.close();
  });
});

describe('a large allowed query shares the event loop', () => {
  let h: RunningHub;
  const now = Date.now();
  const SERIES = 2000;
  before(async () => {
    h = await startHub({
      metrics: { collect_interval: 0, max_query_series: 10_000, max_response_points: 10_000_000 },
    });
    await fill(h.url, 'q.big', SERIES, 300, now);
  });
  after(() => h.stop());

  test("a bystander's pings are answered while the query runs, and the answer is whole", async () => {
    const bystander = await TestClient.connect(h.wsUrl);
    const query = h.hub.metricsService.query;
    let pongsWhileRunning = 0;
    let pongs = 0;
    let done = false;
    const pinging = (async () => {
      for (let id = 1; !done; id++) {
        const from = bystander.frames.length;
        bystander.send({ op: 'ping', id });
        await bystander.next((f) => f.type === 'pong' && f.id === id, 60_000, from);
        pongs++;
        if (query.running > 0) pongsWhileRunning++;
      }
    })();
    const res = await fetch(`${h.url}/api/v1/metrics/q.big?from=${now - 300_000}&to=${now - 1}&step=1s&agg=p95`);
    done = true;
    await pinging;
    assert.equal(res.status, 200);
    const body = (await res.json()) as { series: { points: unknown[] }[] };
    assert.equal(body.series.length, SERIES);
    assert.ok(
      body.series.every((s) => s.points.length === 300),
      'every series has its 300 points',
    );
    assert.ok(pongsWhileRunning >= 1, `pongs while the query ran: ${pongsWhileRunning} of ${pongs}`);
    bystander.close();
  });
});
