/**
 * @module redis-broker.test
 * The shared broker conformance suite against the real Redis (REDIS_URL, default redis://127.0.0.1:6379), on one
 * node and on two nodes of one cluster. Every cluster gets its own key prefix, deleted afterwards.
 */
import { after } from 'node:test';
import { dropRedisPrefix, redisUrl, requireService } from '../testing/services.js';
import { brokerConformance } from './conformance.js';
import { HistoryPolicies } from './history-policy.js';
import { RedisBroker } from './redis-broker.js';

const url = redisUrl();
const available = await requireService('redis', url);
const prefixes = new Set<string>();
after(async () => {
  for (const p of prefixes) await dropRedisPrefix(url, p);
});

if (available) {
  for (const nodes of [1, 2] as const) {
    brokerConformance(
      'redis',
      async ({ defaults, rules, budget, cluster }) => {
        const prefix = `vigil-test:${cluster}:${nodes}:`;
        prefixes.add(prefix);
        const broker = new RedisBroker({ url, prefix, policies: new HistoryPolicies(defaults, rules, budget) });
        await broker.start();
        return broker;
      },
      { nodes },
    );
  }
}
