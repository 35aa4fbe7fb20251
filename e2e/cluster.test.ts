/**
 * @module cluster.test
 * The dashboard on a cluster of two real hub nodes sharing Redis and PostgreSQL (docs/cluster.md), each node's own
 * host series labelled with its host id: on node A, whose collector is off, the Overview has no host series (node
 * B's are B's, not A's), and Fleet's page of node B's machine draws B's charts; on node B the Overview draws its own.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  databaseUrl,
  dropPostgresSchema,
  dropRedisPrefix,
  randomSchema,
  redisUrl,
  requireService,
} from '../packages/server/src/testing/services.js';
import { BrowserFixture, connected, skipReason, until } from './fixture.js';
import { startHub, type TestHub } from './hub.js';

const SHOTS = process.env.VIGIL_E2E_SHOTS;
const pgUrl = databaseUrl();
const rUrl = redisUrl();
const services = skipReason
  ? false
  : (await requireService('postgres', pgUrl)) && (await requireService('redis', rUrl));

describe('Dashboard on a cluster', {
  skip: skipReason ?? (services ? undefined : 'Redis or PostgreSQL missing'),
}, () => {
  const schema = randomSchema();
  const prefix = `vigil-e2e:cluster:${randomBytes(6).toString('hex')}:`;
  let a: TestHub;
  let bNode: TestHub;
  const b = new BrowserFixture();

  before(async () => {
    const common = {
      broker: { engine: 'redis', url: rUrl, prefix },
      store: { engine: 'postgres', url: pgUrl, schema, pool_size: 4 },
      fleet: { check_interval: '200ms', summary_interval: '500ms' },
    };
    a = await startHub({ ...common, node_id: 'e2e-node-a', metrics: { collect_interval: 0 } });
    bNode = await startHub({ ...common, node_id: 'e2e-node-b', metrics: { collect_interval: '500ms' } });
    await b.start();
  });
  after(async () => {
    await b.stop();
    await bNode?.stop();
    await a?.stop();
    await dropPostgresSchema(pgUrl, schema);
    await dropRedisPrefix(rUrl, prefix);
  });

  test("node B's machine charted on node A; each node's Overview its own series", async () => {
    await until(
      () => a.hub.fleet.list().some((h) => h.id === 'e2e-node-b' && h.source === 'hub'),
      30_000,
      "node B's machine listed on node A",
    );

    const overviewA = await b.page(`${a.url}/`);
    await connected(overviewA);
    const page = await b.page(`${a.url}/fleet/e2e-node-b`);
    await connected(page);
    await page.getByTestId('host-facts').waitFor();
    await page.getByTestId('chart-cpu').waitFor({ timeout: 30_000 });
    await page.getByTestId('chart-memory').waitFor({ timeout: 30_000 });
    await until(
      async () => Number(await page.getByTestId('chart-cpu').getAttribute('data-points')) > 2,
      30_000,
      "points on node B's CPU chart, on node A",
    );
    assert.match((await page.getByTestId('host-facts').textContent()) ?? '', /e2e-node-b/, 'reports to node B');
    if (SHOTS) await page.screenshot({ path: join(SHOTS, 'cluster-node-b-on-a.png'), fullPage: true });

    // Node A collects nothing: its Overview shows no host charts, although node B's samples reach its browser.
    assert.equal(await overviewA.getByTestId('chart-cpu').count(), 0, "node B's series are not node A's");
    await overviewA.getByText('Waiting for host metrics').waitFor();
    if (SHOTS) await overviewA.screenshot({ path: join(SHOTS, 'cluster-overview-a.png'), fullPage: true });

    const overviewB = await b.page(`${bNode.url}/`);
    await connected(overviewB);
    await overviewB.getByTestId('chart-cpu').waitFor({ timeout: 30_000 });
    await until(
      async () => Number(await overviewB.getByTestId('chart-cpu').getAttribute('data-points')) > 2,
      30_000,
      "points on node B's own Overview",
    );
    if (SHOTS) await overviewB.screenshot({ path: join(SHOTS, 'cluster-overview-b.png'), fullPage: true });
    b.assertClean();
  });
});
