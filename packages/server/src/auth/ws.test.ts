/**
 * @module ws.test
 * WebSocket auth on real sockets against a real hub: credentials in the header, `?token=` and the `auth` op; API
 * keys; refusals at the upgrade (4001); the unauthenticated grace period; JWT expiry while connected; scopes and
 * channel patterns on subscribe, publish and call; in-band refresh that narrows the grants.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { SignJWT } from 'jose';
import WebSocket from 'ws';
import { type Frame, type RunningHub, startHub, TestClient } from '../testing/hub-fixture.js';
import { PUB_KEY, READ_KEY, SECRET, token } from './test-support.js';

/** Opens a socket that may be refused before any welcome; records frames and the close code. */
function open(url: string, headers: Record<string, string> = {}) {
  const ws = new WebSocket(url, { headers });
  const frames: Frame[] = [];
  ws.on('message', (d: Buffer) => frames.push(JSON.parse(d.toString()) as Frame));
  const closed = new Promise<number>((resolve) => ws.on('close', (code: number) => resolve(code)));
  ws.on('error', () => {});
  return { ws, frames, closed };
}

function bearer(t: string): WebSocket.ClientOptions {
  return { headers: { authorization: `Bearer ${t}` } };
}

describe('WebSocket auth', () => {
  let h: RunningHub;
  before(async () => {
    h = await startHub({
      auth: {
        jwt: { secret: SECRET },
        api_keys: [
          { key: READ_KEY, name: 'reader', scopes: ['read'] },
          { key: PUB_KEY, name: 'demo-publisher', scopes: ['read', 'publish'], channels: ['demo.>', 'metrics.>'] },
        ],
        ws_auth_timeout: '5s',
      },
    });
  });
  after(() => h.stop());

  test('a JWT in the Authorization header: subscribe and publish work, and the token is not sent back', async () => {
    const c = await TestClient.connect(h.wsUrl, undefined, bearer(await token({ scope: 'read publish' })));
    const s = await c.request({ op: 'subscribe', channels: ['room.*'] });
    assert.equal(s.ok, true);
    const p = await c.request({ op: 'publish', channel: 'room.a', data: 1 });
    assert.equal(p.ok, true, JSON.stringify(p));
    await c.next((f) => f.type === 'event' && f.channel === 'room.a');
    c.close();
  });

  test('a JWT in ?token= and an API key in the header; the welcome names the credential and when it expires', async () => {
    const jwt = await token({ scopes: ['read'] });
    const q = await TestClient.connect(`${h.wsUrl}?token=${jwt}&channels=room.q`);
    const auth = q.frames[0]!.auth as { principal: string; expires_at: number };
    assert.equal(typeof auth.expires_at, 'number');
    assert.ok(auth.expires_at > Date.now(), 'a JWT connection learns its expiry from the welcome');
    const r = await q.request({ op: 'call', method: 'stats' });
    assert.equal(r.ok, true);
    const k = await TestClient.connect(h.wsUrl, undefined, bearer(READ_KEY));
    assert.deepEqual(k.frames[0]!.auth, { principal: 'reader' }, 'an API key does not expire');
    assert.equal((await k.request({ op: 'subscribe', channels: ['room.q'] })).ok, true);
    const pub = await TestClient.connect(h.wsUrl, undefined, bearer(await token({ scope: 'publish' })));
    await pub.request({ op: 'publish', channel: 'room.q', data: 'x' });
    await q.next((f) => f.type === 'event' && f.channel === 'room.q');
    await k.next((f) => f.type === 'event' && f.channel === 'room.q');
    for (const c of [q, k, pub]) c.close();
  });

  test('without credentials: welcome, then unauthorized replies (ping still works), then auth op unlocks', async () => {
    const c = await TestClient.connect(h.wsUrl);
    const r = await c.request({ op: 'subscribe', channels: ['room.a'] });
    assert.deepEqual([r.ok, (r.error as { code: string }).code], [false, 'unauthorized']);
    c.send({ op: 'publish', channel: 'room.a', data: 1 });
    const e = await c.next((f) => f.type === 'error');
    assert.equal((e.error as { code: string }).code, 'unauthorized');
    c.send({ op: 'ping', id: 'p' });
    await c.next((f) => f.type === 'pong' && f.id === 'p');
    const bad = await c.request({ op: 'auth', token: 'not-a-key-or-token-at-all' });
    assert.equal((bad.error as { code: string }).code, 'unauthorized');
    const jwt = await token({ scope: 'read' }, 600);
    const exp = Math.floor(Date.now() / 1000) + 600;
    // `auth` then `subscribe` without waiting: the subscribe waits for the verdict.
    const from = c.frames.length;
    c.send({ op: 'auth', id: 'a', token: jwt });
    c.send({ op: 'subscribe', id: 's', channels: ['room.a'] });
    const a = await c.next((f) => f.type === 'reply' && f.id === 'a', 5000, from);
    assert.equal(a.ok, true);
    assert.ok(Math.abs((a.result as { expires_at: number }).expires_at - exp * 1000) <= 1000, JSON.stringify(a));
    const s = await c.next((f) => f.type === 'reply' && f.id === 's', 5000, from);
    assert.equal(s.ok, true, JSON.stringify(s));
    const k = await c.request({ op: 'auth', token: READ_KEY });
    assert.deepEqual(k.result, {}, 'an API key does not expire');
    c.close();
  });

  test('no valid credential within ws_auth_timeout: closing 4001, reconnect false', async () => {
    const quick = await startHub({ auth: { api_keys: [{ key: READ_KEY, scopes: ['read'] }], ws_auth_timeout: 200 } });
    try {
      const c = await TestClient.connect(quick.wsUrl);
      const r = await c.request({ op: 'auth', token: 'wrong-key-0123456789' });
      assert.equal((r.error as { code: string }).code, 'unauthorized', 'a refused auth op does not reset the clock');
      assert.equal(await c.waitClose(10_000), 4001);
      const closing = c.frames.find((f) => f.type === 'closing')!;
      assert.deepEqual(closing, { type: 'closing', code: 4001, reason: 'authentication timeout', reconnect: false });
      const ok = await TestClient.connect(quick.wsUrl);
      await ok.request({ op: 'auth', token: READ_KEY });
      await new Promise((resolve) => setTimeout(resolve, 400));
      assert.equal(ok.closeCode, undefined, 'an authenticated connection stays open');
      ok.close();
    } finally {
      await quick.stop();
    }
  });

  test('an expired token at the upgrade: closing 4001 (reconnect true), no welcome', async () => {
    const s = open(h.wsUrl, { authorization: `Bearer ${await token({ scope: 'read' }, -10)}` });
    assert.equal(await s.closed, 4001);
    assert.deepEqual(s.frames, [{ type: 'closing', code: 4001, reason: 'token expired', reconnect: true }]);
  });

  test('an invalid token at the upgrade (bad signature, unknown key): closing 4001, reconnect false', async () => {
    const forged = await token({ scope: 'admin' }, 300, 'another-secret-that-is-32-chars-long!!');
    for (const url of [`${h.wsUrl}?token=${forged}`, `${h.wsUrl}?token=unknown-key-0123456789`]) {
      const s = open(url);
      assert.equal(await s.closed, 4001);
      assert.deepEqual(s.frames, [{ type: 'closing', code: 4001, reason: 'unauthorized', reconnect: false }]);
    }
  });

  test('a JWT without exp is refused', async () => {
    const noExp = await new SignJWT({ scope: 'read' })
      .setProtectedHeader({ alg: 'HS256' })
      .sign(new TextEncoder().encode(SECRET));
    const s = open(`${h.wsUrl}?token=${noExp}`);
    assert.equal(await s.closed, 4001);
  });

  test('a JWT that expires while connected: closing 4001 with reconnect true', async () => {
    const c = await TestClient.connect(h.wsUrl, undefined, bearer(await token({ scope: 'read' }, 1)));
    assert.equal((await c.request({ op: 'subscribe', channels: ['room.x'] })).ok, true);
    assert.equal(await c.waitClose(4000), 4001);
    const closing = c.frames.find((f) => f.type === 'closing')!;
    assert.deepEqual(closing, { type: 'closing', code: 4001, reason: 'token expired', reconnect: true });
  });

  test('refreshing in-band before expiry keeps the connection open', async () => {
    const c = await TestClient.connect(h.wsUrl, undefined, bearer(await token({ scope: 'read' }, 1)));
    const r = await c.request({ op: 'auth', token: await token({ scope: 'read' }, 120) });
    assert.equal(r.ok, true);
    await new Promise((resolve) => setTimeout(resolve, 2200));
    assert.equal(c.closeCode, undefined, 'still open after the first token expired');
    assert.equal((await c.request({ op: 'call', method: 'stats' })).ok, true);
    c.close();
  });

  test('scopes: a read-only key cannot publish (forbidden, connection stays open)', async () => {
    const c = await TestClient.connect(h.wsUrl, undefined, bearer(READ_KEY));
    const p = await c.request({ op: 'publish', channel: 'room.a', data: 1 });
    assert.equal(p.ok, false);
    assert.equal((p.error as { code: string; details: { scope: string } }).code, 'forbidden');
    assert.equal((p.error as { details: { scope: string } }).details.scope, 'publish');
    const ack = await c.request({ op: 'call', method: 'alerts.ack', params: { id: 'x' } });
    assert.equal((ack.error as { code: string }).code, 'forbidden', 'alerts.ack needs admin');
    const list = await c.request({ op: 'call', method: 'alerts.list' });
    assert.equal(list.ok, true);
    const pubOnly = await TestClient.connect(h.wsUrl, undefined, bearer(await token({ scope: 'publish' })));
    const s = await pubOnly.request({ op: 'subscribe', channels: ['room.a'] });
    assert.equal((s.error as { code: string }).code, 'forbidden', 'publish does not imply read');
    const admin = await TestClient.connect(h.wsUrl, undefined, bearer(await token({ scope: 'admin' })));
    assert.equal((await admin.request({ op: 'subscribe', channels: ['room.a'] })).ok, true, 'admin implies read');
    assert.equal(c.closeCode, undefined);
    for (const x of [c, pubOnly, admin]) x.close();
  });

  test('channel patterns restrict subscribe, publish and channels.history', async () => {
    const c = await TestClient.connect(h.wsUrl, undefined, bearer(PUB_KEY));
    const ok = await c.request({ op: 'subscribe', channels: ['demo.a', 'demo.*', 'demo.>', 'demo.a.>'] });
    assert.equal(ok.ok, true, JSON.stringify(ok));
    const denied = await c.request({ op: 'subscribe', channels: ['demo.a', 'other.a'] });
    assert.equal((denied.error as { code: string }).code, 'forbidden');
    assert.deepEqual((denied.error as { details: unknown }).details, { channel: 'other.a' });
    for (const wide of ['*', 'demo', '*.a']) {
      const r = await c.request({ op: 'subscribe', channels: [wide] });
      assert.equal((r.error as { code: string }).code, 'forbidden', wide);
    }
    assert.equal((await c.request({ op: 'publish', channel: 'demo.x.y', data: 1 })).ok, true);
    const out = await c.request({ op: 'publish', channel: 'room.a', data: 1 });
    assert.equal((out.error as { code: string }).code, 'forbidden');
    const inv = await c.request({ op: 'publish', channel: 'bad..name', data: 1 });
    assert.equal((inv.error as { code: string }).code, 'invalid_channel', 'malformed channels keep their own error');
    const hist = await c.request({ op: 'call', method: 'channels.history', params: { channel: 'room.a' } });
    assert.equal((hist.error as { code: string }).code, 'forbidden');
    const mine = await c.request({ op: 'call', method: 'channels.history', params: { channel: 'demo.x.y' } });
    assert.equal(mine.ok, true);
    const alerts = await c.request({ op: 'call', method: 'alerts.list' });
    assert.equal((alerts.error as { code: string }).code, 'forbidden', 'the alerts channel is not granted');
    c.close();
  });

  test('JWT channels claim, and a refresh that narrows the grants ends the subscriptions it no longer covers', async () => {
    const wide = await token({ scope: 'read', channels: ['team.>'] });
    const c = await TestClient.connect(h.wsUrl, undefined, bearer(wide));
    assert.equal((await c.request({ op: 'subscribe', channels: ['team.a.>', 'team.b'] })).ok, true);
    const denied = await c.request({ op: 'subscribe', channels: ['room.a'] });
    assert.equal((denied.error as { code: string }).code, 'forbidden');
    const narrow = await token({ scope: 'read', channels: ['team.a.>'] });
    const r = await c.request({ op: 'auth', token: narrow });
    assert.deepEqual((r.result as { unsubscribed: string[] }).unsubscribed, ['team.b']);
    const pub = await TestClient.connect(h.wsUrl, undefined, bearer(await token({ scope: 'publish' })));
    await pub.request({ op: 'publish', channel: 'team.b', data: 'gone' });
    await pub.request({ op: 'publish', channel: 'team.a.x', data: 'kept' });
    await c.next((f) => f.type === 'event' && f.channel === 'team.a.x');
    assert.equal(c.events('team.b').length, 0);
    const badClaim = open(`${h.wsUrl}?token=${await token({ scope: 'read', channels: ['bad..x'] })}`);
    assert.equal(await badClaim.closed, 4001);
    for (const x of [c, pub]) x.close();
  });

  test('connect-time ?channels= obeys the grants', async () => {
    const c = await TestClient.connect(`${h.wsUrl}?channels=room.a`, undefined, bearer(PUB_KEY));
    const e = await c.next((f) => f.type === 'error');
    assert.equal((e.error as { code: string }).code, 'forbidden');
    c.close();
  });
});

describe('WebSocket with auth off', () => {
  test('the auth op is a no-op answering {}', async () => {
    const h = await startHub();
    try {
      const c = await TestClient.connect(h.wsUrl);
      const r = await c.request({ op: 'auth', token: 'anything' });
      assert.deepEqual(r.result, {});
      assert.equal((await c.request({ op: 'publish', channel: 'x.y', data: 1 })).ok, true);
      c.close();
    } finally {
      await h.stop();
    }
  });
});
