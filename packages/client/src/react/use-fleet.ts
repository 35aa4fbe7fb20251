/**
 * @module use-fleet
 * The fleet's hooks (see docs/agent.md):
 * - `useHosts()`: a map of every host by id, from the `nodes` channel: its snapshot and `nodes_summary` events give
 *   the whole list, `host_status` events change one host at once;
 * - `useHost(id)`: one host of that map, or undefined while unknown;
 * - `useResources()`: the latest `resources` data (per-host utilisation and the top lists), or undefined;
 * - `useTopology()`: the latest `topology` data (hub nodes, agents and which node each reports to, client count).
 * Each updates at most once per animation frame and unsubscribes on unmount.
 */
import type { HostData, HostStatusData, NodesSummaryData, ResourcesData, TopologyData } from '@vigil/protocol';
import { useEffect, useState } from 'react';
import { createBatcher } from './batch.js';
import { useVigilClient } from './provider.js';

function isSummary(data: unknown): data is NodesSummaryData {
  return data !== null && typeof data === 'object' && Array.isArray((data as NodesSummaryData).hosts);
}

function isHostStatus(data: unknown): data is HostStatusData {
  const host = (data as HostStatusData | null)?.host;
  return host !== null && typeof host === 'object' && typeof host.id === 'string';
}

export function useHosts(): ReadonlyMap<string, HostData> {
  const client = useVigilClient();
  const [hosts, setHosts] = useState<ReadonlyMap<string, HostData>>(() => new Map());
  useEffect(() => {
    if (!client || client.state === 'closed') return;
    let whole: HostData[] | undefined;
    let changes = new Map<string, HostData>();
    const batcher = createBatcher(() => {
      const list = whole;
      const batch = changes;
      whole = undefined;
      changes = new Map();
      setHosts((prev) => {
        const next = list ? new Map(list.map((h) => [h.id, h] as const)) : new Map(prev);
        for (const [id, h] of batch) next.set(id, h);
        return next;
      });
    });
    setHosts((prev) => (prev.size === 0 ? prev : new Map()));
    const take = (data: unknown) => {
      if (isSummary(data)) {
        whole = data.hosts;
        changes = new Map();
      } else if (isHostStatus(data)) changes.set(data.host.id, data.host);
      else return;
      batcher.schedule();
    };
    const sub = client.subscribe('nodes');
    sub.on('snapshot', (s) => take(s.data));
    sub.on('event', (e) => take(e.data));
    return () => {
      batcher.cancel();
      sub.unsubscribe();
    };
  }, [client]);
  return hosts;
}

export function useHost(id: string): HostData | undefined {
  return useHosts().get(id);
}

/** The newest data of a fleet channel: its snapshot, then each event's. */
function useLatest<T>(channel: string, valid: (data: unknown) => boolean): T | undefined {
  const client = useVigilClient();
  const [value, setValue] = useState<T | undefined>(undefined);
  useEffect(() => {
    if (!client || client.state === 'closed') return;
    let latest: T | undefined;
    const batcher = createBatcher(() => setValue(latest));
    setValue(undefined);
    const take = (data: unknown) => {
      if (!valid(data)) return;
      latest = data as T;
      batcher.schedule();
    };
    const sub = client.subscribe(channel);
    sub.on('snapshot', (s) => take(s.data));
    sub.on('event', (e) => take(e.data));
    return () => {
      batcher.cancel();
      sub.unsubscribe();
    };
  }, [client, channel, valid]);
  return value;
}

const isResources = (d: unknown) =>
  d !== null && typeof d === 'object' && Array.isArray((d as ResourcesData).hosts) && 'top' in d;
const isTopology = (d: unknown) =>
  d !== null && typeof d === 'object' && Array.isArray((d as TopologyData).nodes) && 'agents' in d;

export function useResources(): ResourcesData | undefined {
  return useLatest<ResourcesData>('resources', isResources);
}

export function useTopology(): TopologyData | undefined {
  return useLatest<TopologyData>('topology', isTopology);
}
