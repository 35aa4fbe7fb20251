/**
 * @module delivery.test
 * One webhook delivery: backoff bounds, per-attempt timeout, connection errors and non-2xx answers, against real
 * sockets on 127.0.0.1.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { backoffDelay, postJson } from './delivery.js';
import { realScheduler } from './scheduler.js';
import { RecordingServer } from './test-support.js';

const opts = { timeoutMs: 150, maxAttempts: 1, backoffMs: 1, scheduler: realScheduler() };

test('backoff doubles per attempt, with jitter between half and the full delay', () => {
  assert.deepEqual(
    [1, 2, 3, 4].map((n) => backoffDelay(1000, n, () => 1)),
    [1000, 2000, 4000, 8000],
  );
  assert.deepEqual(
    [1, 2, 3].map((n) => backoffDelay(1000, n, () => 0)),
    [500, 1000, 2000],
  );
  for (let i = 0; i < 100; i++) {
    const d = backoffDelay(300, 2);
    assert.ok(d >= 300 && d <= 600, String(d));
  }
});

test('a 2xx is a success; a non-2xx is retried and reported with its status and body', async () => {
  const server = await new RecordingServer().start();
  try {
    assert.deepEqual(await postJson(server.url, { a: 1 }, opts), { ok: true, attempts: 1 });
    assert.deepEqual(server.requests[0]!.body, { a: 1 });
    server.failAll = true;
    const r = await postJson(server.url, { a: 2 }, { ...opts, maxAttempts: 3 });
    assert.deepEqual(r, { ok: false, attempts: 3, error: 'HTTP 500: boom' });
    assert.equal(server.requests.length, 4);
  } finally {
    await server.stop();
  }
});

test('a receiver that does not answer times out; a closed port is a connection error', async () => {
  const silent = createServer(() => {});
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
  try {
    const r = await postJson(url, {}, opts);
    assert.deepEqual(r, { ok: false, attempts: 1, error: 'timeout after 150 ms' });
  } finally {
    silent.closeAllConnections();
    await new Promise<void>((r) => silent.close(() => r()));
  }
  const refused = await postJson(url, {}, opts);
  assert.equal(refused.ok, false);
  assert.equal(refused.error, 'ECONNREFUSED');
});

test('aborting ends the retry loop without waiting out the backoff', async () => {
  const server = await new RecordingServer().start();
  server.failAll = true;
  const abort = new AbortController();
  try {
    const pending = postJson(server.url, {}, { ...opts, maxAttempts: 5, backoffMs: 60_000, signal: abort.signal });
    while (server.requests.length === 0) await new Promise((r) => setTimeout(r, 2));
    abort.abort();
    const r = await pending;
    assert.deepEqual([r.ok, r.aborted, r.attempts], [false, true, 1]);
  } finally {
    await server.stop();
  }
});
