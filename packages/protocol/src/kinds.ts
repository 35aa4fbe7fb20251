/**
 * @module kinds
 * Event kinds and the data shapes of the built-in channels, for typed clients.
 */
import type { Severity } from './filter.js';

export const EventKind = {
  METRIC_UPDATE: 'metric_update',
  SYSTEM_STATUS: 'system_status',
  ALERT: 'alert',
  INCIDENT_CREATED: 'incident_created',
  INCIDENT_UPDATED: 'incident_updated',
  INCIDENT_RESOLVED: 'incident_resolved',
  INCIDENT_ESCALATED: 'incident_escalated',
  INCIDENT_ASSIGNED: 'incident_assigned',
  INCIDENT_COMMENTED: 'incident_commented',
  TASK_UPDATE: 'task_update',
  MESSAGE: 'message',
} as const;

export type EventKindName = (typeof EventKind)[keyof typeof EventKind];

export interface MetricUpdateData {
  metric: string;
  ts: number;
  value: number;
  labels: Record<string, string>;
}

export interface AlertData {
  id: string;
  rule: string;
  status: 'pending' | 'firing' | 'resolved';
  severity: Severity;
  value: number | null;
  threshold: number | null;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  starts_at: number;
  ends_at?: number;
  acknowledged_by?: string;
  acknowledged_at?: number;
}

/** A task, as published on `tasks` and served by `/api/v1/tasks`. */
export interface TaskData {
  id: string;
  name: string;
  status: 'running' | 'stalled' | 'succeeded' | 'failed' | 'cancelled';
  /** Fraction 0..1, or null while unknown. */
  progress: number | null;
  processed: number;
  total: number | null;
  errors: number;
  eta_s: number | null;
  details: Record<string, unknown>;
  /** ms since the epoch. */
  started_at: number;
  /** The last report from the task's owner (create or update); stall checks do not move it. */
  updated_at: number;
  ended_at?: number;
  stalled_since?: number;
}

export type IncidentStatus = 'open' | 'acknowledged' | 'resolved';

/** P0 (most urgent) to P4. */
export type Priority = 'P0' | 'P1' | 'P2' | 'P3' | 'P4';

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

export type IncidentTimelineType =
  | 'created'
  | 'alert_added'
  | 'alert_resolved'
  | 'severity_raised'
  | 'acknowledged'
  | 'assigned'
  | 'commented'
  | 'escalated'
  | 'resolved';

export interface IncidentTimelineEntry {
  /** ms since the epoch. */
  at: number;
  type: IncidentTimelineType;
  by?: string;
  detail: string;
}

/** An incident, as published on `incidents` and served by `/api/v1/incidents`. */
export interface IncidentData {
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
  timeline: IncidentTimelineEntry[];
  created_at: number;
  updated_at: number;
  acknowledged_at?: number;
  acknowledged_by?: string;
  resolved_at?: number;
  resolved_by?: string;
  escalation_level: number;
  last_escalated_at?: number;
}
