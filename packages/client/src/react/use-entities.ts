/**
 * @module use-entities
 * `useAlerts()`, `useTasks()`, `useIncidents()`: a map by id kept from the `alerts`, `tasks` and `incidents` channels,
 * seeded by `alerts.list`, `tasks.list` and `incidents.list`. The channel is subscribed first; an item updated by an
 * event before the list arrives keeps the event's version. A hub without the method (`unknown_method`) starts empty.
 */
import type { AlertData, TaskData } from '@vigil/protocol';
import { useEffect, useState } from 'react';
import type { IncidentData } from '../events.js';
import { createBatcher } from './batch.js';
import { useVigilClient } from './provider.js';

/** The items of a list result: an array, or an object holding one under `key` or `items`. */
export function extractList<T>(result: unknown, key: string): T[] {
  if (Array.isArray(result)) return result as T[];
  if (result !== null && typeof result === 'object') {
    const obj = result as Record<string, unknown>;
    if (Array.isArray(obj[key])) return obj[key] as T[];
    if (Array.isArray(obj.items)) return obj.items as T[];
  }
  return [];
}

function hasId(value: unknown): value is { id: string } {
  return value !== null && typeof value === 'object' && typeof (value as { id?: unknown }).id === 'string';
}

export function useEntityMap<T extends { id: string }>(
  channel: string,
  method: string,
  listKey: string,
): ReadonlyMap<string, T> {
  const client = useVigilClient();
  const [items, setItems] = useState<ReadonlyMap<string, T>>(() => new Map());
  useEffect(() => {
    if (!client || client.state === 'closed') return;
    let active = true;
    let updates = new Map<string, T>();
    let seed: T[] | undefined;
    const touched = new Set<string>();
    const batcher = createBatcher(() => {
      const batch = updates;
      const list = seed;
      updates = new Map();
      seed = undefined;
      setItems((prev) => {
        const next = new Map(prev);
        if (list) for (const item of list) if (hasId(item) && !touched.has(item.id)) next.set(item.id, item);
        for (const [id, item] of batch) next.set(id, item);
        return next;
      });
    });
    setItems((prev) => (prev.size === 0 ? prev : new Map()));
    const sub = client.subscribe(channel);
    sub.on('event', (e) => {
      if (!hasId(e.data)) return;
      touched.add(e.data.id);
      updates.set(e.data.id, e.data as T);
      batcher.schedule();
    });
    client.call(method).then(
      (result) => {
        if (!active) return;
        seed = extractList<T>(result, listKey);
        batcher.schedule();
      },
      () => {
        // unknown_method (a hub without that part) or a failed call: start from the events alone.
      },
    );
    return () => {
      active = false;
      batcher.cancel();
      sub.unsubscribe();
    };
  }, [client, channel, method, listKey]);
  return items;
}

export function useAlerts(): ReadonlyMap<string, AlertData> {
  return useEntityMap<AlertData>('alerts', 'alerts.list', 'alerts');
}

export function useTasks(): ReadonlyMap<string, TaskData> {
  return useEntityMap<TaskData>('tasks', 'tasks.list', 'tasks');
}

export function useIncidents(): ReadonlyMap<string, IncidentData> {
  return useEntityMap<IncidentData>('incidents', 'incidents.list', 'incidents');
}
