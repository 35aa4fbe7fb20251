/**
 * @module message.test
 * A personal message sent with `POST /api/v1/sessions/message` arrives as the client's `message` event.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { VigilClient } from './client.js';
import { until } from './testing/fake-server.js';
import { removeHubDirs, startRealHub } from './testing/real-hub.js';

describe('personal messages', () => {
  after(() => removeHubDirs());

  test('emit a message event with the data and its time', async () => {
    const h = await startRealHub();
    const c = new VigilClient({ url: h.url });
    const got: { data: unknown; ts: number }[] = [];
    c.on('message', (m) => got.push(m));
    try {
      c.connect();
      await until(() => c.state === 'connected', 30_000, 'connected');
      const res = await fetch(`${h.httpUrl}/api/v1/sessions/message`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ session: c.welcome!.session, data: { text: 'hi' } }),
      });
      assert.deepEqual(await res.json(), { delivered: 1 });
      await until(() => got.length === 1, 30_000, 'message');
      assert.deepEqual(got[0]!.data, { text: 'hi' });
      assert.equal(typeof got[0]!.ts, 'number');
    } finally {
      c.close();
      await h.hub.stop();
    }
  });
});
