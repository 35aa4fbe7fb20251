/**
 * @module restart.test
 * A hub killed with SIGKILL right after acknowledging samples keeps every one of them: a real `vigil serve` process,
 * a real SQLite file, no graceful shutdown.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { runVigil } from '../testing/serve-process.js';

test('every acknowledged sample survives a SIGKILL and restart', async () => {
  const data = mkdtempSync(join(tmpdir(), 'vigil-restart-'));
  const env = { VIGIL_PORT: '0', VIGIL_DATA_DIR: data };
  const first = runVigil(['serve'], env);
  const url = await first.url();
  const t0 = Date.now() - 60_000;
  let acked = 0;
  for (let b = 0; b < 20; b++) {
    const samples = [];
    for (let i = 0; i < 500; i++) {
      const n = b * 500 + i;
      samples.push({ name: 'durable.counter', value: n, labels: { shard: String(n % 4) }, ts: t0 + n });
    }
    const res = await fetch(`${url}/api/v1/metrics`, {
      method: 'POST',
      body: JSON.stringify(samples),
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(res.status, 200);
    acked += ((await res.json()) as { accepted: number }).accepted;
  }
  first.child.kill('SIGKILL');
  await first.exited;
  assert.equal(acked, 10_000);

  const second = runVigil(['serve'], env);
  const url2 = await second.url();
  const res = await fetch(`${url2}/api/v1/metrics/durable.counter?from=${t0 - 1}&to=${t0 + 20_000}&step=1s&agg=count`);
  const body = (await res.json()) as { series: { labels: { shard: string }; points: [number, number][] }[] };
  let total = 0;
  for (const s of body.series) for (const [, c] of s.points) total += c;
  assert.equal(body.series.length, 4);
  assert.equal(total, 10_000, 'no acknowledged sample was lost');
  const sums = await fetch(`${url2}/api/v1/metrics/durable.counter?from=${t0 - 1}&to=${t0 + 20_000}&step=1s&agg=sum`);
  let sum = 0;
  for (const s of ((await sums.json()) as typeof body).series) for (const [, v] of s.points) sum += v;
  assert.equal(sum, (9999 * 10_000) / 2, 'and their values are intact');
  second.child.kill('SIGTERM');
  assert.equal(await second.exited, 0);
});
