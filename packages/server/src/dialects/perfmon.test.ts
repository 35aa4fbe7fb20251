/**
 * @module perfmon.test
 * The perfmon dialect against a real hub over real sockets. The client is the JavaScript client of the performance
 * monitor's documentation as printed, with two changes: the URL, and its three commands sent from `onopen` (the
 * printed example sends them before the socket is open, which no WebSocket allows).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import WebSocket from 'ws';
import { loadConfig } from '../config/load.js';
import { getJson, postJson, Recorder } from '../testing/dialect-client.js';
import { type RunningHub, startHub, TestClient, until } from '../testing/hub-fixture.js';

const RULES = [
  {
    name: 'high_cpu_usage',
    kind: 'threshold',
    metric: 'cpu_usage',
    agg: 'last',
    op: '>',
    threshold: 80,
    severity: 'warning',
  },
  {
    name: 'high_memory',
    kind: 'threshold',
    metric: 'memory_usage',
    agg: 'last',
    op: '>',
    threshold: 90,
    severity: 'critical',
  },
];

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;

/** The documented client, verbatim but for the URL and the commands moved into `onopen`. */
function runDocumentedClient(url: string, rec: Recorder) {
  const console = { log: rec.fn('console.log'), error: rec.fn('console.error') };
  const updateChart = rec.fn('updateChart');
  const showAlert = rec.fn('showAlert');

  // Connect to WebSocket
  const ws = new WebSocket(url);

  // Handle connection
  ws.onopen = () => {
    console.log('Connected to monitoring server');

    // Request summary
    ws.send(JSON.stringify({ command: 'get_summary' }));

    // Request alerts
    ws.send(JSON.stringify({ command: 'get_alerts' }));

    // Acknowledge alert
    ws.send(
      JSON.stringify({
        command: 'acknowledge_alert',
        rule_name: 'high_cpu_usage',
      }),
    );
  };

  // Handle messages
  ws.onmessage = (event) => {
    const message = JSON.parse(event.data as string);

    switch (message.type) {
      case 'initial_state':
        console.log('Initial state:', message.data);
        break;
      case 'metric_update':
        updateChart(message.data);
        break;
      case 'alert':
        showAlert(message.data);
        break;
    }
  };
  return ws;
}

/** Every message a socket receives, parsed. */
function record(ws: WebSocket, rec: Recorder): void {
  ws.addEventListener('message', (event) => rec.fn('message')(JSON.parse(String(event.data))));
}

