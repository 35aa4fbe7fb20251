/**
 * @module resume.test
 * Subscriptions against the fake server: exactly-once delivery of a 20,000-event stream while the connection is
 * killed every 200 ms (with recovery that overlaps what was seen), wildcard resume, epoch changes and expired history
 * surfaced as gaps, resubscribe with backoff, overlapping subscriptions, snapshots and pattern sharing.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { VigilClient } from './client.js';
import type { GapContext, VigilEvent } from './events.js';
import { FakeServer, sleep, until } from './testing/fake-server.js';

let server: FakeServer;
let client: VigilClient;

beforeEach(async () => {
  server = await FakeServer.start();
  client = new VigilClient({ url: server.url, backoff: { minDelayMs: 10, maxDelayMs: 50 } });
});

afterEach(async () => {
  client.close();
  await server.stop();
});

function collect(sub: { on(e: 'event', fn: (e: VigilEvent) => void): unknown }): VigilEvent[] {
  const events: VigilEvent[] = [];
  sub.on('event', (e) => events.push(e));
  return events;
}

describe('resume', () => {
  test('20,000 events with the connection killed every 200 ms arrive exactly once, in order', async () => {
    const TOTAL = 20_000;
    server.recoverOverlap = 3; // recovery re-sends 3 seen events each time: the client must drop them
    const sub = client.subscribe('stream.a');
    const offsets: number[] = [];
    sub.on('event', (e) => offsets.push(e.offset));
    const gaps: GapContext[] = [];
    sub.on('gap', (g) => gaps.push(g));
    client.connect();
    await until(() => sub.state === 'subscribed', 3000, 'subscribed');
    const killer = setInterval(() => server.dropAll(), 200);
    try {
      for (let n = 1; n <= TOTAL; n++) {
        server.publish('stream.a', 'tick', { n });
        if (n % 50 === 0) await sleep(5);
      }
      await until(() => offsets.length >= TOTAL && offsets.at(-1) === TOTAL, 15_000, 'all events');
    } finally {
      clearInterval(killer);
    }
    assert.ok(server.handshakes.length >= 5, `only ${server.handshakes.length} connections`);
    assert.deepEqual(gaps, []);
    assert.equal(offsets.length, TOTAL, 'no duplicates');
    for (let i = 0; i < TOTAL; i++) if (offsets[i] !== i + 1) assert.fail(`offset ${offsets[i]} at index ${i}`);
  });

  test('a wildcard subscription recovers every channel it has seen', async () => {
    const sub = client.subscribe('w.>');
    const events = collect(sub);
    client.connect();
    await until(() => sub.state === 'subscribed');
    server.publish('w.a', 'm', 1);
    server.publish('w.b.c', 'm', 2);
    await until(() => events.length === 2);
    server.refuse = 2;
    server.dropAll();
    server.publish('w.a', 'm', 3);
    server.publish('w.b.c', 'm', 4);
    server.publish('w.a', 'm', 5);
    await until(() => events.length === 5, 3000, 'recovered events');
    assert.deepEqual(
      events.map((e) => `${e.channel}@${e.offset}=${e.data}`),
      ['w.a@1=1', 'w.b.c@1=2', 'w.a@2=3', 'w.a@3=5', 'w.b.c@2=4'],
    );
    const last = [...server.connections][0]!.received.find((f) => f.op === 'subscribe')!;
    assert.deepEqual(last.recover, {
      'w.a': { epoch: server.epoch, offset: 1 },
      'w.b.c': { epoch: server.epoch, offset: 1 },
    });
  });

  test('epoch_changed is surfaced as a gap and the channel restarts in the new epoch', async () => {
    const sub = client.subscribe('e.x');
    const events = collect(sub);
    const gaps: GapContext[] = [];
    sub.on('gap', (g) => gaps.push(g));
    client.connect();
    await until(() => sub.state === 'subscribed');
    for (let i = 1; i <= 5; i++) server.publish('e.x', 'm', `old${i}`);
    await until(() => events.length === 5);
    const oldEpoch = server.epoch;
    server.restart();
    for (let i = 1; i <= 3; i++) server.publish('e.x', 'm', `new${i}`);
    await until(() => events.length === 8, 3000, 'events of the new epoch');
    server.publish('e.x', 'm', 'new4');
    await until(() => events.length === 9);
    assert.deepEqual(gaps, [{ channel: 'e.x', from: 6, to: Number.MAX_SAFE_INTEGER, reason: 'epoch_changed' }]);
    assert.deepEqual(
      events.map((e) => `${e.offset}=${e.data}`),
      ['1=old1', '2=old2', '3=old3', '4=old4', '5=old5', '1=new1', '2=new2', '3=new3', '4=new4'],
    );
    assert.equal(events[0]!.epoch, oldEpoch);
    assert.equal(events[8]!.epoch, server.epoch);
    assert.deepEqual(sub.channelPositions.get('e.x'), { epoch: server.epoch, offset: 4 });
  });

  test('history_expired is surfaced as a gap, then what is still held arrives', async () => {
    server.historyLimit = 5;
    const sub = client.subscribe('h.x');
    const events = collect(sub);
    const gaps: GapContext[] = [];
    sub.on('gap', (g) => gaps.push(g));
    client.connect();
    await until(() => sub.state === 'subscribed');
    server.publish('h.x', 'm', 1);
    server.publish('h.x', 'm', 2);
    await until(() => events.length === 2);
    server.refuse = 1;
    server.dropAll();
    for (let i = 3; i <= 20; i++) server.publish('h.x', 'm', i);
    await until(() => events.length === 7, 3000, 'held events');
    assert.deepEqual(gaps, [{ channel: 'h.x', from: 3, to: 15, reason: 'history_expired' }]);
    assert.deepEqual(
      events.map((e) => e.offset),
      [1, 2, 16, 17, 18, 19, 20],
    );
  });
});

describe('subscriptions', () => {
  test('a transient subscribe error is retried with backoff; a permanent one ends the subscription', async () => {
    server.subscribeErrors = ['internal', 'internal'];
    const sub = client.subscribe('t.a');
    const errors: string[] = [];
    sub.on('error', ({ error, willRetry }) => errors.push(`${error.code}:${willRetry}`));
    client.connect();
    await until(() => sub.state === 'subscribed', 3000, 'subscribed after retries');
    assert.deepEqual(errors, ['internal:true', 'internal:true']);
    server.subscribeErrors = ['forbidden'];
    const denied = client.subscribe('t.secret');
    const deniedErrors: string[] = [];
    denied.on('error', ({ error, willRetry }) => deniedErrors.push(`${error.code}:${willRetry}`));
    await until(() => denied.state === 'unsubscribed');
    assert.deepEqual(deniedErrors, ['forbidden:false']);
    assert.deepEqual(client.subscriptions, [sub]);
  });

  test('subscribing while offline subscribes on connect; subscribed events say when it is a resubscribe', async () => {
    const sub = client.subscribe(['a.one', 'a.*']);
    const flags: boolean[] = [];
    sub.on('subscribed', (ctx) => flags.push(ctx.resubscribed));
    client.connect();
    await until(() => flags.length === 1);
    server.dropAll();
    await until(() => flags.length === 2);
    assert.deepEqual(flags, [false, true]);
  });

  test('overlapping subscriptions each get the events their patterns and filters take, once', async () => {
    const filtered = client.subscribe('o.*', { filter: { kinds: ['x'] } });
    const plain = client.subscribe('o.a');
    const f = collect(filtered);
    const p = collect(plain);
    client.connect();
    await until(() => filtered.state === 'subscribed' && plain.state === 'subscribed');
    server.publish('o.a', 'y', 1);
    server.publish('o.a', 'x', 2);
    server.publish('o.b', 'x', 3);
    server.publish('o.b', 'y', 4);
    await until(() => f.length === 2 && p.length === 2);
    await sleep(20);
    assert.deepEqual(
      f.map((e) => e.data),
      [2, 3],
    );
    assert.deepEqual(
      p.map((e) => e.data),
      [1, 2],
    );
  });

  test('snapshots of stateful channels are delivered after subscribing', async () => {
    server.snapshots.set('system.status', { status: 'ok' });
    const sub = client.subscribe('system.status');
    const snaps: unknown[] = [];
    sub.on('snapshot', (s) => snaps.push(s.data));
    client.connect();
    await until(() => snaps.length === 1);
    assert.deepEqual(snaps, [{ status: 'ok' }]);
    const quiet = client.subscribe('system.status', { snapshot: false });
    await until(() => quiet.state === 'subscribed');
    assert.equal([...server.connections][0]!.received.at(-1)!.snapshot, false);
  });

  test('a pattern is shared by subscriptions with the same options and unsubscribed with the last one', async () => {
    client.connect();
    await until(() => client.state === 'connected');
    const a = client.subscribe('s.x');
    const b = client.subscribe('s.x');
    assert.throws(() => client.subscribe('s.x', { mode: 'latest' }), { code: 'subscription_conflict' });
    assert.throws(() => client.subscribe('bad..name'), { code: 'invalid_pattern' });
    await until(() => a.state === 'subscribed' && b.state === 'subscribed');
    const conn = [...server.connections][0]!;
    a.unsubscribe();
    await sleep(30);
    assert.ok(conn.subs.has('s.x'), 'still used by b');
    b.unsubscribe();
    await until(() => !conn.subs.has('s.x'), 2000, 'unsubscribe sent');
    assert.deepEqual(client.subscriptions, []);
  });
});
