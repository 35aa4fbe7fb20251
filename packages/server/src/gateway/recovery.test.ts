/**
 * @module recovery.test
 * Recovery on real sockets: a client forcibly disconnected again and again during a long stream resumes from its
 * last offset and receives every event exactly once, in order; positions that history no longer holds, or that
 * belong to another epoch, produce a `gap` before what is still there.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type Frame, type RunningHub, sleep, startHub, TestClient } from '../testing/hub-fixture.js';

describe('recovery', () => {
  let h: RunningHub;
  before(async () => {
    h = await startHub({
      history: {
        channels: [
          { pattern: 'rec.>', max_events: 20_000 },
          { pattern: 'short.>', max_events: 10 },
        ],
      },
    });
  });
  after(() => h.stop());

  test('12,000 events with a forced disconnect every ~100 ms arrive exactly once and in order', async () => {
    const total = 12_000;
    const channel = 'rec.stream';
    const received: number[] = [];
    // The client knows the stream from its start: it resumes from offset 0 on the first connection too.
    const { epoch } = await h.hub.broker.position(channel);
    let last = 0;
    let done = false;
    let reconnects = 0;

    const publisher = (async () => {
      for (let i = 1; i <= total; i++) {
        await h.hub.emit(channel, 'tick', { i });
        if (i % 5 === 0) await sleep(1);
      }
    })();

    const consumer = (async () => {
      while (!done) {
        const c = await TestClient.connect(h.wsUrl);
        const frame = { op: 'subscribe', channels: ['rec.>'], recover: { [channel]: { epoch, offset: last } } };
        const from = c.frames.length;
        const reply = await c.request(frame);
        assert.equal(reply.ok, true, JSON.stringify(reply));
        let seen = from;
        const killAt = Date.now() + 60 + Math.random() * 80;
        while (Date.now() < killAt && !done) {
          await sleep(5);
          for (; seen < c.frames.length; seen++) {
            const f: Frame = c.frames[seen]!;
            if (f.type === 'gap') assert.fail(`unexpected gap ${JSON.stringify(f)}`);
            if (f.type !== 'event' || f.channel !== channel) continue;
            received.push(f.offset as number);
            last = f.offset as number;
            if (last === total) done = true;
          }
        }
        // Server-side and client-side kills, alternating.
        if (reconnects % 2 === 0) c.terminate();
        else for (const conn of h.hub.gateway.connections) conn.ws.terminate();
        reconnects++;
        await sleep(2);
      }
    })();

    await publisher;
    await consumer;
    assert.ok(reconnects >= 10, `the stream was cut ${reconnects} times`);
    assert.equal(received.length, total, 'no loss and no duplicates');
    for (let i = 0; i < total; i++) assert.equal(received[i], i + 1);
  });

  test('a position older than history gets a history_expired gap, then what is left', async () => {
    let epoch = '';
    for (let i = 1; i <= 30; i++) epoch = (await h.hub.emit('short.x', 'k', i)).epoch;
    const gapsBefore = (await h.hub.stats()).gaps;
    const c = await TestClient.connect(h.wsUrl);
    const reply = await c.request({
      op: 'subscribe',
      channels: ['short.x'],
      recover: { 'short.x': { epoch, offset: 5 } },
    });
    const sub = (reply.result as { subscriptions: { recovered: boolean; offset: number }[] }).subscriptions[0]!;
    assert.deepEqual([sub.recovered, sub.offset], [false, 30]);
    const gap = await c.next((f) => f.type === 'gap');
    assert.deepEqual(gap, { type: 'gap', channel: 'short.x', from: 6, to: 20, reason: 'history_expired' });
    await c.next((f) => f.type === 'event' && f.offset === 30);
    assert.deepEqual(
      c.events().map((e) => e.offset),
      Array.from({ length: 10 }, (_, i) => 21 + i),
    );
    assert.ok(c.frames.indexOf(gap) < c.frames.indexOf(c.events()[0]!), 'the gap comes before the events');
    assert.equal((await h.hub.stats()).gaps, gapsBefore + 1, 'stats count the gap');
    c.close();
  });

  test('a position from another epoch gets an epoch_changed gap, then the history of the current epoch', async () => {
    await h.hub.emit('rec.epoch', 'k', 1);
    await h.hub.emit('rec.epoch', 'k', 2);
    const c = await TestClient.connect(h.wsUrl);
    const reply = await c.request({
      op: 'subscribe',
      channels: ['rec.epoch'],
      recover: { 'rec.epoch': { epoch: 'old-epoch', offset: 7 } },
    });
    assert.equal((reply.result as { subscriptions: { recovered: boolean }[] }).subscriptions[0]!.recovered, false);
    const gap = await c.next((f) => f.type === 'gap');
    assert.equal(gap.reason, 'epoch_changed');
    assert.equal(gap.from, 8);
    await c.next((f) => f.type === 'event' && f.offset === 2);
    assert.deepEqual(
      c.events().map((e) => e.data),
      [1, 2],
    );
    c.close();
  });

  test('recovery with nothing missed is complete and adds no events', async () => {
    const ev = await h.hub.emit('rec.none', 'k', 1);
    const c = await TestClient.connect(h.wsUrl);
    const reply = await c.request({
      op: 'subscribe',
      channels: ['rec.none'],
      recover: { 'rec.none': { epoch: ev.epoch, offset: 1 } },
    });
    assert.equal((reply.result as { subscriptions: { recovered: boolean }[] }).subscriptions[0]!.recovered, true);
    await h.hub.emit('rec.none', 'k', 2);
    await c.next((f) => f.type === 'event');
    assert.deepEqual(
      c.events().map((e) => e.offset),
      [2],
    );
    const bad = await c.request({
      op: 'subscribe',
      channels: ['rec.a'],
      recover: { 'other.b': { epoch: ev.epoch, offset: 0 } },
    });
    assert.equal((bad.error as { code: string }).code, 'bad_request');
    c.close();
  });
});
