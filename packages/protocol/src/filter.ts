/**
 * @module filter
 * Server-side subscription filters: a filter is compiled once per subscription into a predicate over events.
 */
import type { Priority } from './kinds.js';

export const SEVERITIES = ['info', 'warning', 'error', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];

export const PRIORITIES: readonly Priority[] = ['P0', 'P1', 'P2', 'P3', 'P4'];

/** The priority of an event with no `priority` of its own, from its severity (as incidents take it). */
const PRIORITY_OF_SEVERITY: Record<string, Priority> = { critical: 'P1', error: 'P2', warning: 'P3', info: 'P4' };

export interface Filter {
  kinds?: string[];
  ids?: string[];
  min_severity?: Severity;
  states?: string[];
  labels?: Record<string, string>;
  priorities?: Priority[];
  sources?: string[];
  resources?: string[];
}

/** An event's priority: its `data.priority` (P0 to P4), else the one of its `data.severity`; undefined for neither. */
export function priorityOf(data: unknown): Priority | undefined {
  const p = field(data, 'priority');
  if (typeof p === 'string' && (PRIORITIES as readonly string[]).includes(p)) return p as Priority;
  const s = field(data, 'severity');
  return typeof s === 'string' ? PRIORITY_OF_SEVERITY[s] : undefined;
}

/** `data.labels[key]`, else `data[key]`, when it is a string. */
function fieldOrLabel(data: unknown, key: string): string | undefined {
  const l = field(field(data, 'labels'), key);
  if (typeof l === 'string') return l;
  const v = field(data, key);
  return typeof v === 'string' ? v : undefined;
}

/** The part of an event a filter looks at. */
export interface FilterableEvent {
  kind: string;
  data: unknown;
}

export type EventPredicate = (event: FilterableEvent) => boolean;

function severityRank(value: unknown): number {
  return typeof value === 'string' ? SEVERITIES.indexOf(value as Severity) : -1;
}

function field(data: unknown, key: string): unknown {
  if (data === null || typeof data !== 'object') return undefined;
  return Object.hasOwn(data, key) ? (data as Record<string, unknown>)[key] : undefined;
}

/** Compiles a (validated) filter into a predicate. An empty filter keeps everything. */
export function compileFilter(filter: Filter | undefined): EventPredicate | undefined {
  if (!filter) return undefined;
  const checks: EventPredicate[] = [];
  if (filter.kinds) {
    const kinds = new Set(filter.kinds);
    checks.push((e) => kinds.has(e.kind));
  }
  if (filter.ids) {
    const ids = new Set(filter.ids);
    checks.push((e) => {
      const id = field(e.data, 'id');
      return (typeof id === 'string' || typeof id === 'number') && ids.has(String(id));
    });
  }
  if (filter.min_severity !== undefined) {
    const min = severityRank(filter.min_severity);
    checks.push((e) => severityRank(field(e.data, 'severity')) >= min);
  }
  if (filter.states) {
    const states = new Set(filter.states);
    checks.push((e) => {
      const s = field(e.data, 'status');
      return typeof s === 'string' && states.has(s);
    });
  }
  if (filter.labels) {
    const wanted = Object.entries(filter.labels);
    checks.push((e) => {
      const labels = field(e.data, 'labels');
      if (labels === null || typeof labels !== 'object') return false;
      for (const [k, v] of wanted) if (field(labels, k) !== v) return false;
      return true;
    });
  }
  if (filter.priorities) {
    const priorities = new Set<string>(filter.priorities);
    checks.push((e) => {
      const p = priorityOf(e.data);
      return p !== undefined && priorities.has(p);
    });
  }
  for (const key of ['sources', 'resources'] as const) {
    const list = filter[key];
    if (!list) continue;
    const wanted = new Set(list);
    const name = key === 'sources' ? 'source' : 'resource';
    checks.push((e) => {
      const v = fieldOrLabel(e.data, name);
      return v !== undefined && wanted.has(v);
    });
  }
  if (checks.length === 0) return undefined;
  if (checks.length === 1) return checks[0];
  return (e) => {
    for (const c of checks) if (!c(e)) return false;
    return true;
  };
}

/**
 * A canonical text of a filter (object keys sorted, list order kept): equal texts keep the same events, so
 * subscriptions with equal texts may be served together. Empty for no filter or one that keeps everything.
 */
export function filterKey(filter: Filter | undefined): string {
  if (compileFilter(filter) === undefined) return '';
  return canonical(filter);
}

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const keys = Object.keys(value).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