describe('perfmon dialect', () => {
  let h: RunningHub;
  let base: string;
  let wsBase: string;

  before(async () => {
    h = await startHub({ metrics: { collect_interval: 0 }, alerts: { rules: RULES } });
    base = h.url;
    wsBase = base.replace('http', 'ws');
    // An alert is firing before the client connects, so that its commands have something to answer.
    await postJson(`${base}/api/v1/metrics`, { name: 'cpu_usage', value: 85.5, labels: { host: 'server1' } });
    await until(() => h.hub.alerts.active().some((a) => a.rule === 'high_cpu_usage'));
  });
  after(() => h.stop());

  test('the documented client: initial state, command replies, metric_update and alert pushed unasked', async () => {
    const rec = new Recorder();
    const ws = runDocumentedClient(`${wsBase}/perfmon/ws`, rec);
    record(ws, rec);
    try {
      const initial = await rec.wait((c) => c.name === 'console.log' && c.args[0] === 'Initial state:', 'state');
      assert.deepEqual(initial.args[1], {
        monitoring_active: true,
        sample_count: (initial.args[1] as { sample_count: number }).sample_count,
        active_alerts: 1,
        alert_rules: 2,
      });
      assert.equal(typeof (initial.args[1] as { sample_count: unknown }).sample_count, 'number');

      const summary = (await rec.waitFor('message', (m) => m.type === 'summary')).args[0] as {
        data: Record<string, Record<string, unknown>>;
      };
      assert.deepEqual(Object.keys(summary.data.cpu_usage!).sort(), ['avg', 'count', 'max', 'min', 'trend']);
      assert.equal(summary.data.cpu_usage!.count, 1);
      assert.equal(summary.data.cpu_usage!.max, 85.5);

      const alerts = (await rec.waitFor('message', (m) => m.type === 'alerts')).args[0] as {
        data: Record<string, unknown>[];
      };
      assert.equal(alerts.data.length, 1);
      const a = alerts.data[0]!;
      assert.equal(a.name, 'high_cpu_usage');
      assert.equal(a.severity, 'warning');
      assert.equal(a.value, 85.5);
      assert.equal(a.threshold, 80);
      assert.match(String(a.triggered_at), ISO);
      assert.equal(a.acknowledged, false);

      const acked = await rec.waitFor('message', (m) => m.type === 'alert_acknowledged');
      assert.deepEqual((acked.args[0] as { data: unknown }).data, { rule_name: 'high_cpu_usage', acknowledged: 1 });
      assert.equal(h.hub.alerts.active().find((x) => x.rule === 'high_cpu_usage')?.acknowledged_by, 'perfmon');
      // Replies come in the order of the commands.
      const order = rec
        .of('message')
        .map((c) => (c.args[0] as { type: string }).type)
        .filter((t) => t !== 'metric_update' && t !== 'alert');
      assert.deepEqual(order, ['initial_state', 'summary', 'alerts', 'alert_acknowledged']);

      // Pushed with no subscription: a metric update, and an alert as it fires.
      await postJson(`${base}/api/v1/metrics`, { name: 'cpu_usage', value: 45.2, labels: { host: 'server1' } });
      const update = (await rec.waitFor('updateChart', (d) => d.value === 45.2)).args[0];
      assert.deepEqual(update, {
        timestamp: (update as { timestamp: string }).timestamp,
        metric: 'cpu_usage',
        value: 45.2,
        tags: { host: 'server1' },
      });
      assert.match((update as { timestamp: string }).timestamp, ISO);

      await postJson(`${base}/api/v1/metrics`, { name: 'memory_usage', value: 95, labels: { host: 'server1' } });
      const shown = (await rec.waitFor('showAlert', (d) => d.name === 'high_memory')).args[0] as Record<
        string,
        unknown
      >;
      assert.equal(shown.severity, 'critical');
      assert.equal(shown.value, 95);
      assert.equal(shown.threshold, 90);
      assert.match(String(shown.triggered_at), ISO);
    } finally {
      ws.close();
    }
  });

  test('bad input gets {type: "error", message} and the connection stays open', async () => {
    const rec = new Recorder();
    const ws = new WebSocket(`${wsBase}/perfmon/ws`);
    record(ws, rec);
    await new Promise((r) => ws.once('open', r));
    try {
      ws.send(JSON.stringify({ command: 'invalid_command' }));
      const unknown = (await rec.waitFor('message', (m) => m.type === 'error')).args[0];
      assert.deepEqual(unknown, {
        type: 'error',
        message: 'Unknown command: invalid_command',
        code: 'unknown_command',
      });
      ws.send('not json');
      ws.send(JSON.stringify([1, 2]));
      ws.send(JSON.stringify({ command: 'acknowledge_alert' }));
      ws.send(JSON.stringify({ command: 'acknowledge_alert', rule_name: 'no_such_rule' }));
      await until(() => rec.of('message').filter((c) => (c.args[0] as { type: string }).type === 'error').length >= 5);
      const errors = rec
        .of('message')
        .map((c) => c.args[0] as { type: string; code?: string; message?: string })
        .filter((m) => m.type === 'error');
      assert.deepEqual(
        errors.map((e) => e.code),
        ['unknown_command', 'bad_request', 'bad_request', 'bad_request', 'not_found'],
      );
      for (const e of errors) assert.equal(typeof e.message, 'string');
      ws.send(JSON.stringify({ command: 'get_summary' }));
      await rec.waitFor('message', (m) => m.type === 'summary');
      assert.equal(ws.readyState, WebSocket.OPEN);
    } finally {
      ws.close();
    }
  });

  test('HTTP: summary, firing alerts and the latest values, beside the Prometheus /metrics', async () => {
    const summary = await getJson(`${base}/perfmon/summary`);
    assert.equal(summary.status, 200);
    const cpu = (summary.body as Record<string, Record<string, unknown>>).cpu_usage!;
    assert.deepEqual(Object.keys(cpu).sort(), ['avg', 'count', 'max', 'min', 'trend']);

    const alerts = await getJson(`${base}/perfmon/alerts`);
    assert.equal(alerts.status, 200);
    const list = alerts.body as Record<string, unknown>[];
    const names = list.map((a) => a.name).sort();
    assert.ok(names.includes('high_memory'));
    for (const a of list) {
      assert.deepEqual(Object.keys(a).sort(), [
        'acknowledged',
        'name',
        'severity',
        'threshold',
        'triggered_at',
        'value',
      ]);
    }

    const metrics = await getJson(`${base}/perfmon/metrics`);
    assert.equal(metrics.status, 200);
    const rows = metrics.body as Record<string, unknown>[];
    const row = rows.find((r) => r.metric === 'memory_usage')!;
    assert.equal(row.value, 95);
    assert.deepEqual(row.tags, { host: 'server1' });
    assert.match(String(row.timestamp), ISO);
    const limited = await getJson(`${base}/perfmon/metrics?limit=1`);
    assert.equal((limited.body as unknown[]).length, 1);
    assert.equal((await getJson(`${base}/perfmon/metrics?limit=0`)).status, 400);

    const prom = await fetch(`${base}/metrics`);
    assert.equal(prom.status, 200);
    assert.match(prom.headers.get('content-type') ?? '', /text\/plain/);
  });

  test('v1 keeps /ws beside the dialect', async () => {
    const client = await TestClient.connect(h.wsUrl);
    assert.equal(client.frames[0]!.type, 'welcome');
    client.close();
  });
});

