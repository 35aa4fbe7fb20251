/**
 * @module http-auth.test
 * HTTP auth on a real hub: public routes, 401 with `WWW-Authenticate`, 403 for scopes and channels (registry codes
 * in the body), ingest and admin routes, `?token=` on the SSE stream only, and an SSE stream that ends when its JWT
 * expires.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type RunningHub, startHub } from '../testing/hub-fixture.js';
import { ADMIN_KEY, PUB_KEY, READ_KEY, SECRET, token } from './test-support.js';

describe('HTTP auth', () => {
  let h: RunningHub;
  before(async () => {
    h = await startHub({
      auth: {
        jwt: { secret: SECRET },
        api_keys: [
          { key: READ_KEY, name: 'reader', scopes: ['read'] },
          { key: PUB_KEY, name: 'demo-publisher', scopes: ['read', 'publish'], channels: ['demo.>'] },
          { key: ADMIN_KEY, name: 'admin', scopes: ['admin'] },
        ],
      },
    });
  });
  after(() => h.stop());

  async function call(method: string, url: string, key?: string, payload?: unknown) {
    const headers: Record<string, string> = key === undefined ? {} : { authorization: `Bearer ${key}` };
    const res = await h.hub.app.inject({ method: method as 'GET', url, headers, payload: payload as string });
    const body = res.headers['content-type']?.toString().includes('json') ? res.json() : res.body;
    return { status: res.statusCode, body: body as { error?: { code: string; details?: unknown } }, res };
  }

  test('public routes need no credentials', async () => {
    for (const url of ['/', '/alerts', '/api', '/health', '/ready', '/api/docs/json']) {
      assert.equal((await call('GET', url)).status, 200, url);
    }
  });

  test('an unrouted GET outside the API is public: 404 without credentials, with or without the dashboard', async () => {
    for (const url of ['/favicon.ico', '/robots.txt', '/x/y.png']) {
      const r = await call('GET', url);
      assert.deepEqual([r.status, r.body.error?.code], [404, 'not_found'], url);
    }
    const bare = await startHub({
      dashboard: { enabled: false },
      auth: { api_keys: [{ key: READ_KEY, scopes: ['read'] }] },
    });
    try {
      const res = await bare.hub.app.inject({ method: 'GET', url: '/favicon.ico' });
      assert.equal(res.statusCode, 404);
      assert.equal((await bare.hub.app.inject({ method: 'POST', url: '/favicon.ico' })).statusCode, 401);
      assert.equal((await bare.hub.app.inject({ method: 'GET', url: '/api/v1/nothing' })).statusCode, 401);
    } finally {
      await bare.stop();
    }
  });

  test('missing or refused credentials: 401 unauthorized with WWW-Authenticate', async () => {
    const none = await call('GET', '/api/v1/stats');
    assert.equal(none.status, 401);
    assert.equal(none.body.error?.code, 'unauthorized');
    assert.match(String(none.res.headers['www-authenticate']), /^Bearer/);
    for (const bad of ['wrong-key-0123456789', await token({ scope: 'read' }, -30), 'a.b.c']) {
      const r = await call('GET', '/api/v1/stats', bad);
      assert.deepEqual([r.status, r.body.error?.code], [401, 'unauthorized'], bad);
      assert.match(String(r.res.headers['www-authenticate']), /invalid_token/);
    }
    assert.equal((await call('GET', '/metrics')).status, 401, '/metrics needs read');
    assert.equal((await call('GET', '/metrics', READ_KEY)).status, 200);
    assert.equal((await call('GET', '/api/v1/stats?token=' + READ_KEY)).status, 401, '?token= is for SSE only');
    assert.equal((await call('GET', '/api/v1/nothing-here')).status, 401);
    assert.equal((await call('GET', '/api/v1/nothing-here', READ_KEY)).status, 404);
  });

  test('/api/v1/whoami: any valid credential learns its scopes and channels; none gets 401', async () => {
    assert.equal((await call('GET', '/api/v1/whoami')).status, 401);
    assert.equal((await call('GET', '/api/v1/whoami', 'wrong-key-0123456789')).status, 401);
    assert.deepEqual((await call('GET', '/api/v1/whoami', PUB_KEY)).body, {
      auth: true,
      principal: 'demo-publisher',
      kind: 'api_key',
      scopes: ['read', 'publish'],
      channels: ['demo.>'],
    });
    assert.deepEqual((await call('GET', '/api/v1/whoami', ADMIN_KEY)).body, {
      auth: true,
      principal: 'admin',
      kind: 'api_key',
      scopes: ['read', 'publish', 'admin'],
      channels: null,
    });
    const jwt = await call('GET', '/api/v1/whoami', await token({ scope: 'publish' }, 120));
    const body = jwt.body as unknown as { principal: string; kind: string; scopes: string[]; expires_at: number };
    assert.deepEqual([body.principal, body.kind, body.scopes], ['tester', 'jwt', ['publish']]);
    assert.ok(body.expires_at > Date.now());
  });

  test('scopes: read-only cannot publish, publish cannot create rules, admin can', async () => {
    assert.equal((await call('GET', '/api/v1/stats', READ_KEY)).status, 200);
    const pub = await call('POST', '/api/v1/publish', READ_KEY, { channel: 'demo.a', data: 1 });
    assert.deepEqual([pub.status, pub.body.error?.code], [403, 'forbidden']);
    assert.deepEqual(pub.body.error?.details, { scope: 'publish' });
    const rule = { name: 'cpu-high', metric: 'cpu', kind: 'threshold', op: '>', threshold: 90 };
    const byPub = await call('POST', '/api/v1/rules', PUB_KEY, rule);
    assert.deepEqual([byPub.status, byPub.body.error?.code], [403, 'forbidden']);
    const byAdmin = await call('POST', '/api/v1/rules', ADMIN_KEY, rule);
    assert.ok(byAdmin.status !== 401 && byAdmin.status !== 403, `admin passes auth (got ${byAdmin.status})`);
    const jwtAdmin = await call('GET', '/api/v1/silences', await token({ scope: 'admin' }));
    assert.equal(jwtAdmin.status, 200);
  });

  test('channel patterns: publish, ingest, history and part routes', async () => {
    const ok = await call('POST', '/api/v1/publish', PUB_KEY, { channel: 'demo.orders', data: 1 });
    assert.equal(ok.status, 200);
    const out = await call('POST', '/api/v1/publish', PUB_KEY, { channel: 'room.a', data: 1 });
    assert.deepEqual(
      [out.status, out.body.error?.code, out.body.error?.details],
      [403, 'forbidden', { channel: 'room.a' }],
    );
    const ingest = await call('POST', '/api/v1/metrics', PUB_KEY, [{ metric: 'x', value: 1 }]);
    assert.deepEqual([ingest.status, ingest.body.error?.details], [403, { channel: 'metrics.>' }]);
    const anyChannel = await call('POST', '/api/v1/metrics', await token({ scope: 'publish' }), [
      { metric: 'x', value: 1 },
    ]);
    assert.ok(anyChannel.status !== 401 && anyChannel.status !== 403, `got ${anyChannel.status}`);
    assert.equal((await call('GET', '/api/v1/channels/demo.orders/history', PUB_KEY)).status, 200);
    assert.equal((await call('GET', '/api/v1/channels/room.a/history', PUB_KEY)).status, 403);
    assert.equal((await call('GET', '/api/v1/alerts', PUB_KEY)).status, 403, 'the alerts channel is not granted');
    assert.equal((await call('GET', '/api/v1/alerts', READ_KEY)).status, 200);
    const alert = await call('POST', '/api/v1/alerts', READ_KEY, { name: 'x' });
    assert.equal(alert.status, 403, 'posting alerts needs publish');
  });

  test('SSE: ?token= accepted, channels checked, and the stream ends when the JWT expires', async () => {
    assert.equal((await fetch(`${h.url}/api/v1/stream?channels=demo.a`)).status, 401);
    const denied = await fetch(`${h.url}/api/v1/stream?channels=room.a&token=${PUB_KEY}`);
    assert.equal(denied.status, 403);
    assert.equal(((await denied.json()) as { error: { code: string } }).error.code, 'forbidden');
    const jwt = await token({ scope: 'read', channels: ['demo.>'] }, 1);
    const res = await fetch(`${h.url}/api/v1/stream?channels=demo.*&token=${jwt}`);
    assert.equal(res.status, 200);
    await call('POST', '/api/v1/publish', PUB_KEY, { channel: 'demo.sse', data: { n: 1 } });
    let text = '';
    const decoder = new TextDecoder();
    // The loop ends only when the hub ends the stream: that happens at the JWT's expiry.
    for await (const chunk of res.body as AsyncIterable<Uint8Array>) text += decoder.decode(chunk);
    assert.match(text, /demo\.sse/);
  });
});
