/**
 * @module alert-types
 * The alert model shared by the rule engine, external alert intake, silences, notifiers and incidents.
 *
 * An alert is one label set of one rule (or one external alert) from its first pending moment to its resolution.
 * Its `id` is stable across pending → firing → resolved; a later recurrence is a new alert with a new id. Every
 * transition (and every acknowledgement) is published on `alerts` as an `alert` event and reaches the listeners
 * registered with `AlertBus.onChange`.
 */
import type { AlertData, Priority, Severity } from '@vigil/protocol';

export type AlertStatus = AlertData['status'];

/** An alert: the wire shape of `AlertData` (see @vigil/protocol) plus what the hub keeps about it. */
export interface Alert extends AlertData {
  ack_comment?: string;
  /** `rule` for the hub's own rules, `external` for alerts posted to /api/v1/alerts. */
  source: 'rule' | 'external';
  /** Hash of rule + labels: the identity of the series the alert is about. */
  fingerprint: string;
  /** True while a silence matches it: state moves on, notifications are held back. */
  silenced: boolean;
  updated_at: number;
}

/** What changed: a state transition, an acknowledgement, or a silence starting/ending. */
export type AlertChange = 'transition' | 'ack' | 'silence';

export type AlertListener = (alert: Readonly<Alert>, change: AlertChange, previous: AlertStatus | undefined) => void;

/** External alert intake, used by /api/v1/alerts and by parts of the hub (a stalled task, say). */
export interface ExternalAlertInput {
  name: string;
  status: 'firing' | 'resolved';
  severity?: Severity;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  starts_at?: number;
  ends_at?: number;
  value?: number | null;
}

/** The face of the alert engine that other parts use. */
export interface AlertBus {
  onChange(listener: AlertListener): void;
  /** Raises on this node's engine (it must lead, or be the only node). */
  raiseExternal(input: ExternalAlertInput): Alert;
  /** Raises on the engine that leads the cluster (this one, or the leader's for a follower). */
  raise(input: ExternalAlertInput): Promise<Alert>;
  get(id: string): Promise<Alert | undefined>;
  /** Active (pending or firing) alerts. */
  active(): Alert[];
}

/** P0 (most urgent) to P4, mapped from severity as documented in docs/alerts.md. */
export type { Priority };

export const SEVERITY_PRIORITY: Record<Severity, Priority> = {
  critical: 'P1',
  error: 'P2',
  warning: 'P3',
  info: 'P4',
};

export const SEVERITY_RANK: Record<Severity, number> = { info: 0, warning: 1, error: 2, critical: 3 };
