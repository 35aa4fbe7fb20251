/**
 * @module body-limit.test
 * A request body over `http.body_limit` is refused with 413 `payload_too_large`, raw or gzip-decompressed.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { startHub } from '../testing/hub-fixture.js';

test('bodies over http.body_limit get 413 payload_too_large', async () => {
  const h = await startHub({ metrics: { collect_interval: 0 }, http: { body_limit: 2048 } });
  const big = JSON.stringify({ channel: 'big.one', data: 'x'.repeat(4096) });
  const res = await fetch(`${h.url}/api/v1/publish`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: big,
  });
  assert.equal(res.status, 413);
  assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'payload_too_large');
  const lines = Array.from({ length: 400 }, (_, i) => `m${i} ${i}`).join('\n');
  const zipped = gzipSync(lines);
  assert.ok(zipped.length < 2048, 'small on the wire');
  const gz = await fetch(`${h.url}/api/v1/write/prometheus`, {
    method: 'POST',
    headers: { 'content-type': 'text/plain', 'content-encoding': 'gzip' },
    body: zipped,
  });
  assert.equal(gz.status, 413, 'the limit applies to the decompressed body');
  const small = await fetch(`${h.url}/api/v1/publish`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ channel: 'big.one', data: 1 }),
  });
  assert.equal(small.status, 200);
  await h.stop();
});
