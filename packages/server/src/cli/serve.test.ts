/**
 * @module serve.test
 * `vigil serve` as a real process: a bad configuration exits 2 naming the key; SIGTERM sends `closing` (1001,
 * reconnect) to clients and exits 0 well within the shutdown timeout; SIGHUP reloads the configuration file.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { TestClient, until } from '../testing/hub-fixture.js';
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

test('SIGHUP reloads: a removed key gets closing 4001 and the process lives on; a bad file is refused', async () => {
  const data = mkdtempSync(join(tmpdir(), 'vigil-cli-'));
  const file = join(data, 'vigil.config.yaml');
  const keys = (names: string[]) =>
    `auth:\n  api_keys:\n${names.map((n) => `    - name: ${n}\n      key: ${n}-key-0123456789abcdef\n      scopes: [read]\n`).join('')}`;
  writeFileSync(file, keys(['stays', 'goes']));
  const hub = run(['serve', '--port', '0', '--data', data, '--config', file]);
  try {
    const url = await hub.url();
    const ws = `${url.replace('http', 'ws')}/ws`;
    const goes = await TestClient.connect(`${ws}?token=goes-key-0123456789abcdef`);
    const stays = await TestClient.connect(`${ws}?token=stays-key-0123456789abcdef`);
    assert.equal((await goes.request({ op: 'subscribe', channels: ['orders.eu'] })).ok, true);

    writeFileSync(file, keys(['stays']));
    hub.child.kill('SIGHUP');
    const closing = await goes.next((f) => f.type === 'closing', 30_000);
    assert.deepEqual(closing, { type: 'closing', code: 4001, reason: 'credential revoked', reconnect: false });
    assert.equal(await goes.waitClose(30_000), 4001);
    await until(() => /reloaded its configuration/.test(hub.out()), 30_000, 'the reload line');
    assert.equal(hub.child.exitCode, null, 'the process lives on');
    const auth = (key: string) =>
      fetch(`${url}/api/v1/stats`, { headers: { authorization: `Bearer ${key}-key-0123456789abcdef` } });
    assert.equal((await auth('stays')).status, 200);
    assert.equal((await auth('goes')).status, 401);

    writeFileSync(file, 'auth:\n  api_keys:\n    - key: short\n      scopes: [read]\n');
    hub.child.kill('SIGHUP');
    await until(() => /configuration reload refused/.test(hub.err()), 30_000, 'the refusal on stderr');
    assert.match(hub.err(), /configuration reload refused: auth\.api_keys\.0\.key/);
    assert.equal((await auth('stays')).status, 200, 'the running configuration stays');
    const pongFrom = stays.frames.length;
    stays.send({ op: 'ping', id: 1 });
    await stays.next((f) => f.type === 'pong', 30_000, pongFrom);
    stays.close();
  } finally {
    hub.child.kill('SIGTERM');
  }
  assert.equal(await hub.exited, 0);
});
