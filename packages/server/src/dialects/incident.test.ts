/**
 * @module incident.test
 * The incident dialect against a real hub over real sockets: the JavaScript client of the incident manager's
 * documentation as printed (URL changed), its Python client ported line by line to Node, then every message of the
 * protocol, the filters (which v1 has too), notifications on the incidents stream, the HTTP routes, the sessions API
 * and connection log, the idle timeout and priority delivery under pressure.
 */
import assert from 'node:assert/strict';
import { on } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import WebSocket from 'ws';
import { getJson, postJson, Recorder } from '../testing/dialect-client.js';
import { type RunningHub, startHub, TestClient, until } from '../testing/hub-fixture.js';

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;
const RULES = [
  {
    name: 'disk-full',
    kind: 'threshold',
    metric: 'disk_used',
    agg: 'last',
    op: '>',
    threshold: 90,
    severity: 'critical',
  },
];

function record(ws: WebSocket, rec: Recorder): void {
  ws.addEventListener('message', (event) => rec.fn('message')(JSON.parse(String(event.data))));
}

function frames(rec: Recorder, type: string): Record<string, unknown>[] {
  return rec
    .of('message')
    .map((c) => c.args[0] as Record<string, unknown>)
    .filter((m) => m.type === type);
}

function eventsOf(
  rec: Recorder,
): { id: string; event_type: string; priority: string; payload: Record<string, unknown> }[] {
  return frames(rec, 'event').map((m) => m.event as never);
}

