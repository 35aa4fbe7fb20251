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

export interface TaskData {
  id: string;
  name: string;
  status: 'running' | 'succeeded' | 'failed' | 'cancelled' | 'stalled';
  progress: number;
  processed: number;
  total: number | null;
  errors: number;
  eta_s: number | null;
  started_at: number;
  details: Record<string, unknown>;
}
