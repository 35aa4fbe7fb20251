/**
 * @module labels
 * Label sets of alerts as notifiers and incidents see them: the alert's labels plus `alertname` (the rule) and
 * `severity`, the subset named by a `group_by` list, and the Prometheus-style text form used as a group key.
 */
import type { Alert } from '../alerts/types.js';

/** `group_by: ['...']` groups by every label, as in Alertmanager. */
export const ALL_LABELS = '...';

/** The alert's labels with `alertname` and `severity` set from the alert itself. */
export function alertLabels(alert: Readonly<Alert>): Record<string, string> {
  return { ...alert.labels, alertname: alert.rule, severity: alert.severity };
}

/** The labels named in `groupBy` that the alert has (absent or empty ones are left out). */
export function groupLabelsOf(alert: Readonly<Alert>, groupBy: readonly string[]): Record<string, string> {
  const all = alertLabels(alert);
  if (groupBy.includes(ALL_LABELS)) return sortLabels(all);
  const out: Record<string, string> = {};
  for (const name of groupBy) {
    const value = all[name];
    if (value !== undefined && value !== '') out[name] = value;
  }
  return sortLabels(out);
}

export function sortLabels(labels: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of Object.keys(labels).sort()) out[k] = labels[k]!;
  return out;
}

/** `{alertname="HighCPU", host="web-1"}`: names sorted, values quoted and escaped. */
export function labelSetString(labels: Record<string, string>): string {
  const pairs = Object.keys(labels)
    .sort()
    .map((k) => `${k}=${JSON.stringify(labels[k])}`);
  return `{${pairs.join(', ')}}`;
}

/** The labels (or annotations) that every map has with the same value. */
export function commonPairs(maps: readonly Record<string, string>[]): Record<string, string> {
  if (maps.length === 0) return {};
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(maps[0]!)) if (maps.every((m) => m[k] === v)) out[k] = v;
  return sortLabels(out);
}
