/**
 * @module streams.test
 * The streams dialect against a real hub over real sockets. The document prints how its Python clients are used
 * (`MetricsWebSocketClient(url).set_callback(...)` then `run()`, and `MetricsFetcher(base)` for polling), not the
 * clients themselves; minimal Node ports of both run the printed usage with the URL changed.
 */
import assert from 'node:assert/strict';
import { on } from 'node:events';
import { after, before, describe, test } from 'node:test';
import WebSocket from 'ws';
import { getJson, postJson, Recorder } from '../testing/dialect-client.js';
import { type RunningHub, startHub, until } from '../testing/hub-fixture.js';

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;

/** websocket_client.py's client: connects, and hands every message, parsed, to its callback until stopped. */
class MetricsWebSocketClient {
  private callback: (metrics: Record<string, unknown>) => void = () => {};
  private ws: WebSocket | undefined;

  constructor(private readonly url: string) {}

  set_callback(callback: (metrics: Record<string, unknown>) => void): void {
    this.callback = callback;
  }

  async run(): Promise<void> {
    const ws = new WebSocket(this.url);
    this.ws = ws;
    // Messages are buffered from the start, as the Python library does.
    const messages = on(ws, 'message');
    await new Promise((r) => ws.once('open', r));
    try {
      for await (const [message] of messages) this.callback(JSON.parse(String(message)));
    } catch {
      // closed
    }
  }

  stop(): void {
    this.ws?.close();
    this.ws?.emit('error', new Error('stopped'));
  }
}

/** metrics_fetcher.py's fetcher: polls the current metrics over REST. */
class MetricsFetcher {
  constructor(private readonly base: string) {}

  async fetch_current(): Promise<Record<string, unknown>> {
    const res = await fetch(`${this.base}/api/metrics/current`);
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    return (await res.json()) as Record<string, unknown>;
  }
}

const cache = new Map<string, Record<string, unknown>>();
async function fetch_and_cache_metrics(fetcher: MetricsFetcher): Promise<Record<string, unknown>> {
  const metrics = await fetcher.fetch_current();
  cache.set('latest', metrics);
  return metrics;
}

describe('streams dialect', () => {
  let h: RunningHub;
  let ws: string;

  before(async () => {
    h = await startHub({
      metrics: { collect_interval: '200ms', status_interval: '300ms' },
      dialects: { streams: { heartbeat_interval: '200ms' } },
    });
    ws = h.url.replace('http', 'ws');
    await until(() => h.hub.metricsService.currentStatus()?.cpu !== undefined);
  });
  after(() => h.stop());

  test('the documented WebSocket client gets system metrics pushed', async () => {
    const rec = new Recorder();
    const print = rec.fn('print');

    const client = new MetricsWebSocketClient(`${ws}/api/ws/ws`);
    client.set_callback((metrics) => print(metrics));
    const running = client.run();

    try {
      await until(() => rec.of('print').length >= 3);
      for (const call of rec.of('print')) {
        const m = call.args[0] as Record<string, unknown>;
        assert.equal(m.type, 'metrics');
        assert.match(String(m.timestamp), ISO);
        for (const k of [
          'cpu_percent',
          'memory_percent',
          'disk_percent',
          'network_rx_bytes_per_s',
          'network_tx_bytes_per_s',
        ]) {
          assert.ok(k in m, k);
        }
      }
      const last = rec.of('print').at(-1)!.args[0] as Record<string, number>;
      assert.equal(typeof last.memory_percent, 'number');
      assert.equal(typeof last.cpu_percent, 'number');
    } finally {
      client.stop();
      await running;
    }
  });

  test('the alert stream: heartbeats, alerts as they change, and broadcast alerts', async () => {
    const rec = new Recorder();
    const client = new MetricsWebSocketClient(`${ws}/api/ws/ws/alerts`);
    client.set_callback(rec.fn('message'));
    const running = client.run();
    try {
      await rec.waitFor('message', (m) => m.type === 'connected');
      const beat = (await rec.waitFor('message', (m) => m.type === 'heartbeat')).args[0] as Record<string, unknown>;
      assert.match(String(beat.timestamp), ISO);
      const res = await postJson(`${h.url}/api/ws/broadcast/alert`, {
        title: 'Maintenance',
        message: 'Database restart at 22:00',
        severity: 'critical',
      });
      assert.equal(res.status, 202);
      const id = (res.body as { alert_id: string }).alert_id;
      const alert = (await rec.waitFor('message', (m) => m.type === 'alert')).args[0] as {
        timestamp: string;
        data: Record<string, unknown>;
      };
      assert.match(alert.timestamp, ISO);
      assert.equal(alert.data.id, id);
      assert.equal(alert.data.name, 'Maintenance');
      assert.equal(alert.data.severity, 'critical');
      assert.equal(alert.data.message, 'Database restart at 22:00');
      assert.equal(alert.data.status, 'firing');
      // No system metrics on the alert stream.
      assert.ok(!rec.of('message').some((c) => (c.args[0] as { type: string }).type === 'metrics'));
      assert.equal((await postJson(`${h.url}/api/ws/broadcast/alert`, { severity: 'loud' })).status, 400);
    } finally {
      client.stop();
      await running;
    }
  });

  test('polling: the documented fetcher, and the history of a metric', async () => {
    const fetcher = new MetricsFetcher(h.url);
    const metrics = await fetch_and_cache_metrics(fetcher);
    assert.equal(metrics.type, 'metrics');
    assert.equal(typeof metrics.cpu_percent, 'number');
    assert.equal(cache.get('latest'), metrics);

    await until(async () => (await getJson(`${h.url}/api/metrics/cpu?minutes=5`)).status === 200);
    const cpu = (await getJson(`${h.url}/api/metrics/cpu?minutes=5`)).body as {
      metric_name: string;
      metric: string;
      data: { timestamp: string; value: number }[];
    };
    assert.equal(cpu.metric_name, 'cpu');
    assert.equal(cpu.metric, 'system.cpu.usage');
    assert.ok(cpu.data.length >= 1);
    assert.match(cpu.data[0]!.timestamp, ISO);
    const raw = (await getJson(`${h.url}/api/metrics/system.memory.used_percent`)).body as { data: unknown[] };
    assert.ok(raw.data.length >= 1);
    assert.equal((await getJson(`${h.url}/api/metrics/no.such.metric`)).status, 404);
    assert.equal((await getJson(`${h.url}/api/metrics/cpu?minutes=0`)).status, 400);
  });

  test('bad input on a stream is answered in its error shape and the stream goes on', async () => {
    const rec = new Recorder();
    const socket = new WebSocket(`${ws}/api/ws/ws`);
    socket.on('message', (d) => rec.fn('message')(JSON.parse(String(d))));
    await new Promise((r) => socket.once('open', r));
    try {
      socket.send('garbage');
      socket.send(JSON.stringify({ type: 'subscribe' }));
      socket.send(JSON.stringify({ type: 'ping' }));
      await rec.waitFor('message', (m) => m.type === 'pong');
      const codes = rec
        .of('message')
        .map((c) => c.args[0] as { type: string; code?: string })
        .filter((m) => m.type === 'error')
        .map((m) => m.code);
      assert.deepEqual(codes, ['bad_request', 'unknown_command']);
      const n = rec.of('message').length;
      await rec.waitFor('message', (m) => m.type === 'metrics' && rec.of('message').length > n);
    } finally {
      socket.close();
    }
  });
});
