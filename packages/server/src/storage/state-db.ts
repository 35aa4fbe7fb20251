/**
 * @module state-db
 * The hub's state database (`<data_dir>/state.db`, SQLite in WAL mode): rules, alerts, silences, incidents, tasks
 * and notification logs. Each part declares its tables with `migrate()`; the time series live apart in `vigil.db`
 * so that their write load never blocks state changes.
 */
import Database from 'better-sqlite3';

export type StateDb = Database.Database;

export function openStateDb(path: string): StateDb {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('busy_timeout = 5000');
  db.pragma('foreign_keys = ON');
  db.exec(
    'CREATE TABLE IF NOT EXISTS migrations (part TEXT NOT NULL, version INTEGER NOT NULL, PRIMARY KEY (part, version))',
  );
  return db;
}

/**
 * Applies the numbered migrations of one part that have not run yet, each in a transaction. Append new steps; never
 * edit an applied one.
 */
export function migrate(db: StateDb, part: string, steps: readonly string[]): void {
  const done = new Set(
    (db.prepare('SELECT version FROM migrations WHERE part = ?').all(part) as { version: number }[]).map(
      (r) => r.version,
    ),
  );
  steps.forEach((sql, i) => {
    const version = i + 1;
    if (done.has(version)) return;
    db.transaction(() => {
      db.exec(sql);
      db.prepare('INSERT INTO migrations (part, version) VALUES (?, ?)').run(part, version);
    })();
  });
}
