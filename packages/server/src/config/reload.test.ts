/**
 * @module reload.test
 * `POST /api/v1/reload` (admin) against a real hub whose configuration file changes: a removed key closes its
 * WebSocket sessions with 4001 and its SSE streams, and answers 401 afterwards; a narrowed key closes the sessions
 * holding subscriptions it no longer grants and keeps the others; limits and config-file rules follow the file;
 * a bad file, or one that turns auth off, is refused with `invalid_config` and the running configuration stays.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import WebSocket from 'ws';
import { stringify } from 'yaml';
import { accessOf } from '../auth/route-access.js';
import { type RunningHub, startHub, TestClient, until } from '../testing/hub-fixture.js';

const ADMIN = 'reload-admin-key-0123456789';
const READER = 'reload-reader-key-0123456789';
const NARROW = 'reload-narrow-key-0123456789';

interface Key {
  name: string;
  key: string;
  scopes: string[];
  channels?: string[];
}

const adminKey: Key = { name: 'admin', key: ADMIN, scopes: ['admin'] };
const readerKey: Key = { name: 'reader', key: READER, scopes: ['read', 'publish'] };
const narrowKey = (channels: string[]): Key => ({ name: 'narrow', key: NARROW, scopes: ['read'], channels });

const rule = (name: string, threshold: number) => ({
  name,
  kind: 'threshold',
  metric: 'reload.temp',
  op: '>',
  threshold,
  severity: 'warning',
});

describe('configuration reload over HTTP', () => {
  let dir: string;
  let h: RunningHub;
  const write = (doc: Record<string, unknown>) => writeFileSync(join(dir, 'vigil.config.yaml'), stringify(doc));
  const base = (keys: Key[], extra: Record<string, unknown> = {}) => ({
    auth: { api_keys: keys },
    alerts: { rules: [rule('hot', 30)] },
    ...extra,
  });
  const as = (key: string, path: string, init: RequestInit = {}) =>
    fetch(`${h.url}${path}`, { ...init, headers: { authorization: `Bearer ${key}`, ...init.headers } });
  const reload = async (key = ADMIN) => {
    const res = await as(key, '/api/v1/reload', { method: 'POST' });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const ws = async (key: string, channels?: string) => {
    const c = await TestClient.connect(`${h.wsUrl}?token=${key}`);
    if (channels) {
      const r = await c.request({ op: 'subscribe', channels: [channels] });
      assert.equal(r.ok, true, JSON.stringify(r));
    }
    return c;
  };
  /** The close code of a WebSocket that the hub refuses after the upgrade. */
  const refusedWith = (key: string) =>
    new Promise<number>((resolve, reject) => {
      const socket = new WebSocket(`${h.wsUrl}?token=${key}`);
      socket.on('close', (code) => resolve(code));
      socket.on('error', reject);
    });

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vigil-reload-'));
    write(base([adminKey, readerKey, narrowKey(['orders.>'])]));
    h = await startHub({ metrics: { collect_interval: 0 } }, { dataDir: dir });
  });
  after(async () => {
    await h.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('only admin may reload', async () => {
    const r = await reload(READER);
    assert.equal(r.status, 403);
    assert.equal((r.body.error as { code: string }).code, 'forbidden');
    assert.equal((await fetch(`${h.url}/api/v1/reload`, { method: 'POST' })).status, 401);
  });

  test('a removed key: its sessions close with 4001, its SSE stream ends, and it answers 401', async () => {
    const reader = await ws(READER, 'orders.eu');
    const bystander = await ws(ADMIN, 'orders.eu');
    const sse = await as(READER, '/api/v1/stream?channels=orders.eu');
    assert.equal(sse.status, 200);
    const sseEnded = (async () => {
      const body = sse.body!.getReader();
      while (!(await body.read()).done) {}
    })();
    assert.equal((await as(READER, '/api/v1/stats')).status, 200);

    write(base([adminKey, narrowKey(['orders.>'])]));
    const r = await reload();
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.deepEqual(r.body.applied, ['auth']);
    const sessions = r.body.sessions as { checked: number; closed: number };
    assert.ok(sessions.checked >= 3 && sessions.closed === 2, JSON.stringify(sessions));

    const closing = await reader.next((f) => f.type === 'closing');
    assert.deepEqual(closing, { type: 'closing', code: 4001, reason: 'credential revoked', reconnect: false });
    assert.equal(await reader.waitClose(), 4001);
    await sseEnded;
    assert.equal((await as(READER, '/api/v1/stats')).status, 401);
    assert.equal(await refusedWith(READER), 4001);
    // The admin's session was verified again and stays.
    const pong = bystander.frames.length;
    bystander.send({ op: 'ping', id: 'still-here' });
    await bystander.next((f) => f.type === 'pong', 30_000, pong);
    assert.equal(bystander.closeCode, undefined);
    bystander.close();
  });

  test('auth matrix, a key removed by reload: every route and every WS op refuse it', async () => {
    let probed = 0;
    for (const r of h.hub.app.routeList) {
      if (r.method === 'OPTIONS') continue;
      if (accessOf(r.method, r.url, r.url, r.access).kind === 'public') continue;
      const path = r.url.replace(/:[^/]+|\*/g, 'x');
      const body = ['GET', 'HEAD', 'DELETE'].includes(r.method) ? undefined : '{}';
      const res = await as(READER, path, {
        method: r.method,
        body,
        headers: body ? { 'content-type': 'application/json' } : {},
      });
      assert.equal(res.status, 401, `${r.method} ${path}`);
      await res.arrayBuffer();
      probed++;
    }
    assert.ok(probed > 40, `${probed} routes probed`);
    // At the upgrade: closing 4001. In-band: the `auth` op is refused and every other op needs a credential.
    assert.equal(await refusedWith(READER), 4001);
    const anon = await TestClient.connect(h.wsUrl);
    const auth = await anon.request({ op: 'auth', token: READER });
    assert.equal((auth.error as { code: string }).code, 'unauthorized');
    for (const frame of [
      { op: 'subscribe', channels: ['orders.eu'] },
      { op: 'unsubscribe', channels: ['orders.eu'] },
      { op: 'publish', channel: 'orders.eu', data: 1 },
      { op: 'call', method: 'stats' },
    ]) {
      const r = await anon.request(frame);
      assert.equal((r.error as { code: string }).code, 'unauthorized', frame.op);
    }
    anon.close();
  });

  test('a narrowed key: a session holding a pattern it lost closes with 4001, the others keep going', async () => {
    const wide = await ws(NARROW, 'orders.>');
    const fits = await ws(NARROW, 'orders.eu');

    write(base([adminKey, narrowKey(['orders.eu'])]));
    const r = await reload();
    assert.equal(r.status, 200);
    assert.equal((r.body.sessions as { closed: number }).closed, 1);
    const closing = await wide.next((f) => f.type === 'closing');
    assert.deepEqual(closing, { type: 'closing', code: 4001, reason: 'credential narrowed', reconnect: true });
    assert.equal(await wide.waitClose(), 4001);

    // The session that fits keeps its subscription, and the new channels apply to its next frames.
    const denied = await fits.request({ op: 'subscribe', channels: ['orders.us'] });
    assert.equal((denied.error as { code: string }).code, 'forbidden');
    await as(ADMIN, '/api/v1/publish', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ channel: 'orders.eu', data: { n: 1 } }),
    });
    await fits.next((f) => f.type === 'event' && f.channel === 'orders.eu', 30_000);
    fits.close();
  });

  test('a bad file is refused with invalid_config naming the key, and the running configuration stays', async () => {
    write({ auth: { api_keys: [adminKey, { name: 'short', key: 'short', scopes: ['read'] }] } });
    const r = await reload();
    assert.equal(r.status, 400);
    const error = r.body.error as { code: string; message: string; details: { key: string } };
    assert.equal(error.code, 'invalid_config');
    assert.match(error.message, /auth\.api_keys\.1\.key/);
    writeFileSync(join(dir, 'vigil.config.yaml'), 'auth: [unclosed');
    const yaml = await reload();
    assert.equal(yaml.status, 400);
    assert.match((yaml.body.error as { message: string }).message, /not valid YAML/);
    // Still the configuration of the last good reload: the narrow key reads, the removed key does not.
    assert.equal((await as(NARROW, '/api/v1/stats')).status, 200);
    assert.equal((await as(READER, '/api/v1/stats')).status, 401);
  });

  test('turning auth off takes a restart: refused, auth stays on', async () => {
    write({ alerts: { rules: [rule('hot', 30)] } });
    const r = await reload();
    assert.equal(r.status, 400);
    assert.equal((r.body.error as { details: { key: string } }).details.key, 'auth');
    assert.equal((await fetch(`${h.url}/api/v1/stats`)).status, 401);
  });

  test('limits, rate limit, history and config-file rules follow the file; other changes need a restart', async () => {
    write(
      base([adminKey, readerKey], {
        limits: { max_connections_per_credential: 1 },
        alerts: { rules: [rule('hot', 40), rule('cold', -5)] },
        history: { max_events: 10 },
        gateway: { max_subscriptions: 500, rate_limit: { messages_per_s: 1, burst: 50, max_violations: 1000 } },
      }),
    );
    const r = await reload();
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.deepEqual(r.body.applied, ['auth', 'limits', 'alerts.rules', 'gateway.rate_limit', 'history']);
    assert.deepEqual(r.body.rules, { added: ['cold'], changed: ['hot'], removed: [] });
    assert.deepEqual(r.body.restart_required, ['gateway']);
    // The new history limit: a channel keeps its last 10 events.
    for (let i = 0; i < 15; i++) {
      const res = await as(ADMIN, '/api/v1/publish', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ channel: 'reload.hist', data: { i } }),
      });
      assert.equal(res.status, 200, await res.text());
    }
    const held = (await (await as(ADMIN, '/api/v1/channels/reload.hist/history')).json()) as {
      events: { data: { i: number } }[];
    };
    assert.deepEqual(
      held.events.map((e) => e.data.i),
      [5, 6, 7, 8, 9, 10, 11, 12, 13, 14],
    );
    // The new rate limit: a bucket of 50 tokens cannot pay for a subscription of 100 patterns.
    const admin = await ws(ADMIN);
    const many = await admin.request({
      op: 'subscribe',
      channels: Array.from({ length: 100 }, (_, i) => `reload.rate.${i}`),
    });
    assert.equal((many.error as { code?: string } | undefined)?.code, 'rate_limited', JSON.stringify(many));
    admin.close();
    const rules = (await (await as(ADMIN, '/api/v1/rules')).json()) as {
      rules: { name: string; threshold: number; source: string }[];
    };
    assert.deepEqual(
      rules.rules.map((x) => [x.name, x.threshold, x.source]),
      [
        ['cold', -5, 'config'],
        ['hot', 40, 'config'],
      ],
    );
    // The reader key is back, and the new per-credential limit holds it to one session.
    const one = await ws(READER);
    assert.equal(await refusedWith(READER), 4029);
    one.close();
    write(base([adminKey, readerKey]));
    const back = await reload();
    assert.deepEqual(back.body.rules, { added: [], changed: ['hot'], removed: ['cold'] });
    await until(() => h.hub.connectionLimits.open === 0, 30_000, 'sessions to close');
  });
});
