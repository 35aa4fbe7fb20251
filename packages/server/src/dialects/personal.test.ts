/**
 * @module personal.test
 * Personal messages over protocol v1: `POST /api/v1/sessions/message` reaches one connection by its session id, or
 * every connection of one credential, as a `message` frame (the SDK's `message` event: client/src/message.test.ts).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { postJson } from '../testing/dialect-client.js';
import { type RunningHub, startHub, TestClient } from '../testing/hub-fixture.js';

describe('personal messages (v1)', () => {
  let h: RunningHub;
  before(async () => {
    h = await startHub({ metrics: { collect_interval: 0 } });
  });
  after(() => h.stop());

  test('to one session: a `message` frame for it alone', async () => {
    const a = await TestClient.connect(h.wsUrl);
    const b = await TestClient.connect(h.wsUrl);
    try {
      const session = String(a.frames[0]!.session);
      const res = await postJson(`${h.url}/api/v1/sessions/message`, { session, data: { text: 'hello a' } });
      assert.deepEqual(res.body, { delivered: 1 });
      const frame = await a.next((f) => f.type === 'message');
      assert.deepEqual(frame.data, { text: 'hello a' });
      assert.equal(typeof frame.ts, 'number');
      assert.ok(!b.frames.some((f) => f.type === 'message'));

      assert.equal((await postJson(`${h.url}/api/v1/sessions/message`, { session: 'nobody', data: 1 })).status, 404);
      assert.equal((await postJson(`${h.url}/api/v1/sessions/message`, { data: 1 })).status, 400);
      const big = await postJson(`${h.url}/api/v1/sessions/message`, { session, data: 'x'.repeat(70_000) });
      assert.equal(big.status, 413);
    } finally {
      a.close();
      b.close();
    }
  });
});

describe('personal messages by credential', () => {
  test('reach every connection of that credential', async () => {
    const KEY = 'alice-key-0123456789abcdef';
    const ADMIN = 'admin-key-0123456789abcdef';
    const h = await startHub({
      metrics: { collect_interval: 0 },
      auth: {
        api_keys: [
          { key: KEY, name: 'alice', scopes: ['read'] },
          { key: ADMIN, name: 'admin', scopes: ['admin'] },
        ],
      },
    });
    try {
      const c1 = await TestClient.connect(`${h.wsUrl}?token=${KEY}`);
      const c2 = await TestClient.connect(`${h.wsUrl}?token=${KEY}`);
      const other = await TestClient.connect(`${h.wsUrl}?token=${ADMIN}`);
      const res = await fetch(`${h.url}/api/v1/sessions/message`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN}` },
        body: JSON.stringify({ principal: 'alice', data: { note: 'for alice' } }),
      });
      assert.deepEqual(await res.json(), { delivered: 2 });
      await c1.next((f) => f.type === 'message');
      await c2.next((f) => f.type === 'message');
      assert.ok(!other.frames.some((f) => f.type === 'message'));
      const denied = await fetch(`${h.url}/api/v1/sessions/message`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` },
        body: JSON.stringify({ principal: 'alice', data: 1 }),
      });
      assert.equal(denied.status, 403);
      c1.close();
      c2.close();
      other.close();
    } finally {
      await h.stop();
    }
  });
});