describe('incident dialect', () => {
  let h: RunningHub;
  let wsUrl: string;
  let receiver: Server;
  let received = 0;

  before(async () => {
    receiver = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        received++;
        res.end('ok');
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    const port = (receiver.address() as AddressInfo).port;
    h = await startHub({
      metrics: { collect_interval: 0 },
      alerts: { rules: RULES },
      notifications: {
        webhooks: [
          { name: 'ops', url: `http://127.0.0.1:${port}/hook`, group_wait: '0s', max_attempts: 1 },
          { name: 'gone', url: 'http://127.0.0.1:9/hook', group_wait: '0s', max_attempts: 1, timeout: '2s' },
        ],
      },
    });
    wsUrl = `${h.url.replace('http', 'ws')}/incident/ws`;
  });
  after(async () => {
    await h.stop();
    receiver.close();
  });

  test('the documented JavaScript and Python clients receive events with the payload under `event`', async () => {
    const rec = new Recorder();
    // JavaScript/Browser, as printed
    {
      const console = { log: rec.fn('js') };
      const ws = new WebSocket(wsUrl);
      ws.onmessage = (event) => {
        const msg = JSON.parse(event.data as string);
        if (msg.type === 'event') {
          console.log('Event:', msg.event);
        }
      };
      await new Promise((r) => ws.once('open', r));
      rec.fn('js-socket')(ws);
    }
    // Python (asyncio), ported line by line
    const print = rec.fn('py');
    const python = (async () => {
      const ws = new WebSocket(wsUrl); // async with websockets.connect(url) as ws:
      await new Promise((r) => ws.once('open', r));
      try {
        for await (const [message] of on(ws, 'message')) {
          // async for message in ws:
          const msg = JSON.parse(String(message)); // msg = json.loads(message)
          if (msg.type === 'event') {
            // if msg['type'] == 'event':
            print(`Event: ${JSON.stringify(msg.event)}`); // print(f"Event: {msg['event']}")
            if (msg.event.event_type === 'incident_created') break;
          }
        }
      } finally {
        ws.close();
      }
    })();
    await until(() => h.hub.dialects.counts().incident === 2);

    await postJson(`${h.url}/api/v1/metrics`, { name: 'disk_used', value: 95, labels: { host: 'db-1' } });
    const js = (
      await rec.wait(
        (c) => c.name === 'js' && (c.args[1] as { event_type: string }).event_type === 'incident_created',
        'js event',
      )
    ).args as [string, Record<string, unknown>];
    assert.equal(js[0], 'Event:');
    assert.equal(js[1].priority, 'critical');
    assert.match(String(js[1].timestamp), ISO);
    assert.match(String(js[1].id), /^incidents:/);
    assert.equal((js[1].payload as { priority: string }).priority, 'P1');
    const alert = rec
      .of('js')
      .map((c) => c.args[1] as Record<string, unknown>)
      .find((e) => e.event_type === 'alert_received')!;
    assert.equal((alert.payload as { rule: string }).rule, 'disk-full');
    assert.equal(alert.priority, 'critical');

    await python;
    const printed = rec.of('py').map((c) => String(c.args[0]));
    assert.ok(printed.some((line) => line.startsWith('Event: {') && line.includes('"event_type":"incident_created"')));
    (rec.of('js-socket')[0]!.args[0] as WebSocket).close();
  });

  test('welcome, subscribe with filters, ping, ack, unsubscribe; notifications on the incidents stream', async () => {
    const rec = new Recorder();
    const ws = new WebSocket(`${wsUrl}?meta.team=sre&meta.client=test`);
    record(ws, rec);
    await new Promise((r) => ws.once('open', r));
    try {
      const welcome = (await rec.waitFor('message', (m) => m.type === 'welcome')).args[0] as Record<string, unknown>;
      assert.equal(typeof welcome.session_id, 'string');
      assert.match(String(welcome.server_time), ISO);
      assert.equal(typeof welcome.heartbeat_interval_secs, 'number');
      assert.equal(welcome.session_timeout_secs, 300);

      ws.send(
        JSON.stringify({
          type: 'subscribe',
          subscription_id: 'notes',
          filters: { event_types: ['notification_sent', 'notification_failed'] },
        }),
      );
      ws.send(
        JSON.stringify({
          type: 'subscribe',
          subscription_id: 'db',
          filters: {
            event_types: ['alert_received'],
            sources: ['prometheus'],
            resources: ['db-1'],
            severities: ['P2'],
          },
        }),
      );
      ws.send(JSON.stringify({ type: 'ping' }));
      const pong = (await rec.waitFor('message', (m) => m.type === 'pong')).args[0] as Record<string, unknown>;
      assert.match(String(pong.timestamp), ISO);

      // A v1 client with the same kind of filter.
      const v1 = await TestClient.connect(h.wsUrl);
      const reply = await v1.request({
        op: 'subscribe',
        channels: ['alerts'],
        filter: { priorities: ['P2'], sources: ['prometheus'], resources: ['db-1'] },
      });
      assert.equal(reply.ok, true);

      const other = await postJson(`${h.url}/v1/alerts`, {
        title: 'Replica lag',
        source: 'prometheus',
        resource: 'db-2',
        severity: 'P2',
      });
      assert.equal(other.status, 202);
      const mine = await postJson(`${h.url}/v1/alerts`, {
        title: 'Primary slow',
        description: 'p99 over 2 s',
        source: 'prometheus',
        resource: 'db-1',
        severity: 'P2',
      });
      assert.equal(mine.status, 202);
      const body = mine.body as { status: string; alert_id: string };
      assert.equal(body.status, 'accepted');
      const got = await rec.waitFor(
        'message',
        (m) => m.type === 'event' && (m.event as { event_type: string }).event_type === 'alert_received',
      );
      const ev = (got.args[0] as { event: { payload: Record<string, unknown>; priority: string; id: string } }).event;
      assert.equal(ev.payload.id, body.alert_id);
      assert.equal(ev.payload.rule, 'Primary_slow');
      assert.equal(ev.priority, 'high');
      assert.deepEqual(ev.payload.labels, { source: 'prometheus', resource: 'db-1' });
      const v1ev = await v1.next((f) => f.type === 'event' && (f.data as { id: string }).id === body.alert_id);
      assert.equal((v1ev.data as { severity: string }).severity, 'error');
      assert.ok(!v1.events('alerts').some((f) => (f.data as { rule: string }).rule === 'Replica_lag'));
      assert.ok(!eventsOf(rec).some((e) => e.payload.rule === 'Replica_lag'));
      v1.close();

      // The webhooks: one delivers, one cannot; both results arrive on the incidents stream.
      await until(() => eventsOf(rec).some((e) => e.event_type === 'notification_failed'));
      await until(() => eventsOf(rec).some((e) => e.event_type === 'notification_sent'));
      assert.ok(received >= 1);
      const failed = eventsOf(rec).find((e) => e.event_type === 'notification_failed')!;
      assert.equal(failed.payload.receiver, 'gone');
      assert.equal(typeof failed.payload.error, 'string');
      assert.ok((failed.payload.alert_ids as string[]).length >= 1);

      ws.send(JSON.stringify({ type: 'ack', event_id: ev.id }));
      ws.send(JSON.stringify({ type: 'unsubscribe', subscription_id: 'notes' }));
      ws.send(JSON.stringify({ type: 'ping' }));
      await until(() => frames(rec, 'pong').length >= 2);

      const sessions = (await getJson(`${h.url}/api/v1/dialects/sessions`)).body as {
        sessions: Record<string, unknown>[];
      };
      const s = sessions.sessions.find((x) => x.session_id === welcome.session_id)!;
      assert.equal(s.dialect, 'incident');
      assert.equal(s.remote_addr, '127.0.0.1');
      assert.deepEqual(s.metadata, { team: 'sre', client: 'test' });
      assert.match(String(s.last_activity_at), ISO);
      const subs = s.subscriptions as {
        subscriptions: { subscription_id: string }[];
        acked_events: number;
        last_acked_event: string;
      };
      assert.deepEqual(
        subs.subscriptions.map((x) => x.subscription_id),
        ['db'],
      );
      assert.equal(subs.acked_events, 1);
      assert.equal(subs.last_acked_event, ev.id);
    } finally {
      ws.close();
    }
    await until(async () => {
      const log = (await getJson(`${h.url}/api/v1/dialects/connections`)).body as {
        connections: { event: string; dialect: string; code?: number }[];
      };
      return log.connections.filter((c) => c.dialect === 'incident' && c.event === 'disconnected').length >= 3;
    });
  });

  test('bad input is answered {type: "error", code, message}; the connection stays open', async () => {
    const rec = new Recorder();
    const ws = new WebSocket(wsUrl);
    record(ws, rec);
    await new Promise((r) => ws.once('open', r));
    try {
      for (const bad of [
        'nope',
        JSON.stringify({ type: 'frobnicate' }),
        JSON.stringify({ type: 'subscribe', filters: { severities: ['P9'] } }),
        JSON.stringify({ type: 'subscribe', filters: { bogus: 1 } }),
        JSON.stringify({ type: 'unsubscribe', subscription_id: 'never' }),
        JSON.stringify({ type: 'ack' }),
        JSON.stringify(42),
      ]) {
        ws.send(bad);
      }
      await until(() => frames(rec, 'error').length >= 7);
      assert.deepEqual(
        frames(rec, 'error').map((e) => e.code),
        ['bad_request', 'unknown_command', 'bad_request', 'bad_request', 'not_found', 'bad_request', 'bad_request'],
      );
      ws.send(JSON.stringify({ type: 'ping' }));
      await rec.waitFor('message', (m) => m.type === 'pong');
    } finally {
      ws.close();
    }
    const bad = await postJson(`${h.url}/v1/alerts`, { severity: 'P1' });
    assert.equal(bad.status, 400);
    assert.equal((bad.body as { error: { code: string } }).error.code, 'bad_request');
  });

  test('GET /v1/incidents lists the incidents', async () => {
    const res = await getJson(`${h.url}/v1/incidents`);
    assert.equal(res.status, 200);
    const list = (res.body as { incidents: Record<string, unknown>[] }).incidents;
    assert.ok(list.some((i) => i.title === 'disk-full' && i.priority === 'P1'));
    const open = (await getJson(`${h.url}/v1/incidents?state=open&limit=1`)).body as { incidents: unknown[] };
    assert.equal(open.incidents.length, 1);
    assert.equal((await getJson(`${h.url}/v1/incidents?state=nope`)).status, 400);
  });

  test('a session past max_subscriptions is answered too_many_subscriptions', async () => {
    const rec = new Recorder();
    const ws = new WebSocket(wsUrl);
    record(ws, rec);
    await new Promise((r) => ws.once('open', r));
    try {
      for (let i = 0; i < 33; i++) ws.send(JSON.stringify({ type: 'subscribe', subscription_id: `s${i}` }));
      const err = (await rec.waitFor('message', (m) => m.type === 'error')).args[0] as { code: string };
      assert.equal(err.code, 'too_many_subscriptions');
      assert.equal(frames(rec, 'error').length, 1);
    } finally {
      ws.close();
    }
  });
});

