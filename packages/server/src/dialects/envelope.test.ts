/**
 * @module envelope.test
 * The envelope dialect against a real hub over real sockets. The first client is the JavaScript client of the
 * monitoring server's documentation as printed, with the URL changed; its 30-second keep-alive interval is handed
 * to the test, which runs it when the test wants the ping sent. The second is its Go client's loop, ported to Node
 * (subscribe to `all`, dispatch on `type`), plus the messages that client does not use.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import WebSocket from 'ws';
import { getJson, postJson, Recorder } from '../testing/dialect-client.js';
import { type RunningHub, startHub, until } from '../testing/hub-fixture.js';
import { durationText } from './envelope.js';

const RULES = [
  {
    name: 'cpu-high',
    kind: 'threshold',
    metric: 'app.cpu',
    agg: 'last',
    op: '>',
    threshold: 90,
    severity: 'error',
    annotations: { summary: 'CPU usage above {{ $threshold }}%' },
  },
  { name: 'cpu-warm', kind: 'threshold', metric: 'app.warm', agg: 'last', op: '>', threshold: 50, severity: 'warning' },
];
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;

/** The documented JavaScript client, verbatim but for the URL; `setInterval` is the test's. */
function runDocumentedClient(url: string, rec: Recorder, intervals: (() => void)[]) {
  const console = { log: rec.fn('console.log'), error: rec.fn('console.error') };
  const updateSystemMetrics = rec.fn('updateSystemMetrics');
  const showAlert = rec.fn('showAlert');
  const setInterval = (fn: () => void, ms: number) => {
    rec.fn('setInterval')(ms);
    intervals.push(fn);
  };

  // Connect to WebSocket
  const ws = new WebSocket(url);

  // Handle connection open
  ws.onopen = () => {
    console.log('Connected to monitoring server');

    // Subscribe to specific updates
    ws.send(
      JSON.stringify({
        type: 'subscribe',
        filter: {
          types: ['system_status', 'alert'],
          alert_level: 'high',
        },
      }),
    );
  };

  // Handle messages
  ws.onmessage = (event) => {
    const message = JSON.parse(event.data as string);

    switch (message.type) {
      case 'system_status':
        updateSystemMetrics(message.data);
        break;
      case 'alert':
        showAlert(message.data);
        break;
    }
  };

  // Handle errors
  ws.onerror = (error) => {
    console.error('WebSocket error:', error);
  };

  // Handle connection close
  ws.onclose = () => {
    console.log('Disconnected from monitoring server');
    // Implement reconnection logic
  };

  // Keep connection alive
  setInterval(() => {
    if (ws.readyState === WebSocket.OPEN) {
      ws.send(JSON.stringify({ type: 'ping' }));
    }
  }, 30000);
  return ws;
}

function record(ws: WebSocket, rec: Recorder): void {
  ws.addEventListener('message', (event) => rec.fn('message')(JSON.parse(String(event.data))));
}

function messages(rec: Recorder, type: string): Record<string, unknown>[] {
  return rec
    .of('message')
    .map((c) => c.args[0] as Record<string, unknown>)
    .filter((m) => m.type === type);
}

