/**
 * @module alert-store
 * What the alerts part keeps in the state store (storage/state-store.ts): alerts with the evaluator's resume state,
 * their transitions, silences, and the query of alert history.
 */
import type { AlertTransition } from '@vigil/protocol';
import type { Alert, AlertStatus } from './types.js';

export interface StoredAlert extends Alert {
  series_key: string | null;
  clear_since: number | null;
  flapping: boolean;
}

export type Transition = AlertTransition;

export interface SilenceRow {
  id: string;
  matchers: string;
  starts_at: number;
  ends_at: number;
  created_by: string;
  comment: string;
  created_at: number;
}

export interface AlertQuery {
  state?: AlertStatus | undefined;
  rule?: string | undefined;
  since?: number | undefined;
  limit: number;
}
