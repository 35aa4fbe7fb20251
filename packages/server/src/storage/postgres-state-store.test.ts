/**
 * @module storage/postgres-state-store.test
 * PostgresStateStore against the real PostgreSQL of this machine (DATABASE_URL, by default
 * postgres://postgres@127.0.0.1:5432/test), each store in a schema of its own that is dropped after the run: the shared
 * StateStore conformance suite, then migrations (versioned, once, safe when nodes start together).
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import pg from 'pg';
import { databaseUrl, dropPostgresSchema, randomSchema, requireService } from '../testing/services.js';
import { POSTGRES_STATE_MIGRATIONS, PostgresStateStore } from './postgres-state-store.js';
import { stateStoreConformance } from './state-store-conformance.js';

const url = databaseUrl();

if (await requireService('postgres', url)) {
  stateStoreConformance('postgres', {
    newPlace: randomSchema,
    make: (schema, { maxFailures }) => new PostgresStateStore({ url, schema, maxFailures, poolSize: 4 }),
    dropPlace: (schema) => dropPostgresSchema(url, schema),
  });

  const schemas: string[] = [];
  after(async () => {
    for (const s of schemas) await dropPostgresSchema(url, s);
  });

  test('postgres: three nodes opening one new schema at once migrate it once', async () => {
    const schema = randomSchema();
    schemas.push(schema);
    const stores = [1, 2, 3].map(() => new PostgresStateStore({ url, schema, poolSize: 2 }));
    await Promise.all(stores.map((s) => s.open()));
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const { rows } = await client.query(`SELECT part, version FROM ${schema}.vigil_migrations ORDER BY version`);
      assert.deepEqual(
        rows,
        POSTGRES_STATE_MIGRATIONS.map((_, i) => ({ part: 'state', version: i + 1 })),
      );
    } finally {
      await client.end();
      for (const s of stores) await s.close();
    }
  });

  test('postgres: a bad schema name or an unreachable server is a clear error', async () => {
    assert.throws(
      () => new PostgresStateStore({ url, schema: 'Robert"); DROP TABLE x; --' }),
      /invalid PostgreSQL schema/,
    );
    const unreachable = new PostgresStateStore({ url: 'postgres://postgres@127.0.0.1:1/test', schema: randomSchema() });
    await assert.rejects(unreachable.open(), /ECONNREFUSED|connect/);
  });
}
