/**
 * @module services
 * Test support for suites that need Redis or PostgreSQL: where to find them (REDIS_URL, DATABASE_URL), whether they
 * answer, and cleanup. Without the service, a suite is skipped with one line saying how to start it, unless
 * VIGIL_REQUIRE_SERVICES is set (as `.ci/run` does): then a missing service fails the run.
 */
import { test } from 'node:test';
import { Redis } from 'ioredis';
import pg from 'pg';

export function redisUrl(): string {
  return process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
}

export function databaseUrl(): string {
  return process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
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

export async function postgresReachable(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

/** A schema name no other run uses (`vigil_test_<random>`). */
export function randomSchema(): string {
  return `vigil_test_${Math.random().toString(36).slice(2, 12)}`;
}

/** Drops a schema made by a test run, with everything in it. */
export async function dropPostgresSchema(url: string, schema: string): Promise<void> {
  if (!/^[a-z_][a-z0-9_]*$/.test(schema)) throw new Error(`invalid schema name '${schema}'`);
  const client = new pg.Client({ connectionString: url });
  client.on('error', () => {});
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  } finally {
    await client.end();
  }
}

/**
 * Resolves true when the service answers. Otherwise: with VIGIL_REQUIRE_SERVICES set, registers a failing test; without
 * it, registers one skipped test whose name says which service was missing and how to start it.
 */
export async function requireService(service: 'redis' | 'postgres', url: string): Promise<boolean> {
  if (await (service === 'redis' ? redisReachable(url) : postgresReachable(url))) return true;
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
