/**
 * @module evaluate
 * The per-series decision of a rule: what a rule sees in a series now (an observation), and how an alert state moves
 * on that observation (pending → firing → resolved), with `for`, `keep_firing_for`, hysteresis and flap protection.
 * Pure functions over plain data, driven by the engine on each sample and on its timer.
 */
import type { Severity } from '@vigil/protocol';
import type { Series } from '../metrics/series-registry.js';
import { quantile } from '../metrics/window-stats.js';
import { compare, type Rule } from './rule.js';
import { SEVERITY_RANK } from './types.js';

const SEVERITIES: Severity[] = ['info', 'warning', 'error', 'critical'];

export interface Observation {
  /** The firing condition holds. */
  active: boolean;
  /** The alert, once firing, should stay firing (hysteresis: the resolve condition does not hold). */
  keep: boolean;
  value: number | null;
  severity: Severity;
}

/** Window aggregate of a series over [ref - windowMs, ref]; NaN when the window holds no finite value. */
export function aggregate(series: Series, rule: Rule, ref: number): number {
  if (rule.agg === 'last') return series.lastValue;
  const from = ref - rule.windowMs;
  if (rule.agg === 'rate') {
    let prev = Number.NaN;
    let first = Number.NaN;
    let last = Number.NaN;
    let increase = 0;
    series.ring.forEach(from, ref, (t, v) => {
      if (Number.isNaN(first)) first = t;
      if (!Number.isNaN(prev)) increase += v >= prev ? v - prev : v;
      prev = v;
      last = t;
    });
    return last > first ? increase / ((last - first) / 1000) : Number.NaN;
  }
  const values: number[] = [];
  series.ring.forEach(from, ref, (_t, v) => {
    if (Number.isFinite(v)) values.push(v);
  });
  if (values.length === 0) return Number.NaN;
  switch (rule.agg) {
    case 'min':
      return values.reduce((a, b) => Math.min(a, b));
    case 'max':
      return values.reduce((a, b) => Math.max(a, b));
    case 'p95':
      return quantile(Float64Array.from(values).sort(), 0.95);
    default:
      return values.reduce((a, b) => a + b, 0) / values.length;
  }
}

function raise(severity: Severity): Severity {
  return SEVERITIES[Math.min(SEVERITIES.length - 1, SEVERITY_RANK[severity] + 1)]!;
}

/** What `rule` sees in `series` at time `now`. */
export function observe(rule: Rule, series: Series, now: number): Observation {
  const ref = Math.max(now, series.lastTs);
  if (rule.kind === 'absence') {
    const silentFor = series.lastTs === Number.NEGATIVE_INFINITY ? Number.POSITIVE_INFINITY : now - series.lastTs;
    const active = silentFor >= rule.forMs;
    return { active, keep: active, value: null, severity: rule.severity };
  }
  if (rule.kind === 'anomaly') {
    const z = series.lastZ;
    if (!Number.isFinite(z)) return { active: false, keep: false, value: null, severity: rule.severity };
    const a = Math.abs(z);
    const active = a >= rule.z;
    const keep = rule.resolveThreshold !== null ? a >= rule.resolveThreshold : active;
    return { active, keep, value: z, severity: a >= rule.zCritical ? raise(rule.severity) : rule.severity };
  }
  const value = aggregate(series, rule, ref);
  if (!Number.isFinite(value)) return { active: false, keep: false, value: null, severity: rule.severity };
  const active = compare(value, rule.op, rule.threshold!);
  const keep = rule.resolveThreshold !== null ? compare(value, rule.op, rule.resolveThreshold) : active;
  return { active, keep, value, severity: rule.severity };
}

export type StateStatus = 'inactive' | 'pending' | 'firing';

/** The evaluation state of one rule on one series. */
export interface RuleState {
  status: StateStatus;
  /** When the condition started to hold (pending or firing since). */
  since: number;
  /** When the resolve condition started to hold while firing, or null. */
  clearSince: number | null;
  /** Recent times this state went to firing, for flap detection. */
  fired: number[];
  flapping: boolean;
}

export interface FlapPolicy {
  windowMs: number;
  /** Firing episodes within the window that make a series flapping. */
  maxFirings: number;
  /** How long the condition must stay clear before a flapping alert resolves. */
  holdMs: number;
}

export type Step = 'none' | 'pending' | 'firing' | 'resolved' | 'update';

export function newState(): RuleState {
  return { status: 'inactive', since: 0, clearSince: null, fired: [], flapping: false };
}

/** Moves `state` on `obs` at `now`; returns what happened. Absence rules fire without a pending phase. */
export function step(rule: Rule, state: RuleState, obs: Observation, now: number, flap: FlapPolicy): Step {
  switch (state.status) {
    case 'inactive':
      if (!obs.active) return 'none';
      state.since = now;
      state.clearSince = null;
      if (rule.forMs > 0 && rule.kind !== 'absence') {
        state.status = 'pending';
        return 'pending';
      }
      return fire(state, now, flap);
    case 'pending':
      if (!obs.active) {
        state.status = 'inactive';
        return 'resolved';
      }
      if (now - state.since >= rule.forMs) return fire(state, now, flap);
      return 'none';
    default: {
      if (obs.keep) {
        const wasClearing = state.clearSince !== null;
        state.clearSince = null;
        return wasClearing ? 'update' : 'none';
      }
      state.clearSince ??= now;
      const hold = state.flapping ? Math.max(flap.holdMs, rule.keepFiringForMs) : rule.keepFiringForMs;
      if (now - state.clearSince >= hold) {
        state.status = 'inactive';
        state.clearSince = null;
        return 'resolved';
      }
      return 'none';
    }
  }
}

function fire(state: RuleState, now: number, flap: FlapPolicy): Step {
  state.status = 'firing';
  state.fired = state.fired.filter((t) => t > now - flap.windowMs);
  state.fired.push(now);
  state.flapping = state.fired.length >= flap.maxFirings;
  return 'firing';
}