describe('incident dialect sessions', () => {
  test('an idle session gets `closing` and is closed (4000); shutdown sends `closing` too', async () => {
    const h = await startHub({
      metrics: { collect_interval: 0 },
      dialects: { incident: { session_timeout: '300ms' } },
    });
    try {
      const rec = new Recorder();
      const ws = new WebSocket(`${h.url.replace('http', 'ws')}/incident/ws`);
      record(ws, rec);
      const closed = new Promise<number>((r) => ws.once('close', (code) => r(code)));
      assert.equal(await closed, 4000);
      const closing = frames(rec, 'closing')[0]!;
      assert.deepEqual(closing, { type: 'closing', code: 4000, reason: 'session timeout' });

      const rec2 = new Recorder();
      const ws2 = new WebSocket(`${h.url.replace('http', 'ws')}/incident/ws`);
      record(ws2, rec2);
      await rec2.waitFor('message', (m) => m.type === 'welcome');
      const closed2 = new Promise<number>((r) => ws2.once('close', (code) => r(code)));
      await h.hub.stop();
      assert.equal(await closed2, 1001);
      assert.deepEqual(frames(rec2, 'closing')[0], { type: 'closing', code: 1001, reason: 'server shutdown' });
    } finally {
      await h.stop();
    }
  });

  test('under pressure a critical event is neither dropped nor delayed behind lower-priority ones', async () => {
    const h = await startHub({
      metrics: { collect_interval: 0 },
      gateway: { max_queue_bytes: 65_536, slow_consumer_timeout: '60s' },
    });
    try {
      const ws = new WebSocket(`${h.url.replace('http', 'ws')}/incident/ws`);
      const order: { name: string; priority: string }[] = [];
      ws.on('message', (data) => {
        const m = JSON.parse(String(data));
        if (m.type === 'event')
          order.push({ name: m.event.payload.rule ?? m.event.payload.title, priority: m.event.priority });
      });
      await new Promise((r) => ws.once('open', r));
      await until(() => h.hub.dialects.counts().incident === 1);
      // One burst: 200 warnings, then a critical alert, published in the same turn, far more than the queue holds.
      const pad = 'x'.repeat(4000);
      const drops = h.hub.counters.queue.drops;
      const batch: Record<string, unknown>[] = Array.from({ length: 200 }, (_, i) => ({
        name: `noise_${i}`,
        severity: 'warning',
        annotations: { description: pad },
      }));
      batch.push({ name: 'meltdown', severity: 'critical' });
      await postJson(`${h.url}/api/v1/alerts`, batch);
      assert.ok(h.hub.counters.queue.drops > drops, 'the burst overflowed the queue');
      await until(() => order.some((o) => o.name === 'meltdown'));
      // Lower-priority events published before it and still queued in the hub arrive after it.
      const at = () => order.findIndex((o) => o.name === 'meltdown');
      await until(() => order.slice(at() + 1).some((o) => o.priority === 'normal' && o.name.startsWith('noise_')));
    } finally {
      await h.stop();
    }
  });
});
