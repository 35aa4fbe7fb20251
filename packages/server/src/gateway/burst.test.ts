/**
 * @module burst.test
 * 500 concurrent clients each receive every event of a 20,000-event burst, in order. The clients run in a child
 * process (the second core), the hub in this one.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startHub, until } from '../testing/hub-fixture.js';

test('500 clients x 20,000-event burst: every client gets every event in order', async () => {
  const clients = 500;
  const events = 20_000;
  const h = await startHub({ gateway: { max_queue_bytes: 4 * 1024 * 1024 } });
  // Stopped whatever happens, so a failure ends the test file instead of leaving the hub running.
  try {
    const script = fileURLToPath(new URL('../testing/burst-clients.ts', import.meta.url));
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', script, h.wsUrl, String(clients), 'burst.x', String(events), '60000'],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    await until(() => out.includes('ready'), 30_000, 'clients connected');
    await until(() => h.hub.subscriberCount('burst.x') === clients, 10_000, 'subscriptions');

    // Published in bursts of 1,000 without waiting on each event (a networked broker answers each one later).
    let burst: Promise<unknown>[] = [];
    for (let i = 1; i <= events; i++) {
      burst.push(h.hub.emit('burst.x', 'tick', { i }));
      if (i % 1000 === 0) {
        await Promise.all(burst);
        burst = [];
        await new Promise((r) => setImmediate(r));
      }
    }
    const code = await new Promise<number | null>((r) => child.on('exit', r));
    assert.equal(code, 0);
    const summary = JSON.parse(out.trim().split('\n').at(-1)!) as Record<string, number>;
    assert.deepEqual(summary, { clients, complete: clients, disorder: 0, gaps: 0, min_last: events });
    assert.equal(h.hub.counters.queue.drops, 0);
  } finally {
    await h.stop();
  }
});
