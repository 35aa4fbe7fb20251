/**
 * @module limits.test
 * Connection and request limits, tried from one address as an attacker would: WebSocket sessions and SSE streams
 * per address, in total and per credential, new connections per address per minute, and HTTP requests per address
 * and per credential. Refusals are 429 (503 when the hub is full) with `Retry-After` and a registry code; the
 * limiter's own memory is bounded.
 */
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { describe, test } from 'node:test';
import WebSocket from 'ws';
import { ADMIN_KEY, READ_KEY } from '../auth/test-support.js';
import { type RunningHub, startHub, TestClient } from '../testing/hub-fixture.js';
import { RateBuckets } from './request-rate.js';

interface Refused {
  status: number;
  retryAfter: string | undefined;
  body: { error?: { code: string; details?: Record<string, unknown> } };
}

/** A WebSocket the hub accepted. */
interface Opened {
  ws: WebSocket;
  close(): void;
}

/** Opens a WebSocket: the socket once open, or what the hub answered instead of the upgrade. */
function open(url: string, headers: Record<string, string> = {}): Promise<Opened | Refused> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { headers });
    ws.once('unexpected-response', (_req, res: IncomingMessage) => {
      let text = '';
      res.on('data', (d: Buffer) => {
        text += d.toString();
      });
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'], body: JSON.parse(text) }),
      );
    });
    ws.once('open', () => resolve({ ws, close: () => ws.close() }));
    ws.once('error', () => {});
  });
}

/** The type of the first frame a new session gets (`welcome`, or `closing` when refused), then closes it. */
function firstFrame(url: string, headers: Record<string, string>): Promise<string> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { headers });
    ws.once('message', (d: Buffer) => {
      resolve(String((JSON.parse(d.toString()) as { type: string }).type));
      ws.close();
    });
    ws.once('error', () => resolve('error'));
  });
}

const isClient = (x: Opened | Refused): x is Opened => 'ws' in x;

async function withHub(overrides: Record<string, unknown>, fn: (h: RunningHub) => Promise<void>): Promise<void> {
  const h = await startHub({ metrics: { collect_interval: 0 }, ...overrides });
  try {
    await fn(h);
  } finally {
    await h.stop();
  }
}

describe('connection limits', () => {
  test('per address: the connection past the limit is refused 429 with Retry-After; SSE streams count too', () =>
    withHub({ limits: { max_connections_per_ip: 4 } }, async (h) => {
      const clients: TestClient[] = [];
      for (let i = 0; i < 4; i++) {
        const c = await TestClient.connect(h.wsUrl);
        clients.push(c);
      }
      const refused = await open(h.wsUrl);
      assert.ok(!isClient(refused), 'the fifth connection is refused');
      assert.equal(refused.status, 429);
      assert.equal(refused.body.error?.code, 'connection_limit');
      assert.deepEqual(refused.body.error?.details, { limit: 4, scope: 'ip' });
      assert.ok(Number(refused.retryAfter) >= 1);
      const sse = await fetch(`${h.url}/api/v1/stream?channels=a`);
      assert.equal(sse.status, 429, 'an SSE stream counts as a connection');
      assert.equal(((await sse.json()) as Refused['body']).error?.code, 'connection_limit');
      clients.pop()!.close();
      await clients[0]!.request({ op: 'ping' }).catch(() => undefined);
      let again: Opened | Refused = refused;
      for (let i = 0; i < 100 && !isClient(again); i++) again = await open(h.wsUrl);
      assert.ok(isClient(again), 'a closed connection frees its place');
      again.close();
      for (const c of clients) c.close();
    }));

  test('new connections per address per minute', () =>
    withHub({ limits: { new_connections_per_ip_per_minute: 10 } }, async (h) => {
      for (let i = 0; i < 10; i++) {
        const c = await open(h.wsUrl);
        assert.ok(isClient(c), `connection ${i + 1}`);
        c.close();
      }
      const refused = await open(h.wsUrl);
      assert.ok(!isClient(refused));
      assert.equal(refused.status, 429);
      assert.equal(refused.body.error?.details?.scope, 'ip_rate');
      assert.ok(Number(refused.retryAfter) >= 1 && Number(refused.retryAfter) <= 60);
    }));

  test('in total: 503 unavailable with Retry-After once the hub holds max_connections', () =>
    withHub({ limits: { max_connections: 3 } }, async (h) => {
      const clients = [await open(h.wsUrl), await open(h.wsUrl), await open(h.wsUrl)];
      assert.ok(clients.every(isClient));
      const refused = await open(h.wsUrl);
      assert.ok(!isClient(refused));
      assert.deepEqual([refused.status, refused.body.error?.code], [503, 'unavailable']);
      for (const c of clients as Opened[]) c.close();
    }));

  test('per credential: at the upgrade and with the auth op, the session past the limit is closed with 4029', () =>
    withHub(
      {
        limits: { max_connections_per_credential: 2 },
        auth: {
          api_keys: [
            { key: READ_KEY, name: 'reader', scopes: ['read'] },
            { key: ADMIN_KEY, scopes: ['admin'] },
          ],
        },
      },
      async (h) => {
        const headers = { authorization: `Bearer ${READ_KEY}` };
        const two = [await TestClient.connect(h.wsUrl, undefined, { headers })];
        two.push(await TestClient.connect(h.wsUrl, undefined, { headers }));
        const ws = new WebSocket(h.wsUrl, { headers });
        const closed = await new Promise<{ code: number; frames: string[] }>((resolve) => {
          const frames: string[] = [];
          ws.on('message', (d: Buffer) => frames.push(d.toString()));
          ws.on('close', (code: number) => resolve({ code, frames }));
        });
        assert.equal(closed.code, 4029);
        assert.match(closed.frames.join(''), /"closing".*'reader' holds 2 connections/);
        const inBand = await TestClient.connect(h.wsUrl);
        inBand.send({ op: 'auth', id: 1, token: READ_KEY });
        assert.equal(await inBand.waitClose(), 4029);
        const other = await TestClient.connect(h.wsUrl, undefined, {
          headers: { authorization: `Bearer ${ADMIN_KEY}` },
        });
        assert.equal((await other.request({ op: 'call', method: 'stats' })).ok, true, 'other credentials are not held');
        two[0]!.close();
        await two[0]!.waitClose();
        let again: string | undefined;
        for (let i = 0; i < 100 && again !== 'welcome'; i++) again = await firstFrame(h.wsUrl, headers);
        assert.equal(again, 'welcome', 'a closed session frees its place');
        two[1]!.close();
        other.close();
      },
    ));
});