describe('perfmon dialect on /ws with v1 moved', () => {
  test('a config gives /ws to the dialect and another path to v1', async () => {
    const h = await startHub({
      metrics: { collect_interval: 0 },
      gateway: { path: '/v1' },
      dialects: { perfmon: { path: '/ws' } },
    });
    try {
      const rec = new Recorder();
      const ws = new WebSocket(`${h.url.replace('http', 'ws')}/ws`);
      record(ws, rec);
      const first = (await rec.wait((c) => c.name === 'message', 'first message')).args[0] as { type: string };
      assert.equal(first.type, 'initial_state');
      ws.close();
      const v1 = await TestClient.connect(`${h.url.replace('http', 'ws')}/v1`);
      assert.equal(v1.frames[0]!.type, 'welcome');
      v1.close();
    } finally {
      await h.stop();
    }
  });

  test('two WebSocket paths that clash are a configuration error', () => {
    assert.throws(
      () => loadConfig({ env: {}, overrides: { dialects: { perfmon: { path: '/ws' } } } }),
      /dialects\.perfmon\.path: \/ws is already the path of gateway\.path/,
    );
    assert.throws(
      () => loadConfig({ env: {}, overrides: { dialects: { perfmon: { metrics_path: '/metrics' } } } }),
      /dialects\.perfmon\.metrics_path/,
    );
  });
});

describe('perfmon dialect bounds', () => {
  test('a flood is answered rate_limited in the dialect shape, then closed with 4029', async () => {
    const h = await startHub({
      metrics: { collect_interval: 0 },
      gateway: { rate_limit: { messages_per_s: 1, burst: 2, max_violations: 3 } },
    });
    try {
      const rec = new Recorder();
      const ws = new WebSocket(`${h.url.replace('http', 'ws')}/perfmon/ws`);
      record(ws, rec);
      const closed = new Promise<number>((r) => ws.once('close', (code) => r(code)));
      await new Promise((r) => ws.once('open', r));
      for (let i = 0; i < 10; i++) ws.send(JSON.stringify({ command: 'get_summary' }));
      assert.equal(await closed, 4029);
      const limited = rec
        .of('message')
        .map((c) => c.args[0] as { type: string; code?: string })
        .filter((m) => m.type === 'error');
      assert.ok(limited.length >= 1);
      assert.ok(limited.every((m) => m.code === 'rate_limited'));
    } finally {
      await h.stop();
    }
  });

  test('a frame over gateway.max_payload closes with 1009', async () => {
    const h = await startHub({ metrics: { collect_interval: 0 }, gateway: { max_payload: 1024 } });
    try {
      const ws = new WebSocket(`${h.url.replace('http', 'ws')}/perfmon/ws`);
      ws.on('error', () => {});
      const closed = new Promise<number>((r) => ws.once('close', (code) => r(code)));
      await new Promise((r) => ws.once('open', r));
      ws.send(JSON.stringify({ command: 'get_summary', pad: 'x'.repeat(2000) }));
      assert.equal(await closed, 1009);
    } finally {
      await h.stop();
    }
  });

  test('a session that stops reading has events dropped past its queue bound, then is closed with 4008', async () => {
    const h = await startHub({
      metrics: { collect_interval: 0 },
      gateway: { max_queue_bytes: 8192, slow_consumer_timeout: '300ms' },
    });
    try {
      const ws = new WebSocket(`${h.url.replace('http', 'ws')}/perfmon/ws`);
      ws.on('error', () => {});
      const closed = new Promise<number>((r) => ws.once('close', (code) => r(code)));
      await new Promise((r) => ws.once('message', r));
      (ws as unknown as { _socket: { pause(): void } })._socket.pause();
      const samples = Array.from({ length: 500 }, (_, i) => ({
        name: 'load.test',
        value: i,
        labels: { pad: 'p'.repeat(200), i: String(i % 50) },
      }));
      let code: number | undefined;
      void closed.then((c) => {
        code = c;
      });
      const drops = h.hub.counters.queue.drops;
      await until(async () => {
        await postJson(`${h.url}/api/v1/metrics`, samples);
        return h.hub.counters.queue.drops > drops;
      });
      (ws as unknown as { _socket: { resume(): void } })._socket.resume();
      await until(() => code !== undefined || h.hub.dialects.counts().perfmon === 0);
      assert.equal(await closed, 4008);
    } finally {
      await h.stop();
    }
  });
});
