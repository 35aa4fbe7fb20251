/**
 * @module protocol.test
 * Every row of the protocol's tables, on real sockets against a real hub: ops, replies, server frames, filters,
 * modes, connect-time subscriptions, errors that keep the connection open, limits and close codes.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { SUBPROTOCOL_MSGPACK } from '@vigil/protocol';
import WebSocket from 'ws';
import { type RunningHub, sleep, startHub, TestClient, until } from '../testing/hub-fixture.js';

describe('gateway protocol', () => {
  let h: RunningHub;
  before(async () => {
    h = await startHub({ gateway: { max_subscriptions: 5, max_payload: 4096 } });
    h.hub.snapshots.register('state.>', (channel) => ({ state: `of ${channel}` }));
  });
  after(() => h.stop());

  test('welcome is the first frame and carries session, node, protocol, time, heartbeat and limits', async () => {
    const c = await TestClient.connect(h.wsUrl);
    const w = c.frames[0]!;
    assert.equal(w.type, 'welcome');
    assert.equal(typeof w.session, 'string');
    assert.equal(w.node, 'test-node');
    assert.equal(w.protocol, 1);
    assert.ok(Math.abs((w.server_time as number) - Date.now()) < 5000);
    assert.deepEqual(w.heartbeat, { interval_ms: 25_000, timeout_ms: 10_000 });
    assert.deepEqual(w.limits, { max_payload: 4096, max_subscriptions: 5, max_queue_bytes: 1_048_576 });
    assert.equal(c.ws.protocol, '', 'no subprotocol offered means JSON without one');
    c.close();
  });

  test('subscribe replies with positions; publish reaches subscribers with channel, offset, ts, kind, data', async () => {
    const sub = await TestClient.connect(h.wsUrl);
    const pub = await TestClient.connect(h.wsUrl, 'vigil.v1.json');
    assert.equal(pub.ws.protocol, 'vigil.v1.json');
    const r = await sub.request({ op: 'subscribe', channels: ['room.a', 'room.*'] });
    assert.equal(r.ok, true);
    const subs = (r.result as { subscriptions: { channel: string; epoch: string; offset: number }[] }).subscriptions;
    assert.deepEqual(
      subs.map((s) => [s.channel, s.offset]),
      [
        ['room.a', 0],
        ['room.*', 0],
      ],
    );
    const p = await pub.request({ op: 'publish', channel: 'room.a', data: { text: 'hi' }, kind: 'chat' });
    assert.equal(p.ok, true);
    const pr = p.result as { channel: string; offset: number; epoch: string };
    assert.deepEqual([pr.channel, pr.offset, pr.epoch], ['room.a', 1, subs[0]!.epoch]);
    const ev = await sub.next((f) => f.type === 'event');
    assert.deepEqual(
      { ...ev, ts: 0 },
      { type: 'event', channel: 'room.a', offset: 1, ts: 0, kind: 'chat', data: { text: 'hi' } },
    );
    assert.ok(typeof ev.ts === 'number' && ev.ts > 0);
    await pub.request({ op: 'publish', channel: 'room.b', data: 2 });
    const ev2 = await sub.next((f) => f.type === 'event' && f.channel === 'room.b');
    assert.equal(ev2.kind, 'message', 'kind defaults to message');
    await sleep(50);
    assert.equal(sub.events('room.a').length, 1, 'an event matching two patterns arrives once');
    sub.close();
    pub.close();
  });

  test('a subscribe pipelined with a publish gets its reply before the event', async () => {
    for (let round = 0; round < 20; round++) {
      const c = await TestClient.connect(h.wsUrl);
      const channel = `pipe.r${round}`;
      c.send({ op: 'subscribe', id: 's', channels: [channel] });
      c.send({ op: 'publish', id: 'p', channel, data: round });
      const ev = await c.next((f) => f.type === 'event');
      const reply = await c.next((f) => f.type === 'reply' && f.id === 's');
      assert.ok(c.frames.indexOf(reply) < c.frames.indexOf(ev), 'reply first');
      c.close();
    }
  });

  test('a client offering only unknown subprotocols is refused with 400', async () => {
    const ws = new WebSocket(h.wsUrl, 'chat.v9');
    const status = await new Promise<number>((resolve) => {
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.on('error', () => {});
    });
    assert.equal(status, 400);
    const first = await TestClient.connect(h.wsUrl, ['vigil.v1.json', SUBPROTOCOL_MSGPACK]);
    assert.equal(first.ws.protocol, 'vigil.v1.json', "the client's preference order wins");
    first.close();
  });

  test('`>` matches one or more trailing segments; unsubscribe stops delivery', async () => {
    const c = await TestClient.connect(h.wsUrl);
    await c.request({ op: 'subscribe', channels: ['deep.>'] });
    await h.hub.emit('deep', 'k', 0);
    await h.hub.emit('deep.a', 'k', 1);
    await h.hub.emit('deep.a.b.c', 'k', 2);
    await c.next((f) => f.type === 'event' && f.channel === 'deep.a.b.c');
    assert.deepEqual(
      c.events().map((e) => e.channel),
      ['deep.a', 'deep.a.b.c'],
    );
    const u = await c.request({ op: 'unsubscribe', channels: ['deep.>'] });
    assert.deepEqual([u.ok, u.result], [true, {}]);
    await h.hub.emit('deep.x', 'k', 3);
    await sleep(50);
    assert.equal(c.events().length, 2);
    c.close();
  });

  test('filters: kinds, ids, min_severity, states and labels', async () => {
    const cases: [Record<string, unknown>, number[]][] = [
      [{ kinds: ['alert'] }, [0, 1, 2]],
      [{ ids: ['a1'] }, [0]],
      [{ min_severity: 'error' }, [1, 2]],
      [{ states: ['resolved'] }, [2]],
      [{ labels: { host: 'db' } }, [1, 3]],
      [{ kinds: ['alert'], labels: { host: 'db' } }, [1]],
    ];
    const events = [
      { kind: 'alert', data: { id: 'a1', severity: 'warning', status: 'firing', labels: { host: 'web' } } },
      { kind: 'alert', data: { id: 'a2', severity: 'critical', status: 'firing', labels: { host: 'db' } } },
      { kind: 'alert', data: { id: 'a3', severity: 'error', status: 'resolved', labels: {} } },
      { kind: 'metric_update', data: { metric: 'x', value: 1, labels: { host: 'db' } } },
    ];
    const clients = await Promise.all(cases.map(() => TestClient.connect(h.wsUrl)));
    for (let i = 0; i < cases.length; i++) {
      const r = await clients[i]!.request({ op: 'subscribe', channels: ['filtered'], filter: cases[i]![0] });
      assert.equal(r.ok, true);
    }
    for (let i = 0; i < events.length; i++) await h.hub.emit('filtered', events[i]!.kind, { ...events[i]!.data, n: i });
    await h.hub.emit('filtered', 'end', { end: true });
    const all = await TestClient.connect(h.wsUrl);
    await sleep(100);
    for (let i = 0; i < cases.length; i++) {
      const got = clients[i]!.events('filtered').map((e) => (e.data as { n: number }).n);
      assert.deepEqual(got, cases[i]![1], `filter ${JSON.stringify(cases[i]![0])}`);
      clients[i]!.close();
    }
    all.close();
  });

  test('connect-time ?channels= and &filter= subscribe a bare client', async () => {
    const filter = encodeURIComponent(JSON.stringify({ kinds: ['keep'] }));
    const c = await TestClient.connect(`${h.wsUrl}?channels=bare.one,bare.*&filter=${filter}`);
    await until(() => h.hub.subscriberCount('bare.one') === 2, 2000, 'subscriptions');
    await h.hub.emit('bare.one', 'drop', 1);
    await h.hub.emit('bare.one', 'keep', 2);
    const ev = await c.next((f) => f.type === 'event');
    assert.equal(ev.data, 2);
    const bad = await TestClient.connect(`${h.wsUrl}?channels=bad..name`);
    const err = await bad.next((f) => f.type === 'error');
    assert.equal((err.error as { code: string }).code, 'invalid_channel');
    assert.equal(bad.ws.readyState, WebSocket.OPEN);
    c.close();
    bad.close();
  });

  test('snapshot follows the reply for stateful channels unless snapshot: false', async () => {
    const c = await TestClient.connect(h.wsUrl);
    const r = await c.request({ op: 'subscribe', channels: ['state.x'] });
    const snap = await c.next((f) => f.type === 'snapshot');
    assert.deepEqual(snap, { type: 'snapshot', channel: 'state.x', offset: 0, data: { state: 'of state.x' } });
    assert.ok(c.frames.indexOf(r) < c.frames.indexOf(snap), 'reply comes before the snapshot');
    const d = await TestClient.connect(h.wsUrl);
    await d.request({ op: 'subscribe', channels: ['state.y'], snapshot: false });
    await sleep(50);
    assert.equal(d.frames.filter((f) => f.type === 'snapshot').length, 0);
    c.close();
    d.close();
  });

  test('call: stats and channels.history; unknown method; bad params', async () => {
    const c = await TestClient.connect(h.wsUrl);
    for (let i = 0; i < 5; i++) await h.hub.emit('hist.chan', 'k', i);
    const s = await c.request({ op: 'call', method: 'stats' });
    const stats = s.result as Record<string, unknown>;
    assert.equal(stats.node, 'test-node');
    assert.ok((stats.connections as number) >= 1);
    const hist = await c.request({
      op: 'call',
      method: 'channels.history',
      params: { channel: 'hist.chan', since: 2, limit: 2 },
    });
    const hr = hist.result as { offset: number; events: { offset: number; data: number }[] };
    assert.equal(hr.offset, 5);
    assert.deepEqual(
      hr.events.map((e) => [e.offset, e.data]),
      [
        [3, 2],
        [4, 3],
      ],
    );
    const unknown = await c.request({ op: 'call', method: 'nope' });
    assert.equal((unknown.error as { code: string }).code, 'unknown_method');
    const bad = await c.request({ op: 'call', method: 'channels.history', params: { channel: 5 } });
    assert.equal((bad.error as { code: string }).code, 'bad_request');
    c.close();
  });

  test('auth is accepted as a no-op while auth is off; ping is answered by pong with the id', async () => {
    const c = await TestClient.connect(h.wsUrl);
    const a = await c.request({ op: 'auth', token: 'anything' });
    assert.deepEqual([a.ok, a.result], [true, {}]);
    c.send({ op: 'ping', id: 'p1' });
    const pong = await c.next((f) => f.type === 'pong');
    assert.equal(pong.id, 'p1');
    assert.equal(typeof pong.ts, 'number');
    c.send({ op: 'ping' });
    await c.next((f) => f.type === 'pong' && f.id === undefined);
    c.close();
  });

  test('bad JSON, unknown op, invalid channel and wrong types get errors and leave the connection open', async () => {
    const c = await TestClient.connect(h.wsUrl);
    c.sendRaw('{not json');
    const e1 = await c.next((f) => f.type === 'error');
    assert.equal((e1.error as { code: string }).code, 'bad_request');
    const e2 = await c.request({ op: 'dance' });
    assert.deepEqual([e2.ok, (e2.error as { code: string }).code], [false, 'unknown_op']);
    const e3 = await c.request({ op: 'subscribe', channels: ['bad channel!'] });
    assert.equal((e3.error as { code: string }).code, 'invalid_channel');
    const e4 = await c.request({ op: 'subscribe', channels: 'room.a' });
    assert.equal((e4.error as { code: string }).code, 'bad_request');
    assert.match((e4.error as { message: string }).message, /channels/);
    const e5 = await c.request({ op: 'publish', channel: 'a.*', data: 1 });
    assert.equal((e5.error as { code: string }).code, 'invalid_channel');
    const e6 = await c.request({ op: 'publish', channel: 'alerts', data: 1 });
    assert.equal((e6.error as { code: string }).code, 'forbidden');
    c.sendRaw('[1,2,3]');
    await c.next((f) => f.type === 'error' && c.frames.filter((x) => x.type === 'error').length === 2);
    const ok = await c.request({ op: 'subscribe', channels: ['still.open'] });
    assert.equal(ok.ok, true);
    assert.equal(c.ws.readyState, WebSocket.OPEN);
    c.close();
  });

  test('the subscription limit answers too_many_subscriptions', async () => {
    const c = await TestClient.connect(h.wsUrl);
    const ok = await c.request({ op: 'subscribe', channels: ['l.1', 'l.2', 'l.3', 'l.4', 'l.5'] });
    assert.equal(ok.ok, true);
    const again = await c.request({ op: 'subscribe', channels: ['l.1'] });
    assert.equal(again.ok, true, 're-subscribing to the same channel does not count twice');
    const over = await c.request({ op: 'subscribe', channels: ['l.6'] });
    assert.equal((over.error as { code: string }).code, 'too_many_subscriptions');
    c.close();
  });

  test('a frame over max_payload closes with 1009', async () => {
    const c = await TestClient.connect(h.wsUrl);
    c.sendRaw(JSON.stringify({ op: 'publish', channel: 'big', data: 'x'.repeat(5000) }));
    assert.equal(await c.waitClose(), 1009);
  });

  test('MessagePack subprotocol: binary frames carrying the same objects', async () => {
    const c = await TestClient.connect(h.wsUrl, [SUBPROTOCOL_MSGPACK, 'vigil.v1.json']);
    assert.equal(c.ws.protocol, SUBPROTOCOL_MSGPACK);
    await c.request({ op: 'subscribe', channels: ['mp.x'] });
    await h.hub.emit('mp.x', 'k', { n: 1, s: 'é' });
    const ev = await c.next((f) => f.type === 'event');
    assert.deepEqual(ev.data, { n: 1, s: 'é' });
    c.close();
  });

  test('mode latest is accepted and delivers like stream while the client keeps up', async () => {
    const c = await TestClient.connect(h.wsUrl);
    const r = await c.request({ op: 'subscribe', channels: ['lat.x'], mode: 'latest' });
    assert.equal(r.ok, true);
    const bad = await c.request({ op: 'subscribe', channels: ['lat.y'], mode: 'sometimes' });
    assert.equal((bad.error as { code: string }).code, 'bad_request');
    for (let i = 0; i < 3; i++) await h.hub.emit('lat.x', 'k', { id: 'same', i });
    await c.next((f) => f.type === 'event' && (f.data as { i: number }).i === 2);
    assert.equal(c.events('lat.x').length, 3);
    c.close();
  });
});

describe('gateway origin check and rate limit', () => {
  test('a browser origin outside allowed_origins is closed with 4003', async () => {
    const h = await startHub({ gateway: { allowed_origins: ['https://ops.example.com'] } });
    const bad = new WebSocket(h.wsUrl, { headers: { origin: 'https://evil.example.net' } });
    const frames: string[] = [];
    bad.on('message', (d: Buffer) => frames.push(d.toString()));
    const code = await new Promise<number>((r) => bad.on('close', (c: number) => r(c)));
    assert.equal(code, 4003);
    assert.deepEqual(
      frames.map((f) => (JSON.parse(f) as { type: string; code: number }).type),
      ['closing'],
    );
    const good = await TestClient.connect(h.wsUrl, undefined, { headers: { origin: 'https://ops.example.com' } });
    const noOrigin = await TestClient.connect(h.wsUrl);
    assert.equal(good.ws.readyState, WebSocket.OPEN);
    good.close();
    noOrigin.close();
    await h.stop();
  });

  test('frames past the rate get rate_limited; repeated violations close with 4029', async () => {
    const h = await startHub({ gateway: { rate_limit: { messages_per_s: 10, burst: 5, max_violations: 8 } } });
    const c = await TestClient.connect(h.wsUrl);
    for (let i = 0; i < 10; i++) c.send({ op: 'ping', id: i });
    const refused = await c.next((f) => f.type === 'reply' && f.ok === false);
    assert.equal((refused.error as { code: string }).code, 'rate_limited');
    assert.equal(c.frames.filter((f) => f.type === 'pong').length, 5, 'the burst passed');
    for (let i = 0; i < 10; i++) c.send({ op: 'ping' });
    const closing = await c.next((f) => f.type === 'closing');
    assert.deepEqual([closing.code, closing.reconnect, closing.retry_after_ms], [4029, true, 5000]);
    assert.equal(await c.waitClose(), 4029);
    await h.stop();
  });
});

describe('gateway heartbeats and shutdown', () => {
  test('a client that never answers pings is closed with 4009', async () => {
    const h = await startHub({ gateway: { ping_interval: 100, pong_timeout: 150 } });
    const c = await TestClient.connect(h.wsUrl, undefined, { autoPong: false });
    const closing = c.next((f) => f.type === 'closing', 3000);
    assert.equal(await c.waitClose(3000), 4009);
    assert.equal((await closing).code, 4009);
    const alive = await TestClient.connect(h.wsUrl);
    await sleep(400);
    assert.equal(alive.ws.readyState, WebSocket.OPEN, 'a client that answers pings stays');
    alive.close();
    await h.stop();
  });

  test('stop sends closing 1001 with reconnect: true and closes every client', async () => {
    const h = await startHub();
    const clients = await Promise.all([1, 2, 3].map(() => TestClient.connect(h.wsUrl)));
    await h.stop();
    for (const c of clients) {
      const f = await c.next((x) => x.type === 'closing');
      assert.deepEqual([f.code, f.reconnect], [1001, true]);
      assert.equal(await c.waitClose(), 1001);
    }
  });
});
