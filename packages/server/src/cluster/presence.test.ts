/**
 * @module presence.test
 * Two hub nodes on the real Redis: each lists both with their figures, exactly one holds the leader lease, `stats`
 * adds up the cluster, and when the leader stops the other node takes the lease. A hub on the memory engine is a
 * cluster of one.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, test } from 'node:test';
import type { ClusterNode, HubStats } from '@vigil/protocol';
import { type RunningHub, startHub, TestClient, until } from '../testing/hub-fixture.js';
import { dropRedisPrefix, redisUrl, requireService } from '../testing/services.js';

const url = redisUrl();
const available = await requireService('redis', url);

async function get<T>(h: RunningHub, path: string): Promise<T> {
  return (await (await fetch(`${h.url}${path}`)).json()) as T;
}

describe('cluster presence', () => {
  const prefix = `vigil-test:presence:${process.pid}:${randomBytes(4).toString('hex')}:`;
  const hubs: RunningHub[] = [];
  after(async () => {
    for (const h of hubs) await h.stop();
    await dropRedisPrefix(url, prefix);
  });

  test('a memory hub is a cluster of one, and its leader', async () => {
    const h = await startHub({ node_id: 'solo' });
    hubs.push(h);
    const reply = await get<{ node: string; nodes: ClusterNode[] }>(h, '/api/v1/cluster');
    assert.equal(reply.node, 'solo');
    assert.equal(reply.nodes.length, 1);
    assert.equal(reply.nodes[0]!.leader, true);
    assert.equal(reply.nodes[0]!.address, new URL(h.url).host);
  });

  test('two Redis nodes see each other, one leader; stats add up; the lease moves when the leader stops', {
    skip: !available && 'redis is not reachable',
  }, async () => {
    const broker = { engine: 'redis', url, prefix };
    const a = await startHub({ node_id: 'node-a', broker });
    const b = await startHub({ node_id: 'node-b', broker });
    hubs.push(a, b);
    await until(async () => (await get<{ nodes: ClusterNode[] }>(a, '/api/v1/cluster')).nodes.length === 2, 10_000);
    const c1 = await TestClient.connect(a.wsUrl);
    const c2 = await TestClient.connect(b.wsUrl);
    const c3 = await TestClient.connect(b.wsUrl);
    await c2.request({ op: 'subscribe', channels: ['room.1', 'room.2'] });
    const { nodes } = await get<{ nodes: ClusterNode[] }>(b, '/api/v1/cluster');
    assert.deepEqual(
      nodes.map((n) => n.id),
      ['node-a', 'node-b'],
    );
    assert.equal(nodes.filter((n) => n.leader).length, 1, 'one leader');
    const leaderId = nodes.find((n) => n.leader)!.id;
    await until(
      async () => {
        const stats = await get<HubStats>(a, '/api/v1/stats');
        return stats.cluster.nodes === 2 && stats.cluster.connections === 3 && stats.cluster.subscriptions === 2;
      },
      10_000,
      'cluster totals after a heartbeat',
    );
    const viaWs = await c1.request({ op: 'call', method: 'cluster.nodes' });
    assert.equal((viaWs.result as { nodes: ClusterNode[] }).nodes.length, 2);
    for (const c of [c1, c2, c3]) c.close();

    const [leader, other] = leaderId === 'node-a' ? [a, b] : [b, a];
    await leader.stop();
    hubs.splice(hubs.indexOf(leader), 1);
    await until(
      async () => {
        const after = await get<{ nodes: ClusterNode[] }>(other, '/api/v1/cluster');
        return after.nodes.length === 1 && after.nodes[0]!.leader;
      },
      10_000,
      'the other node leads',
    );
  });
});
