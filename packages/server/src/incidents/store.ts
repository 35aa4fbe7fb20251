/**
 * @module incident-store
 * Incidents in the state database: one row per incident (the incident as JSON beside the columns used to filter),
 * and one row per member alert with its last known status, so that auto-resolution survives a restart and an alert
 * never joins two incidents.
 */
import { migrate, type StateDb } from '../storage/state-db.js';
import type { Incident, IncidentStatus } from './types.js';

export type MemberStatus = 'firing' | 'resolved';

/** An incident with the status of each of its alerts. */
export interface IncidentRecord {
  incident: Incident;
  members: Map<string, MemberStatus>;
}

const MIGRATIONS = [
  `CREATE TABLE incidents (
     id TEXT PRIMARY KEY,
     status TEXT NOT NULL,
     group_key TEXT NOT NULL,
     created_at INTEGER NOT NULL,
     updated_at INTEGER NOT NULL,
     body TEXT NOT NULL
   );
   CREATE INDEX incidents_status_created ON incidents (status, created_at);
   CREATE INDEX incidents_created ON incidents (created_at);
   CREATE TABLE incident_alerts (
     alert_id TEXT PRIMARY KEY,
     incident_id TEXT NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
     status TEXT NOT NULL
   );
   CREATE INDEX incident_alerts_incident ON incident_alerts (incident_id)`,
];

export class IncidentStore {
  constructor(private readonly db: StateDb) {
    migrate(db, 'incidents', MIGRATIONS);
  }

  /** Writes the incident and the statuses of the members named in `changed`, in one transaction. */
  save(record: IncidentRecord, changed: readonly string[]): void {
    const { incident } = record;
    this.db.transaction(() => {
      this.db
        .prepare(
          `INSERT INTO incidents (id, status, group_key, created_at, updated_at, body) VALUES (?, ?, ?, ?, ?, ?)
           ON CONFLICT (id) DO UPDATE SET status = excluded.status, updated_at = excluded.updated_at,
             body = excluded.body`,
        )
        .run(
          incident.id,
          incident.status,
          incident.group_key,
          incident.created_at,
          incident.updated_at,
          JSON.stringify(incident),
        );
      const upsert = this.db.prepare(
        `INSERT INTO incident_alerts (alert_id, incident_id, status) VALUES (?, ?, ?)
         ON CONFLICT (alert_id) DO UPDATE SET status = excluded.status`,
      );
      for (const alertId of changed) {
        const status = record.members.get(alertId);
        if (status) upsert.run(alertId, incident.id, status);
      }
    })();
  }

  get(id: string): IncidentRecord | undefined {
    const row = this.db.prepare('SELECT body FROM incidents WHERE id = ?').get(id) as { body: string } | undefined;
    return row && this.withMembers(JSON.parse(row.body) as Incident);
  }

  /** The incident an alert belongs to, if any (resolved incidents included). */
  incidentOfAlert(alertId: string): string | undefined {
    const row = this.db.prepare('SELECT incident_id FROM incident_alerts WHERE alert_id = ?').get(alertId) as
      | { incident_id: string }
      | undefined;
    return row?.incident_id;
  }

  /** Newest first. */
  list(opts: { status?: IncidentStatus; limit: number }): Incident[] {
    const rows = (
      opts.status
        ? this.db
            .prepare('SELECT body FROM incidents WHERE status = ? ORDER BY created_at DESC, rowid DESC LIMIT ?')
            .all(opts.status, opts.limit)
        : this.db.prepare('SELECT body FROM incidents ORDER BY created_at DESC, rowid DESC LIMIT ?').all(opts.limit)
    ) as { body: string }[];
    return rows.map((r) => JSON.parse(r.body) as Incident);
  }

  /** Open and acknowledged incidents with their members. */
  loadActive(): IncidentRecord[] {
    const rows = this.db.prepare("SELECT body FROM incidents WHERE status != 'resolved' ORDER BY created_at").all() as {
      body: string;
    }[];
    return rows.map((r) => this.withMembers(JSON.parse(r.body) as Incident));
  }

  private withMembers(incident: Incident): IncidentRecord {
    const rows = this.db
      .prepare('SELECT alert_id, status FROM incident_alerts WHERE incident_id = ?')
      .all(incident.id) as { alert_id: string; status: MemberStatus }[];
    return { incident, members: new Map(rows.map((r) => [r.alert_id, r.status])) };
  }
}
