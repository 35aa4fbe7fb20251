/**
 * @module ingest.test
 * Every ingest path against a real hub (real SQLite file): JSON, Prometheus text and Influx line protocol with good,
 * bad and mixed input; WS publish to `metrics.<name>`; gzip bodies; the cardinality guard; out-of-order samples.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { type RunningHub, startHub, TestClient } from '../testing/hub-fixture.js';

interface IngestBody {
  accepted: number;
  rejected: number;
  errors: { index?: number; line?: number; code: string; message: string; metric?: string }[];
}

describe('metrics ingest', () => {
  let h: RunningHub;
  before(async () => {
    h = await startHub({ metrics: { collect_interval: 0, max_series_per_metric: 3 } });
  });
  after(() => h.stop());

  async function post(path: string, body: string | Buffer | object, headers: Record<string, string> = {}) {
    const isText = typeof body === 'string' || Buffer.isBuffer(body);
    const res = await fetch(`${h.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': isText ? 'text/plain' : 'application/json', ...headers },
      body: isText ? body : JSON.stringify(body),
    });
    return {
      status: res.status,
      body: (await res.json()) as IngestBody & { error?: { code: string; details: IngestBody } },
    };
  }

  const values = (metric: string) =>
    h.hub.metricsService.current({ prefix: metric }).filter((c) => c.metric === metric);

  test('JSON: one sample, an array, {samples}; bad elements reported by index, good ones kept', async () => {
    const one = await post('/api/v1/metrics', { name: 'app.requests', value: 5, labels: { route: '/a' } });
    assert.deepEqual([one.status, one.body.accepted, one.body.rejected], [200, 1, 0]);
    const arr = await post('/api/v1/metrics', [
      { name: 'app.latency_ms', value: 12.5, ts: Date.now() - 1000 },
      { name: 'app.latency_ms', value: 13, ts: new Date().toISOString() },
    ]);
    assert.deepEqual([arr.body.accepted, arr.body.rejected], [2, 0]);
    const mixed = await post('/api/v1/metrics', {
      samples: [
        { name: 'app.mixed', value: 1 },
        { name: 'bad name!', value: 1 },
        { name: 'app.mixed', value: 'high' },
        { name: 'app.mixed', value: 2, labels: { __reserved: 'x' } },
        { name: 'app.mixed', value: 3, labels: { ok: 'yes' } },
      ],
    });
    assert.equal(mixed.status, 200);
    assert.deepEqual([mixed.body.accepted, mixed.body.rejected], [2, 3]);
    assert.deepEqual(
      mixed.body.errors.map((e) => [e.index, e.code]),
      [
        [1, 'bad_request'],
        [2, 'bad_request'],
        [3, 'bad_request'],
      ],
    );
    assert.match(mixed.body.errors[1]!.message, /value/);
    const none = await post('/api/v1/metrics', [{ name: 1 }]);
    assert.equal(none.status, 400);
    assert.equal(none.body.error?.code, 'bad_request');
    assert.equal(none.body.error?.details.rejected, 1);
    assert.deepEqual(
      values('app.latency_ms').map((v) => v.value),
      [13],
    );
  });

  test('Prometheus text: good lines kept, malformed lines rejected with their line numbers', async () => {
    const text = [
      '# HELP http_requests_total Requests.',
      '# TYPE http_requests_total counter',
      'http_requests_total{method="get",code="200"} 1027',
      'http_requests_total{method="post",code="200"} 3',
      'this is not a sample',
      'temperature{room="a"} NaN',
      'broken{label="unterminated} 1',
      'up 1',
    ].join('\n');
    const r = await post('/api/v1/write/prometheus', `${text}\n`);
    assert.equal(r.status, 200);
    assert.deepEqual([r.body.accepted, r.body.rejected], [4, 2]);
    assert.deepEqual(
      r.body.errors.map((e) => e.line),
      [5, 7],
    );
    assert.equal(values('http_requests_total').length, 2);
    const bad = await post('/api/v1/write/prometheus', 'nope nope nope\n');
    assert.equal(bad.status, 400);
  });

  test('Influx line protocol: fields map to metrics, tags to labels; bad lines numbered; gzip accepted', async () => {
    const ns = BigInt(Date.now()) * 1_000_000n;
    const lines = [
      `cpu,host=web1,region=eu value=0.64 ${ns}`,
      `cpu,host=web1 usage_idle=92.5,usage_user=3i ${ns}`,
      'mem,host=web1 used=not_a_number',
      `disk,host=web1,path=/ free=100i,ok=true,label="skip me" ${ns}`,
      'garbage',
    ].join('\n');
    const r = await post('/api/v1/write/influx', lines);
    assert.deepEqual([r.status, r.body.accepted, r.body.rejected], [200, 5, 2]);
    assert.deepEqual(
      r.body.errors.map((e) => e.line),
      [3, 5],
    );
    assert.deepEqual(values('cpu')[0]?.labels, { host: 'web1', region: 'eu' });
    assert.equal(values('cpu_usage_user')[0]?.value, 3);
    assert.equal(values('disk_ok')[0]?.value, 1);
    const z = await post('/api/v1/write/influx?precision=ms', gzipSync(`gz,host=a value=7 ${Date.now()}\n`), {
      'content-encoding': 'gzip',
    });
    assert.deepEqual([z.status, z.body.accepted], [200, 1]);
    assert.equal(values('gz')[0]?.value, 7);
  });

  test('WS publish to metrics.<name> ingests and streams a metric_update', async () => {
    const c = await TestClient.connect(h.wsUrl);
    await c.request({ op: 'subscribe', channels: ['metrics.ws.>'] });
    const r = await c.request({
      op: 'publish',
      channel: 'metrics.ws.temp',
      data: { value: 21.5, labels: { room: 'b' } },
    });
    assert.equal(r.ok, true, JSON.stringify(r));
    assert.equal((r.result as { channel: string }).channel, 'metrics.ws.temp');
    const ev = await c.next((f) => f.type === 'event');
    assert.equal(ev.kind, 'metric_update');
    const data = ev.data as { metric: string; value: number; labels: Record<string, string>; ts: number };
    assert.deepEqual([data.metric, data.value, data.labels], ['ws.temp', 21.5, { room: 'b' }]);
    const plain = await c.request({ op: 'publish', channel: 'metrics.ws.count', data: 3 });
    assert.equal(plain.ok, true);
    const bad = await c.request({ op: 'publish', channel: 'metrics.ws.temp', data: { value: 'warm' } });
    assert.equal((bad.error as { code: string }).code, 'bad_request');
    c.close();
  });

  test('cardinality guard: a new series past the limit is refused naming the metric; existing ones flow', async () => {
    const s = (host: string, value: number) => ({ name: 'guarded', value, labels: { host } });
    const first = await post('/api/v1/metrics', [s('a', 1), s('b', 1), s('c', 1)]);
    assert.equal(first.body.accepted, 3);
    const over = await post('/api/v1/metrics', [s('d', 1)]);
    assert.equal(over.status, 429);
    assert.equal(over.body.error?.code, 'cardinality_limit');
    const detail = over.body.error!.details.errors[0]!;
    assert.deepEqual([detail.code, detail.metric], ['cardinality_limit', 'guarded']);
    assert.match(detail.message, /guarded/);
    const mixed = await post('/api/v1/metrics', [s('a', 2), s('e', 2), s('b', 2)]);
    assert.deepEqual([mixed.status, mixed.body.accepted, mixed.body.rejected], [200, 2, 1]);
    assert.equal(values('guarded').length, 3);
  });

  test('out-of-order samples for a series are rejected', async () => {
    const now = Date.now();
    await post('/api/v1/metrics', { name: 'ordered', value: 1, ts: now });
    const r = await post('/api/v1/metrics', [
      { name: 'ordered', value: 2, ts: now - 5000 },
      { name: 'ordered', value: 3, ts: now + 1 },
    ]);
    assert.deepEqual([r.body.accepted, r.body.rejected], [1, 1]);
    assert.match(r.body.errors[0]!.message, /Out-of-order/);
  });
});
