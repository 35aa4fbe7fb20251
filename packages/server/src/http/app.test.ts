/**
 * @module app.test
 * The HTTP API in process with inject(), and the SSE stream on a real listener: health and readiness, stats,
 * channels, history, publish with its errors, OpenAPI, /metrics, and SSE resume with Last-Event-ID and `recover`.
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { type RunningHub, startHub, TestClient, until } from '../testing/hub-fixture.js';

describe('HTTP API', () => {
  let h: RunningHub;
  before(async () => {
    h = await startHub({ history: { channels: [{ pattern: 'sse.small', max_events: 3 }] } });
  });
  after(() => h.stop());

  test('/api, /health and /ready', async () => {
    const home = await h.hub.app.inject({ url: '/api' });
    assert.equal(home.statusCode, 200);
    assert.match(home.body, /\/api\/v1\/stream/);
    assert.deepEqual((await h.hub.app.inject({ url: '/health' })).json(), { status: 'ok' });
    const ready = await h.hub.app.inject({ url: '/ready' });
    assert.deepEqual([ready.statusCode, ready.json()], [200, { status: 'ready' }]);
  });

  test('POST /api/v1/publish publishes; subscribers receive it; errors carry registry codes', async () => {
    const c = await TestClient.connect(h.wsUrl);
    await c.request({ op: 'subscribe', channels: ['web.>'] });
    const res = await h.hub.app.inject({
      method: 'POST',
      url: '/api/v1/publish',
      payload: { channel: 'web.orders', data: { total: 5 }, kind: 'order' },
    });
    assert.equal(res.statusCode, 200);
    const body = res.json() as { channel: string; offset: number; epoch: string };
    assert.deepEqual([body.channel, body.offset], ['web.orders', 1]);
    const ev = await c.next((f) => f.type === 'event');
    assert.deepEqual([ev.kind, ev.data], ['order', { total: 5 }]);
    c.close();

    const cases: [unknown, number, string][] = [
      [{ channel: 'bad channel', data: 1 }, 400, 'invalid_channel'],
      [{ channel: 'alerts', data: 1 }, 403, 'forbidden'],
      [{ channel: 5, data: 1 }, 400, 'bad_request'],
      [{ data: 1 }, 400, 'bad_request'],
      [{ channel: 'a', data: 1, extra: true }, 400, 'bad_request'],
      [{ channel: 'a', data: 1, kind: 'no spaces' }, 400, 'bad_request'],
    ];
    for (const [payload, status, code] of cases) {
      const r = await h.hub.app.inject({ method: 'POST', url: '/api/v1/publish', payload: payload as object });
      assert.equal(r.statusCode, status, JSON.stringify(payload));
      assert.equal((r.json() as { error: { code: string } }).error.code, code, JSON.stringify(payload));
    }
    const notJson = await h.hub.app.inject({
      method: 'POST',
      url: '/api/v1/publish',
      headers: { 'content-type': 'application/json' },
      payload: '{oops',
    });
    assert.equal(notJson.statusCode, 400);
    assert.equal((notJson.json() as { error: { code: string } }).error.code, 'bad_request');
    const poisoned = await h.hub.app.inject({
      method: 'POST',
      url: '/api/v1/publish',
      headers: { 'content-type': 'application/json' },
      payload: '{"channel":"a","data":{"__proto__":{"polluted":1}}}',
    });
    assert.equal(poisoned.statusCode, 400);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    const missing = await h.hub.app.inject({ url: '/api/v1/nope' });
    assert.deepEqual(
      [missing.statusCode, (missing.json() as { error: { code: string } }).error.code],
      [404, 'not_found'],
    );
  });

  test('GET /api/v1/whoami with auth off: everything is allowed', async () => {
    assert.deepEqual((await h.hub.app.inject({ url: '/api/v1/whoami' })).json(), {
      auth: false,
      principal: null,
      kind: null,
      scopes: ['read', 'publish', 'admin'],
      channels: null,
    });
  });

  test('GET /api/v1/stats, /api/v1/channels and history', async () => {
    for (let i = 0; i < 4; i++) await h.hub.emit('web.hist', 'k', i);
    const c = await TestClient.connect(h.wsUrl);
    await c.request({ op: 'subscribe', channels: ['web.hist', 'web.*'] });
    const stats = (await h.hub.app.inject({ url: '/api/v1/stats' })).json() as Record<string, unknown>;
    for (const key of ['connections', 'subscriptions', 'channels', 'messages_in', 'messages_out', 'node', 'version']) {
      assert.ok(key in stats, key);
    }
    assert.equal(stats.node, 'test-node');
    assert.deepEqual([stats.gaps, stats.slow_consumer_closes], [0, 0]);
    assert.ok((stats.subscriptions as number) >= 2);
    const channels = (await h.hub.app.inject({ url: '/api/v1/channels' })).json() as {
      channels: { channel: string; offset: number; subscribers: number; history_size: number }[];
    };
    const row = channels.channels.find((r) => r.channel === 'web.hist');
    assert.deepEqual(row && [row.offset, row.subscribers, row.history_size], [4, 2, 4]);
    const hist = (await h.hub.app.inject({ url: '/api/v1/channels/web.hist/history?since=1&limit=2' })).json() as {
      events: { offset: number }[];
    };
    assert.deepEqual(
      hist.events.map((e) => e.offset),
      [2, 3],
    );
    const bad = await h.hub.app.inject({ url: '/api/v1/channels/web.hist/history?limit=0' });
    assert.equal(bad.statusCode, 400);
    const badChannel = await h.hub.app.inject({ url: '/api/v1/channels/a..b/history' });
    assert.equal((badChannel.json() as { error: { code: string } }).error.code, 'invalid_channel');
    c.close();
  });

  test('OpenAPI at /api/docs and Prometheus metrics at /metrics', async () => {
    const spec = (await h.hub.app.inject({ url: '/api/docs/json' })).json() as { openapi: string; paths: object };
    assert.match(spec.openapi, /^3\./);
    for (const p of ['/api/v1/stats', '/api/v1/channels', '/api/v1/publish', '/api/v1/stream', '/health']) {
      assert.ok(p in spec.paths, p);
    }
    const ui = await h.hub.app.inject({ url: '/api/docs' });
    assert.ok(ui.statusCode === 200 || ui.statusCode === 302);
    const metrics = (await h.hub.app.inject({ url: '/metrics' })).body;
    for (const name of [
      'vigil_connections_active',
      'vigil_connections_total',
      'vigil_messages_in_total',
      'vigil_messages_out_total',
      'vigil_fanout_latency_seconds_bucket',
      'vigil_queue_drops_total',
      'vigil_gaps_total',
      'vigil_disconnects_total',
    ]) {
      assert.match(metrics, new RegExp(`^${name}`, 'm'), name);
    }
  });

  test('SSE streams events with <channel>@<epoch>:<offset> ids and resumes from Last-Event-ID', async () => {
    const port = Number(new URL(h.url).port);
    const open = (path: string, headers: Record<string, string> = {}) => {
      let text = '';
      const req = request({ host: '127.0.0.1', port, path, headers });
      req.on('response', (res) => res.on('data', (d: Buffer) => (text += d.toString())));
      req.end();
      return { text: () => text, close: () => req.destroy() };
    };
    const s1 = open('/api/v1/stream?channels=sse.a');
    // Events count from the subscription, which `event: subscribed` reports in place.
    await until(() => s1.text().includes('event: subscribed'), 10_000, 'stream subscribed');
    const e1 = await h.hub.emit('sse.a', 'k', { n: 1 });
    await h.hub.emit('sse.a', 'k', { n: 2 });
    await until(() => s1.text().includes(`id: sse.a@${e1.epoch}:2`), 10_000, 'two events');
    const first = s1
      .text()
      .split('\n\n')
      .find((b) => b.startsWith(`id: sse.a@${e1.epoch}:1`))!;
    const frame = JSON.parse(first.split('\ndata: ')[1]!) as Record<string, unknown>;
    assert.deepEqual([frame.type, frame.channel, frame.offset, frame.data], ['event', 'sse.a', 1, { n: 1 }]);
    s1.close();
    // Missed while disconnected:
    await h.hub.emit('sse.a', 'k', { n: 3 });
    await h.hub.emit('sse.a', 'k', { n: 4 });
    const s2 = open('/api/v1/stream?channels=sse.a', { 'last-event-id': `sse.a@${e1.epoch}:2` });
    await until(() => s2.text().includes(':4\n'), 10_000, 'resumed events');
    await h.hub.emit('sse.a', 'k', { n: 5 });
    await until(() => s2.text().includes(':5\n'), 10_000, 'live event');
    const ids = [...s2.text().matchAll(/^id: sse\.a@[^:]+:(\d+)$/gm)].map((m) => Number(m[1]));
    assert.deepEqual(ids, [3, 4, 5]);
    s2.close();

    let small = '';
    for (let i = 0; i < 6; i++) small = (await h.hub.emit('sse.small', 'k', i)).epoch;
    const s3 = open('/api/v1/stream?channels=sse.small', { 'last-event-id': `sse.small@${small}:1` });
    await until(() => s3.text().includes(':6\n'), 10_000, 'what is left');
    assert.match(s3.text(), /event: gap\ndata: .*"from":2,"to":3,"reason":"history_expired"/);
    s3.close();

    const bad = await h.hub.app.inject({ url: '/api/v1/stream?channels=bad..x' });
    assert.equal((bad.json() as { error: { code: string } }).error.code, 'invalid_channel');
  });

  test('SSE: event subscribed first, recover resumes several channels exactly, snapshot=true sends snapshots', async () => {
    const port = Number(new URL(h.url).port);
    const open = (path: string) => {
      let text = '';
      const req = request({ host: '127.0.0.1', port, path });
      req.on('response', (res) => res.on('data', (d: Buffer) => (text += d.toString())));
      req.end();
      return { text: () => text, close: () => req.destroy() };
    };
    const a = await h.hub.emit('rec.a', 'k', 1);
    await h.hub.emit('rec.a', 'k', 2);
    // Each channel's own epoch: with the Redis engine every channel has one.
    const b = await h.hub.emit('rec.b', 'k', 1);
    await h.hub.emit('rec.b', 'k', 2);
    await h.hub.emit('rec.b', 'k', 3);
    const recover = { 'rec.a': { epoch: a.epoch, offset: 1 }, 'rec.b': { epoch: b.epoch, offset: 1 } };
    const s = open(
      `/api/v1/stream?channels=rec.>,nodes&snapshot=true&recover=${encodeURIComponent(JSON.stringify(recover))}`,
    );
    await until(() => s.text().includes(`id: rec.b@${b.epoch}:3`), 10_000, 'recovered');
    const blocks = s
      .text()
      .split('\n\n')
      .filter((b) => b !== '' && !b.startsWith('retry:'));
    assert.ok(blocks[0]!.startsWith('event: subscribed\ndata: '), blocks[0]);
    const subscribed = JSON.parse(blocks[0]!.split('data: ')[1]!) as { subscriptions: { channel: string }[] };
    assert.deepEqual(subscribed.subscriptions.map((e) => e.channel).sort(), ['nodes', 'rec.>']);
    assert.ok(blocks.some((b) => b.startsWith('event: snapshot\ndata: {"type":"snapshot","channel":"nodes"')));
    const ids = [...s.text().matchAll(/^id: (rec\.[ab])@[^:]+:(\d+)$/gm)].map((m) => `${m[1]}:${m[2]}`);
    assert.deepEqual(ids.sort(), ['rec.a:2', 'rec.b:2', 'rec.b:3']);
    s.close();

    const err = async (q: string) =>
      (await h.hub.app.inject({ url: `/api/v1/stream?channels=rec.a&recover=${encodeURIComponent(q)}` })).json() as {
        error: { code: string };
      };
    assert.equal((await err('{oops')).error.code, 'bad_request');
    assert.equal((await err('{"rec.z":{"epoch":"e","offset":1}}')).error.code, 'bad_request');
    assert.equal((await err('{"rec.*":{"epoch":"e","offset":1}}')).error.code, 'invalid_channel');
    assert.equal((await err('{"rec.a":{"epoch":"e","offset":-1}}')).error.code, 'bad_request');
  });
});
