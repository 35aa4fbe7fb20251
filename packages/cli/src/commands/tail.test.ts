/**
 * @module tail.test
 * `vigil tail` as a real process against a real hub process (`vigil serve` of the server package, host metrics every
 * second): live lines, `--json` frames, `--since` history joined to the live stream with nothing twice,
 * reconnect with a gap warning after a hub restart, SIGINT exit 0, and usage errors.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { CLI_MAIN, type Proc, SERVER_MAIN, spawnHub, spawnTs, until } from '../testing/cli-fixture.js';

const dirs: string[] = [];
const procs: Proc[] = [];
let url: string;

function dataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-cli-tail-'));
  dirs.push(dir);
  return dir;
}

function tail(...args: string[]): Proc {
  const p = spawnTs(CLI_MAIN, ['tail', ...args]);
  procs.push(p);
  return p;
}

async function stop(p: Proc): Promise<number | null> {
  p.child.kill('SIGINT');
  return p.exited;
}

const lines = (text: string) => text.split('\n').filter((l) => l !== '');

async function publish(base: string, channel: string, data: unknown): Promise<void> {
  const res = await fetch(`${base}/api/v1/publish`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ channel, data }),
  });
  assert.equal(res.status, 200);
}

before(async () => {
  // Warm tsx's compile cache while the hub starts, so that the first tail does not wait for a compile.
  const warm = spawnTs(CLI_MAIN, ['tail', '--help']);
  const hub = await spawnHub(SERVER_MAIN, dataDir());
  procs.push(hub.proc);
  url = hub.url;
  assert.equal(await warm.exited, 0);
  const flowing = async () => {
    const { channels } = (await (await fetch(`${url}/api/v1/channels`)).json()) as { channels: { channel: string }[] };
    return channels.some((c) => c.channel.startsWith('metrics.'));
  };
  for (let i = 0; i < 100 && !(await flowing()); i++) await new Promise((r) => setTimeout(r, 50));
});

after(async () => {
  for (const p of procs) if (p.child.exitCode === null) p.child.kill('SIGKILL');
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

test("tail 'metrics.>' prints live metric lines and exits 0 on SIGINT", async (t) => {
  const started = Date.now();
  const p = tail('metrics.>', '--url', url);
  const line = /^\d\d:\d\d:\d\d\.\d{3} metrics\.\S+ metric_update [a-z_.]+(\{.*\})? = -?[\d.e+-]+$/m;
  await until(() => line.test(p.out()), 30_000, `a metric line (stdout: ${p.out().slice(0, 200)}, stderr: ${p.err()})`);
  t.diagnostic(`first metric line after ${Date.now() - started} ms`);
  assert.ok(!p.out().includes('\x1b'), 'no colour into a pipe');
  assert.match(p.err(), /vigil: connected to http:\/\/127\.0\.0\.1:\d+ \(node /);
  assert.equal(await stop(p), 0);
});

test("tail 'metrics.>' --json prints one raw event frame per line", async (t) => {
  const started = Date.now();
  const p = tail('metrics.>', '--json', '--url', url);
  await until(() => lines(p.out()).length >= 1, 30_000, `a JSON line (stderr: ${p.err()})`);
  t.diagnostic(`first JSON line after ${Date.now() - started} ms`);
  await until(() => lines(p.out()).length >= 3, 30_000, 'three JSON lines');
  assert.equal(await stop(p), 0);
  for (const l of lines(p.out())) {
    const frame = JSON.parse(l) as Record<string, unknown>;
    assert.deepEqual(Object.keys(frame), ['type', 'channel', 'offset', 'ts', 'kind', 'data']);
    assert.equal(frame.type, 'event');
    assert.equal(frame.kind, 'metric_update');
    assert.match(String(frame.channel), /^metrics\./);
  }
});

test('--since prints history first, then live events, each offset once; --filter applies to both', async () => {
  for (let i = 1; i <= 3; i++) await publish(url, 'hist.a', { i, level: i === 2 ? 'x' : 'y' });
  const p = tail('hist.>', '--since', '1', '--json', '--url', url);
  await until(() => lines(p.out()).length >= 2, 30_000, `history (stderr: ${p.err()})`);
  await publish(url, 'hist.a', { i: 4 });
  await until(() => lines(p.out()).length >= 3, 30_000, 'the live event');
  const recent = tail('hist.a', '--since', '1m', '--url', url);
  await until(() => lines(recent.out()).length >= 4, 30_000, `--since 1m (stderr: ${recent.err()})`);
  const filtered = tail('hist.a', '--since', '0', '--json', '--filter', '{"ids":["nope"]}', '--url', url);
  await new Promise((r) => setTimeout(r, 300));
  await until(() => /connected/.test(filtered.err()), 30_000, 'the filtered tail to connect');
  await publish(url, 'hist.a', { i: 5 });
  await until(() => lines(p.out()).length >= 4, 30_000, 'the second live event');
  assert.deepEqual(await Promise.all([stop(p), stop(recent), stop(filtered)]), [0, 0, 0]);
  const frames = lines(p.out()).map((l) => JSON.parse(l) as { offset: number; data: { i: number } });
  assert.deepEqual(
    frames.map((f) => [f.offset, f.data.i]),
    [
      [2, 2],
      [3, 3],
      [4, 4],
      [5, 5],
    ],
  );
  assert.match(lines(recent.out())[0]!, / hist\.a message \{"i":1,"level":"y"\}$/);
  assert.equal(filtered.out(), '', 'the filter keeps nothing, from history or live');
});

test('after a hub restart, tail reconnects by itself and warns of the gap', async () => {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as { port: number };
  await new Promise((r) => srv.close(r));
  const dir = dataDir();
  const args = ['serve', '--port', String(port), '--data', dir];
  const first = spawnTs(SERVER_MAIN, args);
  procs.push(first);
  const base = `http://127.0.0.1:${port}`;
  await until(() => /listening on/.test(first.out()), 20_000, 'the first hub');
  await publish(base, 'gap.x', { n: 1 });
  const p = tail('gap.x', '--url', base);
  await until(() => /connected to/.test(p.err()), 30_000, 'tail to connect');
  await publish(base, 'gap.x', { n: 2 });
  await until(() => lines(p.out()).length === 1, 30_000, 'the live event');
  first.child.kill('SIGTERM');
  assert.equal(await first.exited, 0);
  await until(() => /connection lost .*; reconnecting/.test(p.err()), 30_000, `the lost line (stderr: ${p.err()})`);
  const second = spawnTs(SERVER_MAIN, args);
  procs.push(second);
  await until(() => /listening on/.test(second.out()), 20_000, 'the second hub');
  await until(() => /reconnected to/.test(p.err()), 60_000, `tail to reconnect (stderr: ${p.err()})`);
  await publish(base, 'gap.x', { n: 3 });
  await until(() => lines(p.out()).length === 2, 30_000, `the event after the restart (stderr: ${p.err()})`);
  assert.match(p.err(), /vigil: gap on gap\.x: the channel restarted \(new epoch\)/);
  assert.match(lines(p.out())[1]!, / gap\.x message \{"n":3\}$/);
  assert.equal(await stop(p), 0);
  second.child.kill('SIGTERM');
  await second.exited;
});

test('bad patterns, filters and --since exit 2', async () => {
  const runs = [
    tail(),
    tail('a..b'),
    tail('x', '--filter', '{"nope":1}'),
    tail('x', '--filter', 'not json'),
    tail('x', '--since', 'yesterday'),
  ];
  for (const r of runs) {
    assert.equal(await r.exited, 2, r.err());
    assert.match(r.err(), /^vigil tail: .+\nRun 'vigil tail --help'\.\n$/);
  }
});
