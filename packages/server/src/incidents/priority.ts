/**
 * @module priority
 * Priorities of incidents: P0 is the most urgent. An incident starts at `SEVERITY_PRIORITY` of its highest
 * severity, rises when a more severe alert joins or when it escalates, and never falls while it is not resolved.
 */
import type { Severity } from '@vigil/protocol';
import { type Priority, SEVERITY_PRIORITY, SEVERITY_RANK } from '../alerts/types.js';

const ORDER: readonly Priority[] = ['P0', 'P1', 'P2', 'P3', 'P4'];

/** Smaller is more urgent: P0 → 0 … P4 → 4. */
export function priorityRank(p: Priority): number {
  return ORDER.indexOf(p);
}

/** The more urgent of two priorities. */
export function higherPriority(a: Priority, b: Priority): Priority {
  return priorityRank(a) <= priorityRank(b) ? a : b;
}

/** One step more urgent, stopping at P0. */
export function raisePriority(p: Priority): Priority {
  return ORDER[Math.max(0, priorityRank(p) - 1)]!;
}

export function higherSeverity(a: Severity, b: Severity): Severity {
  return SEVERITY_RANK[a] >= SEVERITY_RANK[b] ? a : b;
}

export function priorityOf(severity: Severity): Priority {
  return SEVERITY_PRIORITY[severity];
}
