/**
 * @module host-store
 * The `hosts` table in the hub's state database: one row per host (identity, labels, description, first and last
 * seen, status, latest summary, the newest sample batch taken), so that the registry survives a restart. The
 * registry (fleet/registry.ts) is the only user; it speaks to this module only through `HostStore`, so the table
 * can move behind another state store without touching the registry.
 */
import type { HostData, HostInfo, HostStatus, HostSummary } from '@vigil/protocol';
import { migrate, type StateDb } from '../storage/state-db.js';

/** A stored host: the public record and the time of the newest sample batch taken (to drop re-sent batches). */
export interface HostRecord {
  host: HostData;
  lastBatchTs: number;
}

/** What the registry needs from storage. */
export interface HostStore {
  load(): HostRecord[];
  save(record: HostRecord): void;
  delete(id: string): void;
}

const MIGRATIONS = [
  `CREATE TABLE hosts (
     id TEXT PRIMARY KEY,
     source TEXT NOT NULL,
     status TEXT NOT NULL,
     labels TEXT NOT NULL,
     info TEXT,
     first_seen INTEGER NOT NULL,
     last_seen INTEGER NOT NULL,
     status_since INTEGER NOT NULL,
     node TEXT NOT NULL,
     summary TEXT,
     last_batch_ts INTEGER NOT NULL
   )`,
];

interface Row {
  id: string;
  source: string;
  status: string;
  labels: string;
  info: string | null;
  first_seen: number;
  last_seen: number;
  status_since: number;
  node: string;
  summary: string | null;
  last_batch_ts: number;
}

export class SqliteHostStore implements HostStore {
  private readonly upsert;
  private readonly remove;

  constructor(private readonly db: StateDb) {
    migrate(db, 'fleet', MIGRATIONS);
    this.upsert = db.prepare(
      `INSERT INTO hosts (id, source, status, labels, info, first_seen, last_seen, status_since, node, summary, last_batch_ts)
       VALUES (@id, @source, @status, @labels, @info, @first_seen, @last_seen, @status_since, @node, @summary, @last_batch_ts)
       ON CONFLICT(id) DO UPDATE SET source = excluded.source, status = excluded.status, labels = excluded.labels,
         info = excluded.info, first_seen = excluded.first_seen, last_seen = excluded.last_seen,
         status_since = excluded.status_since, node = excluded.node, summary = excluded.summary,
         last_batch_ts = excluded.last_batch_ts`,
    );
    this.remove = db.prepare('DELETE FROM hosts WHERE id = ?');
  }

  load(): HostRecord[] {
    const rows = this.db.prepare('SELECT * FROM hosts ORDER BY id').all() as Row[];
    return rows.map((r) => ({
      host: {
        id: r.id,
        source: r.source === 'hub' ? 'hub' : 'agent',
        status: r.status as HostStatus,
        labels: JSON.parse(r.labels) as Record<string, string>,
        info: r.info === null ? null : (JSON.parse(r.info) as HostInfo),
        first_seen: r.first_seen,
        last_seen: r.last_seen,
        status_since: r.status_since,
        node: r.node,
        summary: r.summary === null ? null : (JSON.parse(r.summary) as HostSummary),
      },
      lastBatchTs: r.last_batch_ts,
    }));
  }

  save({ host, lastBatchTs }: HostRecord): void {
    this.upsert.run({
      id: host.id,
      source: host.source,
      status: host.status,
      labels: JSON.stringify(host.labels),
      info: host.info === null ? null : JSON.stringify(host.info),
      first_seen: host.first_seen,
      last_seen: host.last_seen,
      status_since: host.status_since,
      node: host.node,
      summary: host.summary === null ? null : JSON.stringify(host.summary),
      last_batch_ts: lastBatchTs,
    });
  }

  delete(id: string): void {
    this.remove.run(id);
  }
}
