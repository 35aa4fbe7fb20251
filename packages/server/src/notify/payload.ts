/**
 * @module payload
 * The Alertmanager webhook payload, version 4, built from Vigil alerts. Receivers written for Alertmanager (chat
 * bridges, paging services, custom handlers) accept it unchanged.
 */
import type { Alert } from '../alerts/types.js';
import { alertLabels, commonPairs, sortLabels } from './labels.js';

/** Go's zero time, which Alertmanager sends as `endsAt` of an alert that has not ended. */
export const ZERO_TIME = '0001-01-01T00:00:00Z';

export interface AlertmanagerAlert {
  status: 'firing' | 'resolved';
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  generatorURL: string;
  fingerprint: string;
}

export interface AlertmanagerPayload {
  version: '4';
  groupKey: string;
  truncatedAlerts: 0;
  status: 'firing' | 'resolved';
  receiver: string;
  groupLabels: Record<string, string>;
  commonLabels: Record<string, string>;
  commonAnnotations: Record<string, string>;
  externalURL: string;
  alerts: AlertmanagerAlert[];
}

export function rfc3339(ms: number): string {
  return new Date(ms).toISOString();
}

export function toAlertmanagerAlert(alert: Readonly<Alert>, externalURL: string): AlertmanagerAlert {
  const resolved = alert.status === 'resolved';
  return {
    status: resolved ? 'resolved' : 'firing',
    labels: sortLabels(alertLabels(alert)),
    annotations: sortLabels({ ...alert.annotations }),
    startsAt: rfc3339(alert.starts_at),
    endsAt: resolved ? rfc3339(alert.ends_at ?? alert.updated_at) : ZERO_TIME,
    generatorURL: `${externalURL}/api/v1/alerts/${encodeURIComponent(alert.id)}`,
    fingerprint: alert.fingerprint,
  };
}

export interface PayloadInput {
  receiver: string;
  groupKey: string;
  groupLabels: Record<string, string>;
  externalURL: string;
  alerts: readonly Readonly<Alert>[];
}

/** `status` is `firing` while any alert in the notification fires, `resolved` once none does. */
export function buildPayload(input: PayloadInput): AlertmanagerPayload {
  const alerts = input.alerts.map((a) => toAlertmanagerAlert(a, input.externalURL));
  return {
    version: '4',
    groupKey: input.groupKey,
    truncatedAlerts: 0,
    status: alerts.some((a) => a.status === 'firing') ? 'firing' : 'resolved',
    receiver: input.receiver,
    groupLabels: { ...input.groupLabels },
    commonLabels: commonPairs(alerts.map((a) => a.labels)),
    commonAnnotations: commonPairs(alerts.map((a) => a.annotations)),
    externalURL: input.externalURL,
    alerts,
  };
}
