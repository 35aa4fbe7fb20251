/**
 * @module rooms.test
 * The rooms dialect against a real hub over real sockets. The document prints how its WebSocket client is used, not
 * the client itself; `RoomsClient` below is a minimal client with the behaviour the document describes (token in
 * the query, messages queued until open, `subscribe(rooms)`, handlers by message type, heartbeat ping), and the
 * usage code runs as printed with the URL changed.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import WebSocket from 'ws';
import { getJson, postJson, Recorder } from '../testing/dialect-client.js';
import { type RunningHub, startHub, until } from '../testing/hub-fixture.js';

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;
type Handler = (message: Record<string, unknown>) => void;

/** A minimal client with the documented behaviour. */
class RoomsClient {
  private ws: WebSocket | undefined;
  private queue: string[] = [];
  private handlers = new Map<string, Handler[]>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly options: {
      url: string;
      token?: string;
      autoReconnect?: boolean;
      maxReconnectAttempts?: number;
      reconnectInterval?: number;
      maxReconnectInterval?: number;
      heartbeatInterval?: number;
    },
  ) {}

  connect(): void {
    const url = this.options.token
      ? `${this.options.url}?token=${encodeURIComponent(this.options.token)}`
      : this.options.url;
    const ws = new WebSocket(url);
    this.ws = ws;
    ws.on('open', () => {
      for (const m of this.queue.splice(0)) ws.send(m);
      this.timer = setInterval(() => this.send({ type: 'ping' }), this.options.heartbeatInterval ?? 30_000);
    });
    ws.on('message', (data) => {
      const message = JSON.parse(String(data)) as Record<string, unknown>;
      for (const h of [...(this.handlers.get(String(message.type)) ?? []), ...(this.handlers.get('*') ?? [])])
        h(message);
    });
    ws.on('close', () => clearInterval(this.timer));
  }

  send(message: unknown): void {
    const text = JSON.stringify(message);
    if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(text);
    else this.queue.push(text);
  }

  subscribe(rooms: string[]): void {
    this.send({ type: 'subscribe', rooms });
  }

  unsubscribe(rooms: string[]): void {
    this.send({ type: 'unsubscribe', rooms });
  }

  on(type: string, handler: Handler): void {
    this.handlers.set(type, [...(this.handlers.get(type) ?? []), handler]);
  }

  disconnect(): void {
    clearInterval(this.timer);
    this.ws?.close();
  }
}

