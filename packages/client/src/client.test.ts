/**
 * @module client.test
 * VigilClient against the fake server: the state machine, requests and their errors, timeouts, `closing` handling
 * (reconnect false, retry_after_ms), refused upgrades, the heartbeat, MessagePack, and tokens (header, query, 4001).
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { VigilClient } from './client.js';
import { VigilClientError } from './errors.js';
import type { ReconnectingContext, StateContext, VigilClientOptions } from './index.js';
import { FakeError, FakeServer, sleep, until } from './testing/fake-server.js';

let server: FakeServer;
const clients: VigilClient[] = [];

function client(options: Partial<VigilClientOptions> = {}): VigilClient {
  const c = new VigilClient({ url: server.url, backoff: { minDelayMs: 10, maxDelayMs: 50 }, ...options });
  clients.push(c);
  return c;
}

function states(c: VigilClient): StateContext[] {
  const seen: StateContext[] = [];
  c.on('state', (s) => seen.push(s));
  return seen;
}

async function connected(c: VigilClient): Promise<void> {
  if (c.state === 'disconnected') c.connect();
  await until(() => c.state === 'connected', 5000, 'connected');
}

beforeEach(async () => {
  server = await FakeServer.start();
});

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await server.stop();
});

describe('state machine', () => {
  test('disconnected -> connecting -> connected -> reconnecting -> connected -> closed', async () => {
    const c = client();
    const seen = states(c);
    assert.equal(c.state, 'disconnected');
    await connected(c);
    assert.equal(c.welcome?.node, 'fake');
    server.dropAll();
    await until(() => seen.some((s) => s.newState === 'reconnecting'), 2000, 'reconnecting');
    await until(() => c.state === 'connected', 2000, 'reconnected');
    c.close();
    assert.deepEqual(
      seen.map((s) => `${s.oldState}>${s.newState}`),
      [
        'disconnected>connecting',
        'connecting>connected',
        'connected>reconnecting',
        'reconnecting>connected',
        'connected>closed',
      ],
    );
    assert.equal(seen[2]!.code, 1006);
    assert.equal(seen[4]!.code, 1000);
    assert.throws(
      () => c.connect(),
      (e: VigilClientError) => e.code === 'client_closed',
    );
  });

  test('each reconnect attempt is numbered, in the state context and the reconnecting event, until a welcome', async () => {
    const c = client();
    const seen = states(c);
    const attempts: ReconnectingContext[] = [];
    c.on('reconnecting', (r) => attempts.push(r));
    await connected(c);
    assert.equal(c.reconnectAttempt, 0);
    server.refuse = 2;
    server.dropAll();
    await until(() => attempts.length === 3, 5000, 'three attempts');
    await until(() => c.state === 'connected', 5000, 'reconnected');
    assert.deepEqual(
      attempts.map((a) => a.attempt),
      [1, 2, 3],
    );
    assert.equal(attempts[0]!.code, 1006);
    assert.ok(attempts.every((a) => a.delayMs >= 0));
    assert.equal(seen.find((s) => s.newState === 'reconnecting')?.attempt, 1);
    assert.equal(c.reconnectAttempt, 0);
    server.dropAll();
    await until(() => attempts.length === 4, 5000, 'a fourth drop');
    assert.equal(attempts[3]!.attempt, 1, 'numbering restarts after a welcome');
  });

  test('the connected event says whether it is a reconnect', async () => {
    const c = client();
    const flags: boolean[] = [];
    c.on('connected', (ctx) => flags.push(ctx.reconnected));
    await connected(c);
    server.dropAll();
    await until(() => flags.length === 2, 2000, 'second connect');
    assert.deepEqual(flags, [false, true]);
  });

  test('closing with reconnect: false ends in disconnected without retry; connect() starts again', async () => {
    const c = client();
    const seen = states(c);
    await connected(c);
    server.closeAll(4003, 'forbidden origin', false);
    await until(() => c.state === 'disconnected', 2000, 'disconnected');
    assert.deepEqual(seen.at(-1), {
      oldState: 'connected',
      newState: 'disconnected',
      code: 4003,
      reason: 'forbidden origin',
      attempt: 0,
    });
    await sleep(150);
    assert.equal(server.handshakes.length, 1, 'no reconnect attempt');
    await connected(c);
    assert.equal(server.handshakes.length, 2);
  });

  test('closing retry_after_ms delays the reconnect at least that long', async () => {
    const c = client();
    await connected(c);
    const delays: number[] = [];
    c.on('reconnecting', (e) => delays.push(e.delayMs));
    server.closeAll(1001, 'server shutdown', true, 300);
    await until(() => server.handshakes.length === 2, 10_000, 'reconnect');
    assert.ok(delays.length === 1 && delays[0]! >= 300, `the reconnect waited ${delays[0]} ms`);
    await until(() => c.state === 'connected');
  });

  test('refused upgrades are retried with backoff until one succeeds', async () => {
    server.refuse = 3;
    const c = client();
    const seen = states(c);
    c.connect();
    await until(() => c.state === 'connected', 3000, 'connected');
    assert.equal(server.refuse, 0);
    assert.deepEqual(
      seen.map((s) => s.newState),
      ['connecting', 'reconnecting', 'connected'],
    );
  });

  test('a dead link is detected by the heartbeat and replaced', async () => {
    const c = client({ heartbeatIntervalMs: 40, heartbeatTimeoutMs: 60 });
    const seen = states(c);
    await connected(c);
    await sleep(150);
    assert.equal(c.state, 'connected', 'pongs keep the link alive');
    const dead = [...server.connections][0]!;
    dead.silent = true;
    await until(() => seen.some((s) => s.newState === 'reconnecting'), 2000, 'heartbeat timeout');
    assert.equal(seen.find((s) => s.newState === 'reconnecting')?.code, 3001);
    await until(() => c.state === 'connected', 2000, 'reconnected');
    assert.equal(server.handshakes.length, 2);
  });

  test('the default heartbeat follows the welcome, capped at 15 s', async () => {
    server.heartbeat = { interval_ms: 50, timeout_ms: 100 };
    const c = client();
    await connected(c);
    await until(
      () =>
        server.connections
          .values()
          .next()
          .value!.received.some((f) => f.op === 'ping'),
      1000,
      'ping',
    );
  });
});

describe('requests', () => {
  test('publish and call resolve with the result', async () => {
    server.methods.set('echo', (params) => ({ params }));
    const c = client();
    await connected(c);
    assert.deepEqual(await c.publish('demo.a', { n: 1 }, 'tick'), {
      channel: 'demo.a',
      offset: 1,
      epoch: server.epoch,
    });
    assert.equal(server.log('demo.a')[0]!.kind, 'tick');
    assert.deepEqual(await c.call('echo', { x: 1 }), { params: { x: 1 } });
    assert.ok((await c.ping()) >= 0);
  });

  test('a failed reply rejects with the hub code, message and details', async () => {
    server.methods.set('boom', () => {
      throw new FakeError('not_found', 'no such thing', { id: 'x' });
    });
    const c = client();
    await connected(c);
    await assert.rejects(c.call('nope'), (e: VigilClientError) => {
      assert.ok(e instanceof VigilClientError);
      assert.equal(e.code, 'unknown_method');
      assert.equal(e.fromServer, true);
      assert.deepEqual(e.details, { method: 'nope' });
      return true;
    });
    await assert.rejects(c.call('boom'), { code: 'not_found', message: 'no such thing', details: { id: 'x' } });
  });

  test('no reply within requestTimeoutMs rejects with timeout', async () => {
    server.replyDelayMs = 300;
    const c = client({ requestTimeoutMs: 100 });
    await connected(c);
    await assert.rejects(c.call('stats'), { code: 'timeout' });
  });

  test('requests in flight when the link drops reject with disconnected', async () => {
    server.replyDelayMs = 200;
    const c = client();
    await connected(c);
    const p = c.call('stats');
    await sleep(20);
    server.dropAll();
    await assert.rejects(p, { code: 'disconnected' });
  });

  test('close() rejects pending and queued requests with client_closed', async () => {
    const c = client();
    const queued = c.publish('demo.a', 1);
    c.close();
    await assert.rejects(queued, { code: 'client_closed' });
    await assert.rejects(c.publish('demo.a', 2), { code: 'client_closed' });
  });

  test('msgpack encoding negotiates vigil.v1.msgpack and round-trips', async () => {
    server.methods.set('echo', (params) => params);
    const c = client({ encoding: 'msgpack' });
    await connected(c);
    assert.equal(server.handshakes[0]!.protocol, 'vigil.v1.msgpack');
    assert.deepEqual(await c.call('echo', { a: [1, 2.5, 'x'], b: null }), { a: [1, 2.5, 'x'], b: null });
    const sub = c.subscribe('bin.x');
    const got: unknown[] = [];
    sub.on('event', (e) => got.push(e.data));
    await until(() => sub.state === 'subscribed');
    server.publish('bin.x', 'message', { v: 1 });
    await until(() => got.length === 1);
    assert.deepEqual(got, [{ v: 1 }]);
  });

  test('an error frame is reported on the client error event', async () => {
    const c = client();
    await connected(c);
    const errors: string[] = [];
    c.on('error', ({ error }) => errors.push(error.code));
    server.connections.values().next().value!.replyError(undefined, 'bad_request', 'Invalid JSON');
    await until(() => errors.length === 1);
    assert.deepEqual(errors, ['bad_request']);
  });
});

describe('tokens', () => {
  test('under Node with ws the token goes in the Authorization header', async () => {
    const c = client({ getToken: async () => 'secret-1' });
    await connected(c);
    assert.equal(server.handshakes[0]!.headers.authorization, 'Bearer secret-1');
    assert.ok(!server.handshakes[0]!.url.includes('token='));
  });

  test("tokenTransport 'query' puts it in ?token=", async () => {
    const c = client({ getToken: () => 'q/1', tokenTransport: 'query' });
    await connected(c);
    assert.equal(server.handshakes[0]!.token, 'q/1');
    assert.equal(server.handshakes[0]!.headers.authorization, undefined);
  });

  test('a 4001 close calls the provider again and reconnects with the new token', async () => {
    let calls = 0;
    const c = client({ getToken: async () => `token-${++calls}` });
    server.onConnection = (conn, hs) => {
      if (hs.token === 'token-1') conn.close(4001, 'token expired', false);
    };
    const seen = states(c);
    c.connect();
    await until(() => server.handshakes.length === 2 && c.state === 'connected', 3000, 'second connection');
    assert.deepEqual(
      server.handshakes.map((h) => h.token),
      ['token-1', 'token-2'],
    );
    assert.equal(calls, 2);
    assert.ok(seen.some((s) => s.newState === 'reconnecting' && s.code === 4001));
    server.dropAll();
    await until(() => server.handshakes.length === 3 && c.state === 'connected', 3000, 'third connection');
    assert.equal(calls, 2, 'other closes reuse the token');
    assert.equal(server.handshakes[2]!.token, 'token-2');
  });

  test('refreshToken() sends the new token in-band with auth', async () => {
    let calls = 0;
    const c = client({ getToken: () => `t${++calls}` });
    await connected(c);
    await c.refreshToken();
    assert.deepEqual(server.authTokens, ['t2']);
  });

  test('a failing provider is reported and retried with backoff', async () => {
    let calls = 0;
    const c = client({
      getToken: async () => {
        if (++calls < 3) throw new Error('idp down');
        return 'ok';
      },
    });
    const errors: string[] = [];
    c.on('error', ({ error }) => errors.push(error.code));
    await connected(c);
    assert.deepEqual(errors, ['token_failed', 'token_failed']);
    assert.equal(server.handshakes[0]!.token, 'ok');
  });
});
