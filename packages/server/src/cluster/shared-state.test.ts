/**
 * @module cluster/shared-state.test
 * Two hub nodes sharing a Redis (channels) and a PostgreSQL schema (state), as in docs/cluster.md: a task created
 * through node A is read, listed and updated through node B, and B's subscribers see A's task events live; an incident
 * and the dead-letter log written on one node are read on the other; samples taken in by the follower reach the leader,
 * and a range query on the leader reads them from the shared store before the follower seals them; each node lists
 * and queries the series the other created, and a series both took in is read whole on either.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import type { TaskData as Task } from '@vigil/protocol';
import pg from 'pg';
import { type RunningHub, startHub, TestClient, until } from '../testing/hub-fixture.js';
import {
  databaseUrl,
  dropPostgresSchema,
  dropRedisPrefix,
  randomSchema,
  redisUrl,
  requireService,
} from '../testing/services.js';

const pgUrl = databaseUrl();
const rUrl = redisUrl();

if ((await requireService('postgres', pgUrl)) && (await requireService('redis', rUrl))) {
  const schema = randomSchema();
  const prefix = `vigil-test:shared:${randomBytes(6).toString('hex')}:`;
  let a: RunningHub;
  let b: RunningHub;

  before(async () => {
    const common = {
      broker: { engine: 'redis', url: rUrl, prefix },
      store: { engine: 'postgres', url: pgUrl, schema, pool_size: 4 },
      dashboard: { enabled: false },
      // No checkpoint while the tests run: what one node reads of another's samples comes from its pending rows.
      metrics: { collect_interval: '1s', checkpoint_interval: '1h' },
    };
    [a, b] = await Promise.all([
      startHub({ ...common, node_id: 'node-a' }),
      startHub({ ...common, node_id: 'node-b' }),
    ]);
  });

  after(async () => {
    await a?.stop();
    await b?.stop();
    await dropPostgresSchema(pgUrl, schema);
    await dropRedisPrefix(rUrl, prefix);
  });

  test('a task created through node A is visible and live on node B', async () => {
    const watcher = await TestClient.connect(b.wsUrl);
    try {
      await watcher.request({ op: 'subscribe', channels: ['tasks'] });
      const created = await fetch(`${a.url}/api/v1/tasks`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'reindex', total: 10 }),
      });
      assert.equal(created.status, 201);
      const task = (await created.json()) as Task;
      const live = await watcher.next((f) => f.type === 'event' && (f.data as Task | undefined)?.id === task.id);
      assert.equal((live.data as Task).name, 'reindex');

      const onB = (await (await fetch(`${b.url}/api/v1/tasks/${task.id}`)).json()) as Task;
      assert.deepEqual(onB, task);
      const patched = await fetch(`${b.url}/api/v1/tasks/${task.id}`, {
        method: 'PATCH',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ processed: 4 }),
      });
      assert.equal(patched.status, 200);
      const listed = (await (await fetch(`${a.url}/api/v1/tasks`)).json()) as { tasks: Task[] };
      assert.deepEqual(
        listed.tasks.map((t) => [t.id, t.processed]),
        [[task.id, 4]],
        'an update through B is read through A',
      );
    } finally {
      watcher.close();
    }
  });

  test("samples taken in by the follower reach the leader: clients' as they came, its host series labelled with it", async () => {
    await until(() => a.hub.isLeading() !== b.hub.isLeading(), 30_000, 'one leader of the two');
    const [leader, follower] = a.hub.isLeading() ? [a, b] : [b, a];
    const posted = await fetch(`${follower.url}/api/v1/metrics`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'relay.probe', value: 7, labels: { svc: 'x' } }),
    });
    assert.equal(posted.status, 200);
    await until(
      () => leader.hub.metricsService.list({ prefix: 'relay.probe' }).length === 1,
      30_000,
      'the posted sample on the leader',
    );
    assert.deepEqual(leader.hub.metricsService.list({ prefix: 'relay.probe' }), [
      { metric: 'relay.probe', labels: { svc: 'x' } },
    ]);
    const followerId = follower.hub.config.nodeId;
    await until(
      () => leader.hub.metricsService.list({ prefix: 'system.', labels: { host: followerId } }).length > 0,
      30_000,
      "the follower's host series on the leader",
    );
    assert.deepEqual(
      follower.hub.metricsService.list({ prefix: 'system.', labels: { host: '' } }),
      [],
      'the follower labels its own host series too (cluster/host-series.test.ts)',
    );
  });

  test("a range query on one node returns another node's samples before that node checkpoints", async () => {
    await until(() => a.hub.isLeading() !== b.hub.isLeading(), 30_000, 'one leader of the two');
    const [leader, follower] = a.hub.isLeading() ? [a, b] : [b, a];
    const t0 = Math.floor(Date.now() / 1000) * 1000 - 120_000;
    const samples = Array.from({ length: 30 }, (_, i) => ({
      name: 'fresh.probe',
      value: i,
      ts: t0 + i * 1000,
      labels: { svc: 'y' },
    }));
    const posted = await fetch(`${follower.url}/api/v1/metrics`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(samples),
    });
    assert.equal(posted.status, 200);
    // The leader knows the series once the relay brought it; its hot window starts with the first sample relayed.
    await until(
      () => leader.hub.metricsService.list({ prefix: 'fresh.probe' }).length === 1,
      30_000,
      'the series on the leader',
    );
    // A range that starts before the hot window is read from the store: the follower's pending rows.
    const res = await fetch(
      `${leader.url}/api/v1/metrics/fresh.probe?from=${t0 - 30_000}&to=${t0 + 60_000}&step=1s&agg=avg`,
    );
    assert.equal(res.status, 200);
    const body = (await res.json()) as { tier: string; series: { points: [number, number][] }[] };
    assert.equal(body.tier, 'raw');
    assert.deepEqual(
      body.series[0]?.points,
      samples.map((s) => [s.ts, s.value]),
    );
    const client = new pg.Client({ connectionString: pgUrl });
    await client.connect();
    try {
      const chunks = await client.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM ${schema}.metric_chunks c JOIN ${schema}.metric_series s ON s.id = c.series ` +
          "WHERE s.name = 'fresh.probe'",
      );
      assert.equal(chunks.rows[0]!.n, 0, 'not sealed yet');
    } finally {
      await client.end();
    }
  });

  test("every node queries every node's series: one it never took in, and one both took in half of", async () => {
    const post = async (hub: RunningHub, body: unknown) => {
      const res = await fetch(`${hub.url}/api/v1/metrics`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      assert.equal(res.status, 200);
      assert.equal(((await res.json()) as { rejected: number }).rejected, 0);
    };
    const points = async (hub: RunningHub, name: string, from: number, to: number) => {
      const res = await fetch(`${hub.url}/api/v1/metrics/${name}?from=${from}&to=${to}&step=1s&agg=avg`);
      assert.equal(res.status, 200);
      const body = (await res.json()) as { series: { points: [number, number][] }[] };
      return body.series[0]?.points ?? [];
    };
    // Recent samples: the whole range lies inside each node's hot window.
    const t0 = Math.floor(Date.now() / 1000) * 1000 - 30_000;
    const samples = Array.from({ length: 20 }, (_, i) => ({ value: i, ts: t0 + i * 1000, labels: { svc: 'z' } }));
    // A client posting one series through a balancer: each sample, in time order, to one node or the other.
    for (const [i, x] of samples.entries()) await post(i % 2 === 0 ? a : b, { ...x, name: 'split.probe' });
    // The follower's hot ring holds its half (the leader's also the follower's, relayed); the range starts inside
    // both rings, so the follower's ring alone would answer half.
    const want = samples.slice(1).map((x) => [x.ts, x.value]);
    for (const hub of [a, b]) {
      assert.deepEqual(await points(hub, 'split.probe', t0 + 1000, t0 + 19_000), want, hub.hub.config.nodeId);
    }
    // A series created on node A only: node B finds it in the store within its discovery interval.
    await post(
      a,
      samples.map((x) => ({ ...x, name: 'found.probe' })),
    );
    await until(
      () => b.hub.metricsService.list({ prefix: 'found.probe' }).length === 1,
      30_000,
      "node A's new series listed on node B",
    );
    assert.deepEqual(
      await points(b, 'found.probe', t0, t0 + 19_000),
      samples.map((x) => [x.ts, x.value]),
    );
  });

  test('incidents and failed notifications written by one node are read by the other', async () => {
    await a.hub.state.recordFailure({
      at: Date.now(),
      kind: 'alert_webhook',
      url: 'http://127.0.0.1:9/hook',
      group_key: '{}',
      attempts: 3,
      last_error: 'refused',
      payload: { on: 'node-a' },
    });
    const failures = (await (await fetch(`${b.url}/api/v1/notifications/failures`)).json()) as {
      total: number;
      failures: { payload: unknown }[];
    };
    assert.equal(failures.total, 1);
    assert.deepEqual(failures.failures[0]!.payload, { on: 'node-a' });

    const raised = await fetch(`${a.url}/api/v1/alerts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'SharedDisk', labels: { host: 'db1' } }),
    });
    assert.equal(raised.status < 300, true, `raise: ${raised.status}`);
    // The leader raises it, whichever node it reached; the incident is in the shared store once opened.
    await until(async () => (await a.hub.incidents.list({})).length > 0, 30_000, 'an incident in the shared store');
    const [inc] = await a.hub.incidents.list({});
    assert.ok(inc, 'an incident was opened');
    const onB = await fetch(`${b.url}/api/v1/incidents/${inc.id}`);
    assert.equal(onB.status, 200);
    assert.equal(((await onB.json()) as { title: string }).title, inc.title);
    // The alert's row is written after the event turn; B reads it once it is there.
    await until(
      async () => {
        const res = await fetch(`${b.url}/api/v1/alerts?rule=SharedDisk`);
        return ((await res.json()) as { alerts: { rule: string }[] }).alerts.length === 1;
      },
      30_000,
      'the alert history of A read through B',
    );
  });
}