describe('rooms dialect', () => {
  let h: RunningHub;
  let wsUrl: string;

  before(async () => {
    h = await startHub({
      metrics: { collect_interval: '200ms', status_interval: '200ms' },
      fleet: { summary_interval: '200ms' },
      alerts: {
        rules: [
          {
            name: 'cpu-hot',
            kind: 'threshold',
            metric: 'cpu_usage',
            agg: 'last',
            op: '>',
            threshold: 90,
            severity: 'critical',
          },
        ],
      },
    });
    wsUrl = `${h.url.replace('http', 'ws')}/api/ws/connect`;
  });
  after(() => h.stop());

  test('the documented usage: connection_established, room messages with room, priority and timestamp, pong', async () => {
    const rec = new Recorder();
    const console = { log: rec.fn('console.log') };

    const client = new RoomsClient({
      url: wsUrl,
      token: 'jwt-token',
      autoReconnect: true,
      maxReconnectAttempts: 10,
      reconnectInterval: 1000,
      maxReconnectInterval: 30000,
      heartbeatInterval: 300,
    });

    client.connect();

    // Subscribe to rooms
    client.subscribe(['nodes', 'metrics', 'alerts']);

    // Listen for messages
    client.on('node_status_update', (message) => {
      console.log('Node update:', message.data);
    });

    client.on('*', rec.fn('message'));
    try {
      const established = (await rec.waitFor('message', (m) => m.type === 'connection_established')).args[0] as Record<
        string,
        unknown
      >;
      assert.equal(typeof established.connection_id, 'string');
      assert.match(String(established.timestamp), ISO);

      const node = await rec.wait((c) => c.name === 'console.log' && c.args[0] === 'Node update:', 'node update');
      assert.ok(node.args[1] !== null && typeof node.args[1] === 'object');
      const nodeMessage = (await rec.waitFor('message', (m) => m.type === 'node_status_update')).args[0] as Record<
        string,
        unknown
      >;
      assert.equal(nodeMessage.room, 'nodes');
      assert.equal(nodeMessage.priority, 'normal');
      assert.match(String(nodeMessage.timestamp), ISO);

      const metrics = (await rec.waitFor('message', (m) => m.type === 'metrics_update')).args[0] as Record<
        string,
        unknown
      >;
      assert.equal(metrics.room, 'metrics');
      assert.equal(typeof (metrics.data as { cpu: unknown }).cpu, 'object');

      await postJson(`${h.url}/api/v1/metrics`, { name: 'cpu_usage', value: 95 });
      const alert = (await rec.waitFor('message', (m) => m.type === 'alert')).args[0] as {
        room: string;
        priority: string;
        data: Record<string, unknown>;
      };
      assert.equal(alert.room, 'alerts');
      assert.equal(alert.priority, 'critical');
      assert.deepEqual(
        {
          type: alert.data.type,
          metric: alert.data.metric,
          value: alert.data.value,
          threshold: alert.data.threshold,
          severity: alert.data.severity,
        },
        { type: 'threshold_exceeded', metric: 'cpu_usage', value: 95, threshold: 90, severity: 'critical' },
      );

      // The heartbeat's ping is answered.
      const pong = (await rec.waitFor('message', (m) => m.type === 'pong')).args[0] as Record<string, unknown>;
      assert.match(String(pong.timestamp), ISO);

      // Rooms not joined send nothing; unsubscribe leaves a room.
      const types = new Set(rec.of('message').map((c) => (c.args[0] as { type: string }).type));
      assert.ok(!types.has('resource_update') && !types.has('task_progress_update'));
      client.unsubscribe(['metrics']);
      client.subscribe(['resources']);
      await rec.waitFor('message', (m) => m.type === 'resource_update');
      const after = rec.of('message').length;
      await rec.waitFor('message', (m) => m.type === 'resource_update' && rec.of('message').length > after + 3);
      assert.ok(
        !rec
          .of('message')
          .slice(after)
          .some((c) => (c.args[0] as { type: string }).type === 'metrics_update'),
      );
    } finally {
      client.disconnect();
    }
  });

  test('bad input gets {type: "error", code, message}; the connection stays open', async () => {
    const rec = new Recorder();
    const ws = new WebSocket(wsUrl);
    ws.on('message', (d) => rec.fn('message')(JSON.parse(String(d))));
    await new Promise((r) => ws.once('open', r));
    try {
      for (const bad of [
        '{',
        JSON.stringify({ type: 'subscribe', rooms: ['kitchen'] }),
        JSON.stringify({ type: 'subscribe' }),
        JSON.stringify({ type: 'dance' }),
      ]) {
        ws.send(bad);
      }
      await until(() => rec.of('message').filter((c) => (c.args[0] as { type: string }).type === 'error').length >= 4);
      const codes = rec
        .of('message')
        .map((c) => c.args[0] as { type: string; code: string })
        .filter((m) => m.type === 'error')
        .map((m) => m.code);
      assert.deepEqual(codes, ['bad_request', 'bad_request', 'bad_request', 'unknown_command']);
      ws.send(JSON.stringify({ type: 'ping' }));
      await rec.waitFor('message', (m) => m.type === 'pong');
    } finally {
      ws.close();
    }
  });

  test('personal messages reach one connection, or every connection of one identity', async () => {
    const a = new Recorder();
    const b = new Recorder();
    const wa = new WebSocket(`${wsUrl}?user_id=alice`);
    const wb = new WebSocket(`${wsUrl}?user_id=bob`);
    wa.on('message', (d) => a.fn('message')(JSON.parse(String(d))));
    wb.on('message', (d) => b.fn('message')(JSON.parse(String(d))));
    try {
      const est = (await a.waitFor('message', (m) => m.type === 'connection_established')).args[0] as {
        connection_id: string;
      };
      await b.waitFor('message', (m) => m.type === 'connection_established');
      const one = await postJson(`${h.url}/api/ws/send`, {
        connection_id: est.connection_id,
        message: { type: 'note', text: 'hi' },
      });
      assert.deepEqual(one.body, { delivered: 1 });
      await a.waitFor('message', (m) => m.type === 'note' && m.text === 'hi');
      const byUser = await postJson(`${h.url}/api/ws/send`, {
        user_id: 'bob',
        message: { type: 'note', text: 'bob only' },
      });
      assert.deepEqual(byUser.body, { delivered: 1 });
      await b.waitFor('message', (m) => m.type === 'note' && m.text === 'bob only');
      assert.ok(!a.of('message').some((c) => (c.args[0] as { text?: string }).text === 'bob only'));
      assert.equal((await postJson(`${h.url}/api/ws/send`, { user_id: 'carol', message: { type: 'x' } })).status, 404);
      assert.equal((await postJson(`${h.url}/api/ws/send`, { message: { type: 'x' } })).status, 400);
      const big = await postJson(`${h.url}/api/ws/send`, {
        user_id: 'bob',
        message: { type: 'x', pad: 'p'.repeat(70_000) },
      });
      assert.equal(big.status, 413);
    } finally {
      wa.close();
      wb.close();
    }
  });

  test('HTTP management routes answer with the documented field names', async () => {
    const ws = new WebSocket(wsUrl);
    await new Promise((r) => ws.once('open', r));
    ws.send(JSON.stringify({ type: 'subscribe', rooms: ['nodes', 'alerts'] }));
    try {
      await until(async () => {
        const s = (await getJson(`${h.url}/api/ws/stats`)).body as { rooms: Record<string, number> };
        return s.rooms.nodes >= 1;
      });
      const stats = (await getJson(`${h.url}/api/ws/stats`)).body as Record<string, unknown>;
      assert.deepEqual(Object.keys(stats).sort(), [
        'active_connections',
        'publishers_active',
        'rooms',
        'rooms_created',
        'total_connections',
        'total_messages',
      ]);
      assert.equal(stats.rooms_created, 6);
      assert.deepEqual(Object.keys(stats.rooms as object).sort(), [
        'alerts',
        'metrics',
        'nodes',
        'resources',
        'tasks',
        'topology',
      ]);
      assert.ok((stats.active_connections as number) >= 1);
      assert.ok((stats.publishers_active as number) >= 3);

      const streams = (await getJson(`${h.url}/api/ws/streams`)).body as {
        streams: { name: string; subscribers: number }[];
      };
      assert.equal(streams.streams.length, 6);
      assert.ok(streams.streams.find((s) => s.name === 'nodes')!.subscribers >= 1);

      await postJson(`${h.url}/api/v1/metrics`, [
        { name: 'betanet.latency_ms', value: 20, ts: Date.now() - 2000 },
        { name: 'betanet.latency_ms', value: 30, ts: Date.now() - 1000 },
      ]);
      const history = (await getJson(`${h.url}/api/ws/metrics/history?metric=betanet.latency_ms&hours=24`)).body as {
        metric: string;
        series: { points: { timestamp: string; value: number }[] }[];
      };
      assert.equal(history.metric, 'betanet.latency_ms');
      assert.ok(history.series[0]!.points.length >= 1);
      assert.match(history.series[0]!.points[0]!.timestamp, ISO);
      assert.equal((await getJson(`${h.url}/api/ws/metrics/history?metric=nope`)).status, 404);
      assert.equal((await getJson(`${h.url}/api/ws/metrics/history?metric=x&hours=1000`)).status, 400);

      const st = (await getJson(`${h.url}/api/ws/metrics/statistics?metric=betanet.latency_ms&window=5m`))
        .body as Record<string, unknown>;
      for (const k of ['min', 'max', 'avg', 'median', 'stddev', 'count']) assert.ok(k in st, k);
      assert.equal(st.max, 30);

      const summary = (await getJson(`${h.url}/api/ws/metrics/summary`)).body as {
        metrics: Record<string, Record<string, unknown>>;
      };
      assert.equal(summary.metrics['betanet.latency_ms']!.max, 30);

      const info = (await postJson(`${h.url}/api/ws/subscribe`, {})).body as { available_rooms: string[] };
      assert.equal(info.available_rooms.length, 6);
    } finally {
      ws.close();
    }
  });
});
