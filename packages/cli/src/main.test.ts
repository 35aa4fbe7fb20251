/**
 * @module main.test
 * The `vigil` binary as a real process: `serve` delegates to the hub (health answers, SIGTERM exits 0), usage
 * errors exit 2, an unreachable hub exits 1 with a clear message, and a hub error prints `vigil: <code>: <message>`.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { CLI_MAIN, spawnHub, spawnTs } from './testing/cli-fixture.js';

test('vigil serve starts the hub; the other commands reach it; SIGTERM exits 0', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-cli-serve-'));
  const { proc, url } = await spawnHub(CLI_MAIN, dir);
  try {
    assert.equal((await fetch(`${url}/health`)).status, 200);
    const status = spawnTs(CLI_MAIN, ['status', '--json'], { VIGIL_URL: url });
    assert.equal(await status.exited, 0, status.err());
    assert.equal(JSON.parse(status.out()).url, url);
    const forbidden = spawnTs(CLI_MAIN, ['publish', 'alerts', '1', '--url', url]);
    assert.equal(await forbidden.exited, 1);
    assert.equal(forbidden.err(), "vigil: forbidden: Channel 'alerts' is written by the hub only\n");
  } finally {
    proc.child.kill('SIGTERM');
    assert.equal(await proc.exited, 0);
    rmSync(dir, { recursive: true, force: true });
  }
});

test('usage errors exit 2; an unreachable hub exits 1', async () => {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as { port: number };
  await new Promise((r) => srv.close(r));
  const [usage, badServe, unreachable] = [
    spawnTs(CLI_MAIN, ['push', 'only-a-name']),
    spawnTs(CLI_MAIN, ['serve', '--port', 'http']),
    spawnTs(CLI_MAIN, ['status', '--url', `http://127.0.0.1:${port}`]),
  ];
  assert.equal(await usage.exited, 2);
  assert.equal(usage.err(), "vigil push: missing <value>\nRun 'vigil push --help'.\n");
  assert.equal(await badServe.exited, 2);
  assert.match(badServe.err(), /invalid configuration: port/);
  assert.equal(await unreachable.exited, 1);
  assert.match(
    unreachable.err(),
    new RegExp(`^vigil: cannot reach the hub at http://127\\.0\\.0\\.1:${port}: .*ECONNREFUSED`),
  );
});
