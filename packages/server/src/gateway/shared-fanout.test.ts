/**
 * @module shared-fanout.test
 * Fan-out groups (shared-batch.ts): plain subscribers of a channel get one shared buffer per flush, by reference;
 * filtered, `latest`, msgpack, compressed, overlapping and SSE subscribers on the same channel each get exactly what
 * their subscription asks for; a client under queue pressure is gapped exactly while the others keep sharing; a
 * client's own frames keep their order around the shared batches; recovery and membership changes lose nothing.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { SUBPROTOCOL_MSGPACK } from '@vigil/protocol';
import type { Broker } from '../broker/broker.js';
import { HistoryPolicies } from '../broker/history-policy.js';
import { MemoryBroker } from '../broker/memory-broker.js';
import { type Frame, type RunningHub, sleep, startHub, TestClient, until } from '../testing/hub-fixture.js';
import type { Connection } from './connection.js';

function offsets(c: TestClient, channel: string): number[] {
  return c.events(channel).map((f) => f.offset as number);
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

/** The hub's side of a test client (found by the session its welcome named). */
function connFor(h: RunningHub, client: TestClient): Connection {
  const session = client.frames[0]!.session;
  const conn = [...h.hub.gateway.connections].find((c) => c.session === session);
  assert.ok(conn, 'the connection is registered');
  return conn;
}

/** Records what the hub writes to a connection's socket. */
function recordWrites(conn: Connection): unknown[] {
  const writes: unknown[] = [];
  const socket = conn.socket as unknown as { write: (...args: unknown[]) => boolean };
  const write = socket.write.bind(socket);
  socket.write = (...args: unknown[]) => {
    writes.push(args[0]);
    return write(...args);
  };
  return writes;
}

/** The memory broker delivers within emit(): emits in a row are one turn, whatever the suite's engine. */
function memoryBroker(): MemoryBroker {
  return new MemoryBroker({ policies: new HistoryPolicies({ max_events: 1000, max_age_ms: 600_000 }) });
}

/** A raw Server-Sent Events client: the text received so far. */
function openSse(h: RunningHub, path: string): { text: () => string; close: () => void } {
  let text = '';
  const req = request({ host: '127.0.0.1', port: Number(new URL(h.url).port), path });
  req.on('response', (res) => res.on('data', (d: Buffer) => (text += d.toString())));
  req.on('error', () => {});
  req.end();
  return { text: () => text, close: () => req.destroy() };
}

