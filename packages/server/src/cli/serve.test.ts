/**
 * @module serve.test
 * `vigil serve` as a real process: a bad configuration exits 2 naming the key; SIGTERM sends `closing` (1001,
 * reconnect) to clients and exits 0 well within the shutdown timeout.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { TestClient } from '../testing/hub-fixture.js';
import { runVigil } from '../testing/serve-process.js';

const run = runVigil;

test('a bad configuration value exits with code 2 and names the key', async () => {
  const data = mkdtempSync(join(tmpdir(), 'vigil-cli-'));
  const bad = run(['serve', '--port', 'http', '--data', data]);
  assert.equal(await bad.exited, 2);
  assert.match(bad.err(), /invalid configuration: port:/);
  const env = run(['serve', '--data', data], { VIGIL_PORT: '-1' });
  assert.equal(await env.exited, 2);
  assert.match(env.err(), /port/);
  const unknown = run(['serve', '--colour', 'blue']);
  assert.equal(await unknown.exited, 2);
  const cmd = run(['fly']);
  assert.equal(await cmd.exited, 2);
});

test('SIGTERM: closing 1001 with reconnect to every client, then exit 0 within the timeout', async () => {
  const data = mkdtempSync(join(tmpdir(), 'vigil-cli-'));
  const hub = run(['serve', '--port', '0', '--data', data]);
  const url = await hub.url();
  const clients = await Promise.all([1, 2].map(() => TestClient.connect(`${url.replace('http', 'ws')}/ws`)));
  const health = await fetch(`${url}/health`);
  assert.equal(health.status, 200);
  hub.child.kill('SIGTERM');
  for (const c of clients) {
    const closing = await c.next((f) => f.type === 'closing');
    assert.deepEqual([closing.code, closing.reconnect], [1001, true]);
    assert.equal(await c.waitClose(), 1001);
  }
  assert.equal(await hub.exited, 0, 'exit 0: the shutdown finished within shutdown_timeout (past it the exit is 1)');
});
