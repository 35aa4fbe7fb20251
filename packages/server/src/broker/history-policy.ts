/**
 * @module history-policy
 * Resolves the history limits of a channel from the configured defaults and per-pattern overrides (first match wins).
 */
import { matchChannel } from '@vigil/protocol';
import type { HistoryPolicy } from './broker.js';

export interface HistoryRule {
  pattern: string;
  max_events?: number;
  max_age_ms?: number;
}

export class HistoryPolicies {
  private readonly cache = new Map<string, HistoryPolicy>();

  constructor(
    private readonly defaults: HistoryPolicy,
    private readonly rules: readonly HistoryRule[] = [],
  ) {}

  for(channel: string): HistoryPolicy {
    let policy = this.cache.get(channel);
    if (policy) return policy;
    policy = this.defaults;
    for (const rule of this.rules) {
      if (matchChannel(rule.pattern, channel)) {
        policy = {
          max_events: rule.max_events ?? this.defaults.max_events,
          max_age_ms: rule.max_age_ms ?? this.defaults.max_age_ms,
        };
        break;
      }
    }
    if (this.cache.size > 100_000) this.cache.clear();
    this.cache.set(channel, policy);
    return policy;
  }
}
