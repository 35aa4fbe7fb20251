/**
 * @module storage/sqlite-state-store.test
 * SqliteStateStore on real files in a temporary directory: the shared StateStore conformance suite, and a state.db
 * written before the StateStore existed (same per-part migrations) opening with its rows intact.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { SqliteStateStore } from './sqlite-state-store.js';
import { migrate, openStateDb } from './state-db.js';
import { stateStoreConformance } from './state-store-conformance.js';

const newPath = () => join(mkdtempSync(join(tmpdir(), 'vigil-state-')), 'state.db');

stateStoreConformance('sqlite', {
  newPlace: newPath,
  make: (path, { maxFailures }) => new SqliteStateStore({ path, maxFailures }),
});

test('sqlite: a state.db whose migrations already ran opens without re-running them', async () => {
  const path = newPath();
  const first = new SqliteStateStore({ path });
  await first.open();
  await first.saveRule('kept', { v: 1 }, 1);
  await first.close();
  const db = openStateDb(path);
  const versions = db.prepare('SELECT part, version FROM migrations ORDER BY part').all();
  // A migration that already ran is skipped even when its SQL would now fail.
  migrate(db, 'alerts', ['CREATE TABLE rules (x)']);
  db.close();
  assert.deepEqual(versions, [
    { part: 'alerts', version: 1 },
    { part: 'fleet', version: 1 },
    { part: 'incidents', version: 1 },
    { part: 'notify', version: 1 },
    { part: 'tasks', version: 1 },
  ]);
  const again = new SqliteStateStore({ path });
  await again.open();
  assert.deepEqual(await again.rules(), [{ name: 'kept', spec: '{"v":1}' }]);
  await again.close();
});
