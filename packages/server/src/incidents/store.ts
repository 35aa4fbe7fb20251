/**
 * @module incident-store
 * What the incidents part keeps in the state store (storage/state-store.ts): each incident, and each member alert
 * with its last known status, so that auto-resolution survives a restart and an alert never joins two incidents.
 */
import type { Incident } from './types.js';

export type MemberStatus = 'firing' | 'resolved';

/** An incident with the status of each of its alerts. */
export interface IncidentRecord {
  incident: Incident;
  members: Map<string, MemberStatus>;
}