describe('HTTP request limits', () => {
  test('per address: requests past the rate get 429 rate_limited with Retry-After; probes are not counted', () =>
    withHub({ limits: { requests_per_s_per_ip: 20 } }, async (h) => {
      const started = Date.now();
      const statuses: number[] = [];
      let retryAfter: string | null = null;
      let code: string | undefined;
      for (let i = 0; i < 100; i++) {
        const res = await fetch(`${h.url}/api/v1/stats`);
        statuses.push(res.status);
        if (res.status === 429) {
          retryAfter = res.headers.get('retry-after');
          code = ((await res.json()) as Refused['body']).error?.code;
        } else await res.arrayBuffer();
      }
      const elapsedS = (Date.now() - started) / 1000;
      const passed = statuses.filter((s) => s === 200).length;
      assert.ok(passed <= 40 + 20 * elapsedS + 1, `${passed} of 100 passed in ${elapsedS} s (burst 40, 20/s)`);
      assert.ok(statuses.filter((s) => s === 429).length > 0);
      assert.equal(code, 'rate_limited');
      assert.ok(Number(retryAfter) >= 1);
      for (let i = 0; i < 50; i++) assert.equal((await fetch(`${h.url}/health`)).status, 200, 'probes pass');
    }));

  test('per credential', () =>
    withHub(
      {
        limits: { requests_per_s_per_credential: 10 },
        auth: {
          api_keys: [
            { key: READ_KEY, name: 'reader', scopes: ['read'] },
            { key: ADMIN_KEY, scopes: ['admin'] },
          ],
        },
      },
      async (h) => {
        const started = Date.now();
        let passed = 0;
        for (let i = 0; i < 60; i++) {
          const res = await fetch(`${h.url}/api/v1/stats`, { headers: { authorization: `Bearer ${READ_KEY}` } });
          if (res.status === 200) passed++;
          else assert.equal(res.status, 429);
          await res.arrayBuffer();
        }
        const elapsedS = (Date.now() - started) / 1000;
        assert.ok(passed <= 20 + 10 * elapsedS + 1, `${passed} of 60 passed in ${elapsedS} s (burst 20, 10/s)`);
        const other = await fetch(`${h.url}/api/v1/stats`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } });
        assert.equal(other.status, 200, 'another credential has its own allowance');
      },
    ));

  test('the limiter forgets idle clients and tracks at most 100,000', () => {
    let now = 0;
    const buckets = new RateBuckets(() => now);
    for (let i = 0; i < 150_000; i++) buckets.take(`10.0.${i >> 8}.${i & 255}:${i}`, 10);
    assert.ok(buckets.size <= 100_000, `${buckets.size} tracked`);
    now += 60_000;
    buckets.take('late', 10);
    assert.ok(buckets.size <= 2, `${buckets.size} tracked after a quiet minute`);
  });
});