describe('envelope dialect', () => {
  let h: RunningHub;
  let wsUrl: string;

  before(async () => {
    h = await startHub({
      metrics: { status_interval: '200ms' },
      alerts: { rules: RULES },
      dialects: { envelope: { status_interval: '200ms', max_task_ids: 3 } },
    });
    wsUrl = `${h.url.replace('http', 'ws')}/envelope/ws`;
  });
  after(() => h.stop());

  test('the documented JavaScript client: system_status and alerts at or above its level, ping answered', async () => {
    const rec = new Recorder();
    const intervals: (() => void)[] = [];
    const ws = runDocumentedClient(wsUrl, rec, intervals);
    record(ws, rec);
    try {
      await rec.wait((c) => c.name === 'console.log' && c.args[0] === 'Connected to monitoring server', 'open');
      const status = (await rec.waitFor('updateSystemMetrics')).args[0] as Record<string, unknown>;
      // What a session gets before its subscribe is read is not the filter's doing: count from here.
      const filtered = rec.of('message').length;
      assert.deepEqual(Object.keys(status).sort(), [
        'active_tasks',
        'cpu_usage',
        'disk_usage',
        'memory_usage',
        'network_io',
        'status',
        'total_requests',
        'uptime',
      ]);
      assert.equal(status.status, 'healthy');
      assert.match(String(status.uptime), /^(\d+h)?(\d+m)?\d+s$/);
      assert.equal(typeof status.total_requests, 'number');
      assert.deepEqual(Object.keys(status.network_io as object).sort(), ['bytes_in', 'bytes_out']);

      // A warning (medium) stays below the client's level; an error (high) reaches it.
      await postJson(`${h.url}/api/v1/metrics`, { name: 'app.warm', value: 60 });
      await postJson(`${h.url}/api/v1/metrics`, { name: 'app.cpu', value: 92.5 });
      const alert = (await rec.waitFor('showAlert')).args[0] as Record<string, unknown>;
      assert.equal(alert.rule_name, 'cpu-high');
      assert.equal(alert.rule_id, 'cpu-high');
      assert.equal(alert.status, 'firing');
      assert.equal(alert.severity, 'high');
      assert.equal(alert.value, 92.5);
      assert.equal(alert.threshold, 90);
      assert.equal(typeof alert.id, 'string');
      assert.equal(alert.message, 'CPU usage above 90%');
      assert.match(String(alert.starts_at), ISO);

      // Only the types it asked for: a task update and metrics_update do not reach it.
      const task = await postJson(`${h.url}/api/v1/tasks`, { name: 'Bulk Clone GitHub', total: 200 });
      assert.equal(task.status, 201);
      const seen = rec.of('updateSystemMetrics').length;
      await until(() => rec.of('updateSystemMetrics').length >= seen + 3);
      assert.equal(rec.of('showAlert').length, 1);
      const types = new Set(
        rec
          .of('message')
          .slice(filtered)
          .map((c) => (c.args[0] as { type: string }).type),
      );
      assert.ok(!types.has('task_update'));
      assert.ok(!types.has('metrics_update'));

      // The keep-alive interval, as the client set it, sends ping; pong names the client.
      assert.deepEqual(rec.of('setInterval')[0]!.args, [30000]);
      intervals[0]!();
      const pong = (await rec.waitFor('message', (m) => m.type === 'pong')).args[0] as Record<string, unknown>;
      assert.match(String(pong.timestamp), ISO);
      assert.match(String((pong.data as { client_id: string }).client_id), /^client-/);
    } finally {
      ws.close();
    }
  });

  test("the Go client's loop, and every message and command of the protocol", async () => {
    const task = (await postJson(`${h.url}/api/v1/tasks`, { name: 'reindex', total: 10 })).body as { id: string };
    const rec = new Recorder();
    const conn = new WebSocket(wsUrl);
    record(conn, rec);
    const handleSystemStatus = rec.fn('handleSystemStatus');
    const handleAlert = rec.fn('handleAlert');
    await new Promise((r) => conn.once('open', r));
    try {
      // Subscribe to updates
      conn.send(JSON.stringify({ type: 'subscribe', filter: { types: ['all'] } }));
      // Read messages: process message based on type
      conn.on('message', (data) => {
        const msg = JSON.parse(String(data));
        switch (msg.type) {
          case 'system_status':
            handleSystemStatus(msg.data);
            break;
          case 'alert':
            handleAlert(msg.data);
            break;
        }
      });

      const initial = (await rec.waitFor('message', (m) => m.type === 'initial_state')).args[0] as {
        timestamp: string;
        data: Record<string, unknown>;
      };
      assert.match(initial.timestamp, ISO);
      assert.deepEqual(Object.keys(initial.data).sort(), [
        'active_tasks',
        'alert_stats',
        'metrics_summary',
        'system_status',
      ]);
      const stats = initial.data.alert_stats as Record<string, unknown>;
      assert.ok((stats.firing as number) >= 2);
      assert.ok(((stats.by_severity as Record<string, number>).high ?? 0) >= 1);
      const active = initial.data.active_tasks as Record<string, unknown>[];
      assert.ok(active.some((t) => t.id === task.id && t.status === 'running'));

      await rec.waitFor('handleSystemStatus');
      const update = (await rec.waitFor('message', (m) => m.type === 'metrics_update')).args[0] as {
        data: Record<string, unknown>;
      };
      assert.deepEqual(Object.keys(update.data).sort(), [
        'active_tasks',
        'avg_response_time',
        'cpu_usage',
        'error_rate',
        'memory_usage_mb',
        'total_requests',
        'uptime',
      ]);
      assert.match(String(update.data.avg_response_time), /^\d+ms$/);
      assert.ok((update.data.total_requests as number) >= 2);
      assert.ok((update.data.active_tasks as number) >= 1);

      await fetch(`${h.url}/api/v1/tasks/${task.id}`, {
        method: 'PATCH',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ processed: 5, errors: 1 }),
      });
      const tu = (
        await rec.waitFor(
          'message',
          (m) => m.type === 'task_update' && (m.data as { progress: number }).progress === 50,
        )
      ).args[0] as { data: Record<string, unknown> };
      assert.equal(tu.data.id, task.id);
      assert.equal(tu.data.name, 'reindex');
      assert.equal(tu.data.status, 'running');
      assert.match(String(tu.data.start_time), ISO);
      assert.deepEqual(tu.data.details, { processed: 5, total: 10, errors: 1 });

      // task_ids narrows task updates; other tasks are left out.
      conn.send(JSON.stringify({ type: 'subscribe', filter: { types: ['task_update'], task_ids: ['nope'] } }));
      conn.send(JSON.stringify({ type: 'ping' }));
      await rec.waitFor('message', (m) => m.type === 'pong');
      const before = messages(rec, 'task_update').length;
      await fetch(`${h.url}/api/v1/tasks/${task.id}`, {
        method: 'PATCH',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ processed: 8 }),
      });
      conn.send(JSON.stringify({ type: 'subscribe', filter: { types: ['task_update'], task_ids: [task.id] } }));
      await fetch(`${h.url}/api/v1/tasks/${task.id}`, {
        method: 'PATCH',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ processed: 9 }),
      });
      await rec.waitFor('message', (m) => m.type === 'task_update' && (m.data as { progress: number }).progress === 90);
      assert.equal(messages(rec, 'task_update').length, before + 1);

      // unsubscribe stops the pushes; ping still answers.
      conn.send(JSON.stringify({ type: 'unsubscribe' }));
      conn.send(JSON.stringify({ type: 'ping' }));
      const pongs = messages(rec, 'pong').length;
      await until(() => messages(rec, 'pong').length > pongs);
      // A reply overtakes events queued before it (replies are urgent), so let those land before counting.
      await new Promise((r) => setTimeout(r, 500));
      const count = rec.of('message').length;
      await new Promise((r) => setTimeout(r, 600));
      assert.equal(rec.of('message').length, count, 'nothing pushed after unsubscribe');
    } finally {
      conn.close();
    }
  });

  test('bad input is answered {type: "error", timestamp, data: {code, message}} and the connection stays open', async () => {
    const rec = new Recorder();
    const ws = new WebSocket(wsUrl);
    record(ws, rec);
    await new Promise((r) => ws.once('open', r));
    try {
      for (const bad of [
        'not json',
        JSON.stringify({ type: 'bogus' }),
        JSON.stringify({ no: 'type' }),
        JSON.stringify({ type: 'subscribe', filter: { types: ['nope'] } }),
        JSON.stringify({ type: 'subscribe', filter: { alert_level: 'extreme' } }),
        JSON.stringify({ type: 'subscribe', filter: { task_ids: ['a', 'b', 'c', 'd'] } }),
        JSON.stringify({ type: 'subscribe', filter: { extra: 1 } }),
      ]) {
        ws.send(bad);
      }
      await until(() => messages(rec, 'error').length >= 7);
      const errors = messages(rec, 'error').map((m) => m.data as { code: string; message: string });
      assert.deepEqual(
        errors.map((e) => e.code),
        ['bad_request', 'unknown_command', 'bad_request', 'bad_request', 'bad_request', 'bad_request', 'bad_request'],
      );
      assert.match(errors[5]!.message, /at most 3 ids/);
      ws.send(JSON.stringify({ type: 'ping' }));
      await rec.waitFor('message', (m) => m.type === 'pong');
    } finally {
      ws.close();
    }
  });

  test('/dashboard serves the dashboard; the HTTP API is measured and published', async () => {
    const res = await fetch(`${h.url}/dashboard`, { redirect: 'manual' });
    assert.equal(res.status, 302);
    assert.equal(res.headers.get('location'), '/');
    await until(async () => {
      const r = (await getJson(`${h.url}/api/v1/metrics/current`)).body as { metrics: { metric: string }[] };
      return r.metrics.some((m) => m.metric === 'process.http.response_time_ms');
    });
    const r = (await getJson(`${h.url}/api/v1/metrics/current`)).body as {
      metrics: { metric: string; value: number }[];
    };
    const names = new Set(r.metrics.map((m) => m.metric));
    for (const n of ['process.http.requests_total', 'process.http.requests_per_s', 'process.http.error_percent']) {
      assert.ok(names.has(n), n);
    }
  });

  test('durations read as the clients expect', () => {
    assert.equal(durationText(9000), '2h30m0s');
    assert.equal(durationText(65), '1m5s');
    assert.equal(durationText(3), '3s');
  });
});
