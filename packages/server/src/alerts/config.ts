/**
 * @module alerts-config
 * Configuration of the alerts part (`alerts:` in the config file): rules, the evaluation timer and flap protection.
 */
import { type Static, Type } from '@sinclair/typebox';
import { VigilError } from '@vigil/protocol';
import { DurationSchema as Duration, parseDuration } from '../config/duration.js';
import type { FlapPolicy } from './evaluate.js';
import { parseRule, type Rule } from './rule.js';

export const AlertsConfigSchema = Type.Object(
  {
    rules: Type.Array(Type.Unknown(), { default: [], description: 'Alert rules; see docs/alerts.md.' }),
    evaluation_interval: Duration('1s', 'Timer for `for`, `keep_firing_for`, absence rules and sliding windows.'),
    flap: Type.Object(
      {
        window: Duration('10m', 'Window in which firing episodes are counted.'),
        max_firings: Type.Integer({
          default: 4,
          minimum: 2,
          description: 'Firings within the window that mean flapping.',
        }),
        hold: Duration('5m', 'A flapping alert resolves only after its condition has been clear this long.'),
      },
      { additionalProperties: false, default: {} },
    ),
  },
  { additionalProperties: false, default: {} },
);

export interface AlertsConfig {
  readonly rules: readonly Rule[];
  readonly evaluationIntervalMs: number;
  readonly flap: FlapPolicy;
}

/** Parses the section; a bad rule throws an error whose `key` names it, e.g. `alerts.rules.2.threshold`. */
export function toAlertsConfig(raw: Static<typeof AlertsConfigSchema>): AlertsConfig | { key: string; reason: string } {
  const rules: Rule[] = [];
  const names = new Set<string>();
  for (let i = 0; i < raw.rules.length; i++) {
    try {
      const rule = parseRule(raw.rules[i], 'config');
      if (names.has(rule.name)) return { key: `alerts.rules.${i}.name`, reason: `duplicate rule name '${rule.name}'` };
      names.add(rule.name);
      rules.push(rule);
    } catch (err) {
      if (err instanceof VigilError) {
        const field = typeof err.details?.field === 'string' ? err.details.field : 'rule';
        return { key: `alerts.rules.${i}.${field}`, reason: err.message };
      }
      throw err;
    }
  }
  return {
    rules,
    evaluationIntervalMs: Math.max(10, parseDuration(raw.evaluation_interval)!),
    flap: {
      windowMs: parseDuration(raw.flap.window)!,
      maxFirings: raw.flap.max_firings,
      holdMs: parseDuration(raw.flap.hold)!,
    },
  };
}
