/**
 * @module incidents-config
 * Configuration of the incidents part (`incidents:` in the config file).
 */
import { type Static, Type } from '@sinclair/typebox';
import { DurationSchema as Duration, parseDuration } from '../config/duration.js';

export const IncidentsConfigSchema = Type.Object(
  {
    group_by: Type.Array(Type.String({ minLength: 1 }), {
      default: ['alertname'],
      description: 'Labels that group firing alerts into one incident (`alertname` is the rule name).',
    }),
    auto_resolve: Type.Boolean({ default: true, description: 'Resolve an incident when all its alerts resolve.' }),
    escalation: Type.Object(
      {
        after: Duration('15m', 'Escalate an incident not acknowledged within this time; 0 turns escalation off.'),
        repeat: Type.Boolean({ default: true, description: 'Keep escalating every `after` until acknowledged.' }),
        targets: Type.Array(Type.String({ pattern: '^https?://' }), {
          default: [],
          description: 'Webhook URLs notified in turn at each escalation level.',
        }),
      },
      { additionalProperties: false, default: {} },
    ),
    check_interval: Duration('5s', 'How often open incidents are checked for escalation.'),
  },
  { additionalProperties: false, default: {} },
);

export interface IncidentsConfig {
  readonly groupBy: readonly string[];
  readonly autoResolve: boolean;
  readonly escalation: { readonly afterMs: number; readonly repeat: boolean; readonly targets: readonly string[] };
  readonly checkIntervalMs: number;
}

export function toIncidentsConfig(raw: Static<typeof IncidentsConfigSchema>): IncidentsConfig {
  return {
    groupBy: [...raw.group_by],
    autoResolve: raw.auto_resolve,
    escalation: {
      afterMs: parseDuration(raw.escalation.after)!,
      repeat: raw.escalation.repeat,
      targets: [...raw.escalation.targets],
    },
    checkIntervalMs: Math.max(100, parseDuration(raw.check_interval)!),
  };
}
