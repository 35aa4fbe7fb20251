/**
 * @module max-reconnect.test
 * `maxReconnectAttempts`: a client that cannot reach its hub retries that many times in a row, then turns
 * `disconnected` and stays there until `connect()`; without it, it keeps retrying.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { describe, test } from 'node:test';
import { VigilClient } from './client.js';
import type { ReconnectingContext, StateContext } from './index.js';
import { sleep, until } from './testing/fake-server.js';

/** A port with nothing listening on it. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  await new Promise((r) => server.close(r));
  return port;
}

describe('maxReconnectAttempts', () => {
  test('gives up after that many attempts in a row, and connect() starts again', async () => {
    const url = `ws://127.0.0.1:${await closedPort()}/ws`;
    const c = new VigilClient({ url, backoff: { minDelayMs: 1, maxDelayMs: 5 }, maxReconnectAttempts: 2 });
    const attempts: ReconnectingContext[] = [];
    const states: StateContext[] = [];
    c.on('reconnecting', (r) => attempts.push(r));
    c.on('state', (s) => states.push(s));
    try {
      c.connect();
      await until(() => states.some((s) => s.newState === 'disconnected'), 30_000, 'disconnected');
      assert.deepEqual(
        attempts.map((a) => a.attempt),
        [1, 2],
      );
      const last = states.at(-1)!;
      assert.equal(last.newState, 'disconnected');
      assert.match(last.reason, /gave up after 2 reconnect attempts/);
      await sleep(100);
      assert.equal(c.state, 'disconnected');
      assert.equal(attempts.length, 2);
      c.connect();
      await until(() => states.filter((s) => s.newState === 'disconnected').length === 2, 30_000, 'second give-up');
      assert.equal(attempts.length, 4);
    } finally {
      c.close();
    }
  });

  test('without it the client keeps retrying; bad values are refused', async () => {
    const url = `ws://127.0.0.1:${await closedPort()}/ws`;
    const c = new VigilClient({ url, backoff: { minDelayMs: 1, maxDelayMs: 2 } });
    const attempts: ReconnectingContext[] = [];
    c.on('reconnecting', (r) => attempts.push(r));
    try {
      c.connect();
      await until(() => attempts.length >= 5, 30_000, 'five attempts');
      assert.equal(c.state, 'reconnecting');
    } finally {
      c.close();
    }
    for (const bad of [-1, 1.5, Number.NaN]) {
      assert.throws(() => new VigilClient({ url, maxReconnectAttempts: bad }), /maxReconnectAttempts/);
    }
  });
});
