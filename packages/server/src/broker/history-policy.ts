/**
 * @module history-policy
 * The history limits every broker engine honours:
 * - per channel, from the configured defaults and per-pattern overrides (first match wins): events kept, their age,
 *   and their bytes;
 * - for the whole hub: bytes held by all channels together, and the number of channels.
 *
 * Bytes are an estimate of the memory an event holds once parsed (`eventBytes`), the same for every engine. When the
 * total passes its budget, `waterLevel` says how far to cut the largest channels back (the biggest publishers lose
 * their oldest history first; small channels keep theirs).
 */
import { matchChannel } from '@vigil/protocol';
import type { HistoryPolicy } from './broker.js';

export interface HistoryRule {
  pattern: string;
  max_events?: number;
  max_age_ms?: number;
  max_bytes?: number;
}

/** Limits of the whole hub's history. */
export interface HistoryBudget {
  /** Bytes held by all channels together, per-channel overhead included. */
  max_total_bytes: number;
  /** Channels with a position; publishing to one more is refused. */
  max_channels: number;
}

export const UNLIMITED_BUDGET: HistoryBudget = Object.freeze({
  max_total_bytes: Number.POSITIVE_INFINITY,
  max_channels: Number.POSITIVE_INFINITY,
});

/** When the total passes its budget, channels are cut back until it is at this fraction of it. */
export const BUDGET_LOW_WATER = 0.9;

export class HistoryPolicies {
  private cache = new Map<string, Required<HistoryPolicy>>();
  private defaults: Required<HistoryPolicy>;
  private rules: readonly HistoryRule[];
  budget: HistoryBudget;

  constructor(defaults: HistoryPolicy, rules: readonly HistoryRule[] = [], budget: HistoryBudget = UNLIMITED_BUDGET) {
    this.defaults = withBytes(defaults);
    this.rules = rules;
    this.budget = budget;
  }

  /** Swaps in new limits (configuration reload); channels are trimmed to them as they are next touched. */
  replace(defaults: HistoryPolicy, rules: readonly HistoryRule[], budget: HistoryBudget): void {
    this.defaults = withBytes(defaults);
    this.rules = rules;
    this.budget = budget;
    this.cache = new Map();
  }

  for(channel: string): Required<HistoryPolicy> {
    let policy = this.cache.get(channel);
    if (policy) return policy;
    policy = this.defaults;
    for (const rule of this.rules) {
      if (matchChannel(rule.pattern, channel)) {
        policy = {
          max_events: rule.max_events ?? this.defaults.max_events,
          max_age_ms: rule.max_age_ms ?? this.defaults.max_age_ms,
          max_bytes: rule.max_bytes ?? this.defaults.max_bytes,
        };
        break;
      }
    }
    if (this.cache.size > 100_000) this.cache.clear();
    this.cache.set(channel, policy);
    return policy;
  }
}

function withBytes(p: HistoryPolicy): Required<HistoryPolicy> {
  return { max_events: p.max_events, max_age_ms: p.max_age_ms, max_bytes: p.max_bytes ?? Number.POSITIVE_INFINITY };
}

/** Bytes one channel costs beyond its events: its state, name and position. */
export function channelOverhead(channel: string): number {
  return 160 + 2 * channel.length;
}

// Estimated V8 heap sizes, rounded up: what a parsed JSON value keeps alive. Small objects share their keys through
// hidden classes; objects with many keys are dictionaries that hold each key and a three-word entry.
const EVENT_BYTES = 96;
const OBJECT_BYTES = 24;
const ARRAY_BYTES = 32;
const SLOT_BYTES = 8;
const DICTIONARY_AFTER = 32;
const DICTIONARY_ENTRY_BYTES = 24;
const STRING_BYTES = 16;

function stringBytes(s: string): number {
  // Strings with a character past U+00FF take two bytes per character.
  return STRING_BYTES + (s.length > 0 && /[\u0100-\uffff]/.test(s) ? 2 * s.length : s.length);
}

/**
 * The estimated memory an event holds: its fields and its data as parsed (within about a factor of 1.5 of the V8
 * heap for strings, numbers, arrays and objects). Walks the data once, without recursion, so deep nesting cannot
 * overflow the stack.
 */
export function eventBytes(event: { channel: string; kind: string; data: unknown }): number {
  let bytes = EVENT_BYTES + event.kind.length;
  const stack: unknown[] = [event.data];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v === 'string') bytes += stringBytes(v);
    else if (Array.isArray(v)) {
      bytes += ARRAY_BYTES + SLOT_BYTES * v.length;
      for (let i = 0; i < v.length; i++) {
        const item: unknown = v[i];
        if (typeof item === 'string' || (typeof item === 'object' && item !== null)) stack.push(item);
      }
    } else if (typeof v === 'object' && v !== null) {
      bytes += OBJECT_BYTES;
      let n = 0;
      for (const key in v) {
        n++;
        bytes += n > DICTIONARY_AFTER ? DICTIONARY_ENTRY_BYTES + stringBytes(key) : SLOT_BYTES;
        const item = (v as Record<string, unknown>)[key];
        if (typeof item === 'string' || (typeof item === 'object' && item !== null)) stack.push(item);
      }
    }
  }
  return bytes;
}

/**
 * The most bytes each channel may keep so that all of them together hold at most `target`: channels at or below the
 * level keep everything, the larger ones are cut to it. `sizes` are the channels' bytes; returns Infinity when they
 * already fit.
 */
export function waterLevel(sizes: readonly number[], target: number): number {
  let total = 0;
  for (const s of sizes) total += s;
  if (total <= target) return Number.POSITIVE_INFINITY;
  const sorted = [...sizes].sort((a, b) => a - b);
  let below = 0;
  for (let i = 0; i < sorted.length; i++) {
    const remaining = sorted.length - i;
    const level = (target - below) / remaining;
    if (level <= sorted[i]!) return Math.max(0, Math.floor(level));
    below += sorted[i]!;
  }
  return Math.max(0, Math.floor(target / sorted.length));
}
