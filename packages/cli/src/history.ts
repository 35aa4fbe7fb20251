/**
 * @module history
 * `vigil tail --since`: what came before going live, from `channels.history`. Patterns with wildcards are expanded
 * through `GET /api/v1/channels`. `--since N` means the events after offset N of each channel; `--since 5m` the
 * events newer than now minus five minutes. The result is merged across channels in time order, and remembers each
 * channel's last offset so that live events already printed can be skipped.
 */
import {
  type ChannelHistory,
  type ChannelList,
  compileFilter,
  type Filter,
  type HistoryEvent,
  isWildcard,
  matchChannel,
} from '@vigil/protocol';
import { parseDuration } from './format.js';
import type { HubApi } from './http.js';

export type Since = { offset: number } | { durationMs: number };

export type { HistoryEvent };

export interface History {
  events: HistoryEvent[];
  /** Per channel: the epoch and the last offset covered by the history. */
  positions: Map<string, { epoch: string; offset: number }>;
  /** Channels whose history was cut at `maxPerChannel`. */
  truncated: string[];
}

/** `12` → an offset; `90s`, `5m`, `1h30m` → a duration; undefined otherwise. */
export function parseSince(text: string): Since | undefined {
  if (/^\d+$/.test(text)) return { offset: Number(text) };
  const ms = parseDuration(text);
  return ms === undefined ? undefined : { durationMs: ms };
}

export type HistoryCall = (params: { channel: string; since?: number; limit: number }) => Promise<ChannelHistory>;

const PAGE = 1000;

export async function loadHistory(opts: {
  patterns: readonly string[];
  since: Since;
  filter: Filter | undefined;
  call: HistoryCall;
  api: HubApi;
  now?: number;
  maxPerChannel?: number;
}): Promise<History> {
  const max = opts.maxPerChannel ?? 10_000;
  const channels = new Set<string>();
  const wildcards = opts.patterns.filter(isWildcard);
  for (const p of opts.patterns) if (!isWildcard(p)) channels.add(p);
  if (wildcards.length > 0) {
    const { channels: known } = await opts.api.get<ChannelList>('/api/v1/channels');
    for (const { channel } of known) if (wildcards.some((p) => matchChannel(p, channel))) channels.add(channel);
  }
  const keep = compileFilter(opts.filter) ?? (() => true);
  const history: History = { events: [], positions: new Map(), truncated: [] };
  const cutoff = 'durationMs' in opts.since ? (opts.now ?? Date.now()) - opts.since.durationMs : undefined;
  for (const channel of [...channels].sort()) {
    let events: HistoryEvent[] = [];
    let result: ChannelHistory;
    if (cutoff !== undefined) {
      result = await opts.call({ channel, limit: max });
      events = result.events.filter((e) => e.ts >= cutoff);
    } else {
      let since = (opts.since as { offset: number }).offset;
      for (;;) {
        result = await opts.call({ channel, since, limit: Math.min(PAGE, max - events.length) });
        events.push(...result.events);
        const last = result.events.at(-1);
        if (!last || last.offset >= result.offset || events.length >= max) break;
        since = last.offset;
      }
      if (events.length >= max && (events.at(-1)?.offset ?? 0) < result.offset) history.truncated.push(channel);
    }
    history.positions.set(channel, { epoch: result.epoch, offset: result.offset });
    history.events.push(...events.filter(keep));
  }
  history.events.sort((a, b) => a.ts - b.ts || (a.channel < b.channel ? -1 : a.channel > b.channel ? 1 : 0));
  return history;
}
