/**
 * @module use-channel
 * `useChannel(pattern, options)`: the latest events of a subscription (oldest first, at most `limit`, default 100),
 * updated once per animation frame however many events arrive. The subscription ends on unmount.
 */
import { useEffect, useState } from 'react';
import type { EventForPattern } from '../events.js';
import type { SubscribeOptions } from '../subscription.js';
import { createBatcher } from './batch.js';
import { useVigilClient } from './provider.js';

export interface UseChannelOptions extends SubscribeOptions {
  /** How many events to keep. Default 100. */
  limit?: number;
}

export const DEFAULT_CHANNEL_LIMIT = 100;

export function useChannel<P extends string>(
  pattern: P | readonly P[],
  options: UseChannelOptions = {},
): EventForPattern<P>[] {
  const client = useVigilClient();
  const [events, setEvents] = useState<EventForPattern<P>[]>([]);
  const limit = Math.max(1, options.limit ?? DEFAULT_CHANNEL_LIMIT);
  // One key for everything the subscription depends on, so that new option objects with equal values do not
  // resubscribe.
  const key = JSON.stringify({
    patterns: typeof pattern === 'string' ? [pattern] : pattern,
    filter: options.filter,
    mode: options.mode,
    snapshot: options.snapshot,
  });
  useEffect(() => {
    if (!client || client.state === 'closed') return;
    const { patterns, ...subscribeOptions } = JSON.parse(key) as { patterns: P[] } & SubscribeOptions;
    let buffer: EventForPattern<P>[] = [];
    const batcher = createBatcher(() => {
      const batch = buffer;
      buffer = [];
      setEvents((prev) => {
        const next = prev.concat(batch);
        return next.length > limit ? next.slice(next.length - limit) : next;
      });
    });
    setEvents((prev) => (prev.length === 0 ? prev : []));
    const sub = client.subscribe(patterns, subscribeOptions);
    sub.on('event', (e) => {
      buffer.push(e);
      if (buffer.length > limit) buffer.splice(0, buffer.length - limit);
      batcher.schedule();
    });
    return () => {
      batcher.cancel();
      sub.unsubscribe();
    };
  }, [client, key, limit]);
  return events;
}
