/**
 * @module services
 * Test support for suites that need Redis or PostgreSQL: where to find them (REDIS_URL, DATABASE_URL), whether they
 * answer, and cleanup. Without the service, a suite is skipped with one line saying how to start it, unless
 * VIGIL_REQUIRE_SERVICES is set (as `.ci/run` does): then a missing service fails the run.
 */
import { test } from 'node:test';
import { Redis } from 'ioredis';

export function redisUrl(): string {
  return process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
}

const HOW_TO_START: Record<string, string> = {
  redis: 'start it with `redis-server --daemonize yes` (apt-get install -y redis-server)',
  postgres: 'start it with `pg_ctlcluster 15 main start` (apt-get install -y postgresql)',
};

export async function redisReachable(url: string): Promise<boolean> {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  client.on('error', () => {});
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

/**
 * Resolves true when the service answers. Otherwise: with VIGIL_REQUIRE_SERVICES set, registers a failing test; without
 * it, registers one skipped test whose name says which service was missing and how to start it.
 */
export async function requireService(service: 'redis', url: string): Promise<boolean> {
  if (await redisReachable(url)) return true;
  const line = `${service} is not reachable at ${url}; ${HOW_TO_START[service]}`;
  if (process.env.VIGIL_REQUIRE_SERVICES) {
    test(`${service} is required (VIGIL_REQUIRE_SERVICES is set)`, () => {
      throw new Error(line);
    });
  } else {
    test(line, { skip: true }, () => {});
  }
  return false;
}

/** Deletes every key under `prefix`. */
export async function dropRedisPrefix(url: string, prefix: string): Promise<void> {
  const client = new Redis(url, { maxRetriesPerRequest: 1 });
  client.on('error', () => {});
  try {
    let cursor = '0';
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await client.unlink(...keys);
    } while (cursor !== '0');
  } finally {
    client.disconnect();
  }
}