describe('shared fan-out', () => {
  let h: RunningHub;
  before(async () => {
    h = await startHub({ gateway: { max_queue_bytes: 64 * 1024, slow_consumer_timeout: 60_000 } });
  });
  after(() => h.stop());

  test('plain subscribers of a channel share one group and get the same buffer, one write per flush', async (t) => {
    const h = await startHub({}, { broker: memoryBroker() });
    t.after(() => h.stop());
    const before = h.hub.gateway.subscriptions.groupStats;
    const clients = await Promise.all(Array.from({ length: 5 }, () => TestClient.connect(h.wsUrl)));
    for (const c of clients) await c.request({ op: 'subscribe', channels: ['share.a'] });
    assert.deepEqual(h.hub.gateway.subscriptions.groupStats, {
      groups: before.groups + 1,
      members: before.members + 5,
    });
    const conns = clients.map((c) => connFor(h, c));
    const writes = conns.map(recordWrites);
    // Ten events in one turn: one flush.
    for (let i = 1; i <= 10; i++) void h.hub.emit('share.a', 'k', { i });
    for (const c of clients) await until(() => c.events('share.a').length === 10, 5000, 'ten events');
    for (const w of writes) assert.equal(w.length, 1, 'one write per client');
    const first = writes[0]![0];
    assert.ok(Buffer.isBuffer(first));
    for (const w of writes) assert.equal(w[0], first, 'the very same buffer object for every client');
    for (const c of clients) {
      assert.deepEqual(offsets(c, 'share.a'), range(1, 10));
      c.close();
    }
    await until(() => h.hub.gateway.subscriptions.groupStats.members === before.members, 5000, 'members leave');
    assert.equal(h.hub.gateway.subscriptions.groupStats.groups, before.groups, 'the empty group is gone');
  });

  test('mixed subscribers on one channel each get what their subscription asks for, once and in order', async (t) => {
    // With compression offered: a client that takes it is written frame by frame, outside the groups.
    const hz = await startHub({ gateway: { compression: true } });
    t.after(() => hz.stop());
    const ch = 'mix.a';
    const raw = { perMessageDeflate: false };
    const plain = await TestClient.connect(hz.wsUrl, undefined, raw);
    const packed = await TestClient.connect(hz.wsUrl, SUBPROTOCOL_MSGPACK, raw);
    const errorsA = await TestClient.connect(hz.wsUrl, undefined, raw);
    const errorsB = await TestClient.connect(hz.wsUrl, undefined, raw);
    const latest = await TestClient.connect(hz.wsUrl, undefined, raw);
    const deflated = await TestClient.connect(hz.wsUrl);
    const both = await TestClient.connect(hz.wsUrl, undefined, raw);
    const wild = await TestClient.connect(hz.wsUrl, undefined, raw);
    await plain.request({ op: 'subscribe', channels: [ch] });
    await packed.request({ op: 'subscribe', channels: [ch] });
    await errorsA.request({ op: 'subscribe', channels: [ch], filter: { min_severity: 'error' } });
    await errorsB.request({ op: 'subscribe', channels: [ch], filter: { min_severity: 'error' } });
    await latest.request({ op: 'subscribe', channels: [ch], mode: 'latest' });
    await deflated.request({ op: 'subscribe', channels: [ch] });
    await both.request({ op: 'subscribe', channels: [ch, 'mix.>'] });
    await wild.request({ op: 'subscribe', channels: ['mix.*'] });
    const sse = openSse(hz, `/api/v1/stream?channels=${ch}`);
    await until(() => hz.hub.subscriberCount(ch) === 10, 5000, 'ten subscriptions');
    // The SSE stream's subscribe has no reply to wait for.
    await until(() => hz.hub.gateway.subscriptions.groupStats.members === 6, 5000, 'six group members');

    const shared = (c: TestClient) => connFor(hz, c).sharedSubs;
    assert.deepEqual([plain, packed, errorsA, errorsB, wild].map(shared), [1, 1, 1, 1, 1]);
    assert.deepEqual([latest, deflated, both].map(shared), [0, 0, 0], 'latest, compressed, overlapping: one by one');
    assert.match(deflated.ws.extensions, /permessage-deflate/);
    // plain and msgpack share one group, the two equal filters another, the wildcard and the SSE stream their own.
    assert.deepEqual(hz.hub.gateway.subscriptions.groupStats, { groups: 3, members: 6 });

    const severities = ['info', 'warning', 'error', 'critical'];
    const total = 200;
    for (let i = 1; i <= total; i++) {
      void hz.hub.emit(ch, 'k', { i, severity: severities[i % 4] });
      if (i % 37 === 0) await new Promise((r) => setImmediate(r));
    }
    const all = range(1, total);
    const severe = all.filter((i) => i % 4 >= 2);
    for (const c of [plain, packed, latest, deflated, both, wild]) {
      await until(() => offsets(c, ch).at(-1) === total, 5000, 'the last event');
      assert.deepEqual(offsets(c, ch), all);
    }
    for (const c of [errorsA, errorsB]) {
      await until(() => offsets(c, ch).at(-1) === severe.at(-1), 5000, 'the last severe event');
      assert.deepEqual(offsets(c, ch), severe);
    }
    assert.deepEqual(packed.events(ch)[4]!.data, { i: 5, severity: 'warning' }, 'msgpack carries the same event');
    await until(() => sse.text().includes(`:${total}\n`), 5000, 'the SSE stream');
    const ids = [...sse.text().matchAll(/^id: mix\.a@[^:]+:(\d+)$/gm)].map((m) => Number(m[1]));
    assert.deepEqual(ids, all);
    for (const c of [plain, packed, errorsA, errorsB, latest, deflated, both, wild]) {
      assert.equal(c.frames.filter((f) => f.type === 'gap').length, 0);
      c.close();
    }
    sse.close();
  });

  test('a stuck client is gapped exactly while the others keep sharing the batch', async () => {
    const ch = 'press.a';
    const port = Number(new URL(h.url).port);
    const stuck = connect(port, '127.0.0.1');
    await new Promise<void>((r) => stuck.once('connect', () => r()));
    stuck.write(
      `GET /ws?channels=${ch} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    );
    stuck.pause();
    stuck.on('error', () => {});
    const good = await Promise.all(Array.from({ length: 3 }, () => TestClient.connect(h.wsUrl)));
    for (const c of good) await c.request({ op: 'subscribe', channels: [ch] });
    await until(() => h.hub.subscriberCount(ch) === 4, 5000, 'four subscriptions');
    const stuckConn = [...h.hub.gateway.connections].find((c) => c.subs.has(ch) && c.messagesIn === 0)!;
    assert.equal(stuckConn.sharedSubs, 1);

    const payload = 'p'.repeat(1000);
    const drops = h.hub.counters.queue.drops;
    let maxPending = 0;
    let published = 0;
    while (h.hub.counters.queue.drops - drops < 200 && published < 20_000) {
      for (let i = 0; i < 10; i++) {
        published++;
        void h.hub.emit(ch, 'blob', { payload, n: published });
      }
      await new Promise((r) => setImmediate(r));
      maxPending = Math.max(maxPending, stuckConn.pendingBytes());
      for (const c of good) await until(() => c.events(ch).length === published, 5000, 'good clients keep up');
    }
    assert.ok(h.hub.counters.queue.drops - drops >= 200, 'the stuck client overflowed');
    assert.ok(maxPending <= 64 * 1024 + 1100, `pending bytes peaked at ${maxPending}`);
    assert.equal(stuckConn.sharedSubs, 1, 'the stuck client stays in the group');
    for (const c of good) assert.equal(c.frames.filter((f) => f.type === 'gap').length, 0);
    assert.deepEqual(
      good.map((c) => connFor(h, c).sharedSubs),
      [1, 1, 1],
      'the good clients are members too',
    );

    // The stuck client reads again: every offset arrives either as an event or inside exactly one gap, in order.
    const frames: Frame[] = [];
    let rest = Buffer.alloc(0);
    let upgraded = false;
    stuck.on('data', (chunk: Buffer) => {
      rest = Buffer.concat([rest, chunk]);
      if (!upgraded) {
        const end = rest.indexOf('\r\n\r\n');
        if (end < 0) return;
        rest = rest.subarray(end + 4);
        upgraded = true;
      }
      while (rest.length >= 2) {
        let len = rest[1]! & 0x7f;
        let at = 2;
        if (len === 126) {
          if (rest.length < 4) return;
          len = rest.readUInt16BE(2);
          at = 4;
        } else if (len === 127) {
          if (rest.length < 10) return;
          len = Number(rest.readBigUInt64BE(2));
          at = 10;
        }
        if (rest.length < at + len) return;
        if ((rest[0]! & 0x0f) === 1) frames.push(JSON.parse(rest.toString('utf8', at, at + len)) as Frame);
        rest = rest.subarray(at + len);
      }
    });
    stuck.resume();
    void h.hub.emit(ch, 'blob', { payload: 'end', n: published + 1 });
    await until(() => frames.some((f) => f.type === 'event' && f.offset === published + 1), 5000, 'the last event');
    const seen: number[] = [];
    for (const f of frames) {
      if (f.type === 'event' && f.channel === ch) seen.push(f.offset as number);
      if (f.type === 'gap') {
        assert.equal(f.reason, 'slow_consumer');
        seen.push(...range(f.from as number, f.to as number));
      }
    }
    assert.deepEqual(seen, range(1, published + 1), 'each offset once, in order, as an event or in a gap');
    assert.ok(frames.some((f) => f.type === 'gap'));
    stuck.destroy();
    for (const c of good) c.close();
  });

  test("a client's own frames keep their order around the shared batch", async (t) => {
    // Everything below happens in one turn.
    const hm = await startHub({}, { broker: memoryBroker() });
    t.after(() => hm.stop());
    const ch = 'order.a';
    const c = await TestClient.connect(hm.wsUrl);
    const other = await TestClient.connect(hm.wsUrl);
    await c.request({ op: 'subscribe', channels: [ch] });
    await other.request({ op: 'subscribe', channels: [ch] });
    const conn = connFor(hm, c);
    assert.equal(conn.sharedSubs, 1);
    // In one turn: three events, a frame of the client's own, three more events, an unsubscribe, a last frame of its
    // own, two more events.
    for (let i = 1; i <= 3; i++) void hm.hub.emit(ch, 'k', { i });
    hm.hub.gateway.sendControl(conn, { type: 'pong', ts: 1 }, 'pong');
    for (let i = 4; i <= 6; i++) void hm.hub.emit(ch, 'k', { i });
    hm.hub.gateway.subscriptions.unsubscribe(conn, [ch]);
    hm.hub.gateway.sendControl(conn, { type: 'pong', ts: 2 }, 'pong');
    for (let i = 7; i <= 8; i++) void hm.hub.emit(ch, 'k', { i });
    await c.next((f) => f.type === 'pong' && f.ts === 2, 5000);
    await until(() => offsets(other, ch).length === 8, 5000, 'the other client gets all');
    const seq = c.frames
      .filter((f) => f.type === 'event' || f.type === 'pong')
      .map((f) => (f.type === 'pong' ? `pong${f.ts}` : String(f.offset)));
    assert.deepEqual(seq, ['1', '2', '3', 'pong1', '4', '5', '6', 'pong2']);
    assert.deepEqual(offsets(other, ch), range(1, 8));
    c.close();
    other.close();
  });

  test('overlapping patterns leave the group and come back; every event arrives once, in order', async (t) => {
    // A broker slow to start watching a pattern: the second subscribe stays in flight while events flow.
    const inner = memoryBroker();
    const slow = Object.assign(Object.create(inner) as Broker, {
      watch: async (pattern: string) => {
        await sleep(30);
        return inner.watch(pattern);
      },
    });
    const h = await startHub({}, { broker: slow });
    t.after(() => h.stop());
    const c = await TestClient.connect(h.wsUrl);
    await c.request({ op: 'subscribe', channels: ['ovl.a'] });
    const conn = connFor(h, c);
    assert.equal(conn.sharedSubs, 1);
    let n = 0;
    const burst = async (count: number) => {
      for (let i = 0; i < count; i++) void h.hub.emit('ovl.a', 'k', { n: ++n });
      await new Promise((r) => setImmediate(r));
    };
    await burst(5);
    // The overlapping subscribe runs while events keep coming: they reach the client once, through the first
    // subscription, or held for the second until its reply.
    const added = c.request({ op: 'subscribe', channels: ['ovl.>'] });
    await until(() => conn.subs.has('ovl.>'), 5000, 'the subscribe in flight');
    await burst(5);
    await added;
    assert.equal(conn.sharedSubs, 0);
    await burst(5);
    const removed = c.request({ op: 'unsubscribe', channels: ['ovl.>'] });
    await burst(5);
    await removed;
    assert.equal(conn.sharedSubs, 1, 'alone again, it shares again');
    await burst(5);
    await until(() => offsets(c, 'ovl.a').length >= 25, 5000, 'all events');
    assert.deepEqual(offsets(c, 'ovl.a'), range(1, 25));
    c.close();
  });

  test('a plain subscriber that reconnects and recovers gets exactly what it missed, then shares again', async () => {
    const ch = 'rec.a';
    const keep = await TestClient.connect(h.wsUrl);
    await keep.request({ op: 'subscribe', channels: [ch] });
    let c = await TestClient.connect(h.wsUrl);
    const r = await c.request({ op: 'subscribe', channels: [ch] });
    const epoch = (r.result as { subscriptions: { epoch: string }[] }).subscriptions[0]!.epoch;
    for (let i = 1; i <= 10; i++) void h.hub.emit(ch, 'k', { i });
    await until(() => offsets(c, ch).length === 10, 5000, 'ten events');
    c.terminate();
    for (let i = 11; i <= 20; i++) void h.hub.emit(ch, 'k', { i });
    c = await TestClient.connect(h.wsUrl);
    const pending = c.request({ op: 'subscribe', channels: [ch], recover: { [ch]: { epoch, offset: 10 } } });
    for (let i = 21; i <= 30; i++) void h.hub.emit(ch, 'k', { i });
    const reply = await pending;
    assert.equal((reply.result as { subscriptions: { recovered: boolean }[] }).subscriptions[0]!.recovered, true);
    for (let i = 31; i <= 40; i++) void h.hub.emit(ch, 'k', { i });
    await until(() => offsets(c, ch).at(-1) === 40, 5000, 'the last event');
    assert.deepEqual(offsets(c, ch), range(11, 40));
    assert.equal(connFor(h, c).sharedSubs, 1, 'the recovered subscription shares again');
    assert.deepEqual(offsets(keep, ch), range(1, 40));
    c.close();
    keep.close();
  });
});
