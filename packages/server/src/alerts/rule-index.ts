/**
 * @module rule-index
 * Finds the rules that apply to a series without testing every rule of its metric: rules without label selectors
 * are kept per metric, the others under one of their selector pairs (metric → label → value → rules). A sample then
 * costs one lookup per selector label in use, plus a full check of the few candidates.
 */
import type { Series } from '../metrics/series-registry.js';
import { labelsMatch } from '../metrics/series-registry.js';
import type { Rule } from './rule.js';

interface MetricRules {
  all: Rule[];
  unlabelled: Rule[];
  byLabel: Map<string, Map<string, Rule[]>>;
}

function removeFrom(list: Rule[], name: string): void {
  const i = list.findIndex((r) => r.name === name);
  if (i >= 0) list.splice(i, 1);
}

export class RuleIndex {
  private readonly byMetric = new Map<string, MetricRules>();

  add(rule: Rule): void {
    let m = this.byMetric.get(rule.metric);
    if (!m) {
      m = { all: [], unlabelled: [], byLabel: new Map() };
      this.byMetric.set(rule.metric, m);
    }
    m.all.push(rule);
    const keys = Object.keys(rule.labels).sort();
    if (keys.length === 0) {
      m.unlabelled.push(rule);
      return;
    }
    const key = keys[0]!;
    let values = m.byLabel.get(key);
    if (!values) {
      values = new Map();
      m.byLabel.set(key, values);
    }
    const list = values.get(rule.labels[key]!) ?? [];
    list.push(rule);
    values.set(rule.labels[key]!, list);
  }

  remove(rule: Rule): void {
    const m = this.byMetric.get(rule.metric);
    if (!m) return;
    removeFrom(m.all, rule.name);
    removeFrom(m.unlabelled, rule.name);
    for (const values of m.byLabel.values()) for (const list of values.values()) removeFrom(list, rule.name);
    if (m.all.length === 0) this.byMetric.delete(rule.metric);
  }

  /** Whether any rule names `metric`. */
  hasMetric(metric: string): boolean {
    return this.byMetric.size > 0 && this.byMetric.has(metric);
  }

  /** Calls `fn` for every rule whose metric and label selectors match `series`. */
  forSeries(series: Series, fn: (rule: Rule) => void): void {
    const m = this.byMetric.get(series.name);
    if (!m) return;
    for (const rule of m.unlabelled) fn(rule);
    for (const [key, values] of m.byLabel) {
      if (!Object.hasOwn(series.labels, key)) continue;
      const list = values.get(series.labels[key]!);
      if (!list) continue;
      for (const rule of list) if (labelsMatch(series.labels, rule.labels)) fn(rule);
    }
  }
}
