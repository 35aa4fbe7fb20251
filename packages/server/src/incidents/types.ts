/**
 * @module incident-types
 * The incident model published on `incidents` and served by `/api/v1/incidents`.
 */
import type { Severity } from '@vigil/protocol';
import type { Priority } from '../alerts/types.js';

export type IncidentStatus = 'open' | 'acknowledged' | 'resolved';

export const INCIDENT_STATUSES: readonly IncidentStatus[] = ['open', 'acknowledged', 'resolved'];

/** Event kinds on the `incidents` channel; each carries the whole incident. */
export type IncidentEventKind =
  | 'incident_created'
  | 'incident_updated'
  | 'incident_resolved'
  | 'incident_escalated'
  | 'incident_assigned'
  | 'incident_commented';

export interface IncidentComment {
  id: string;
  by: string;
  text: string;
  /** ms since the epoch. */
  at: number;
}

export type TimelineType =
  | 'created'
  | 'alert_added'
  | 'alert_resolved'
  | 'severity_raised'
  | 'acknowledged'
  | 'assigned'
  | 'commented'
  | 'escalated'
  | 'resolved';

export interface TimelineEntry {
  at: number;
  type: TimelineType;
  by?: string;
  detail: string;
}

export interface Incident {
  id: string;
  title: string;
  status: IncidentStatus;
  priority: Priority;
  /** The highest severity of its alerts. */
  severity: Severity;
  group_key: string;
  /** The group labels (`incidents.group_by`). */
  labels: Record<string, string>;
  /** Ids of the alerts grouped into it, in joining order. */
  alerts: string[];
  /** How many of those alerts are still firing. */
  firing: number;
  assignee: string | null;
  comments: IncidentComment[];
  timeline: TimelineEntry[];
  created_at: number;
  updated_at: number;
  acknowledged_at?: number;
  acknowledged_by?: string;
  resolved_at?: number;
  resolved_by?: string;
  escalation_level: number;
  last_escalated_at?: number;
}
