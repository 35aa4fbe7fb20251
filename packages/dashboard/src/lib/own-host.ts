/**
 * @module own-host
 * The `host` label of the connected hub node's own series: its host id on a cluster node, '' on a single node (its
 * own series carry no `host` label). Asked of the node the WebSocket is connected to (`cluster.nodes`), once per
 * connection, so a reconnect that lands on another node follows it.
 */
import type { VigilClient } from '@vigil/client';
import { useEffect, useState } from 'preact/hooks';
import { useHub } from './hub-context.js';

interface Known {
  node: string | undefined;
  host: string;
}

const known = new WeakMap<VigilClient, Known>();

/** The connected node's own `host` label ('' on a single node); undefined until the node has answered. */
export function useOwnHost(): string | undefined {
  const { client } = useHub();
  const [host, setHost] = useState<string | undefined>(() => known.get(client)?.host);
  useEffect(() => {
    let live = true;
    const ask = () => {
      const node = client.welcome?.node;
      const k = known.get(client);
      if (k && k.node === node) {
        setHost(k.host);
        return;
      }
      client
        .call<{ node?: string; host?: string }>('cluster.nodes')
        .then((r) => {
          // A hub that does not say its label is a single node's or an older one's: its own series are unlabelled.
          const h = typeof r.host === 'string' ? r.host : '';
          known.set(client, { node: r.node ?? node, host: h });
          if (live) setHost(h);
        })
        .catch(() => {});
    };
    const off = client.on('connected', ask);
    if (client.state === 'connected') ask();
    return () => {
      live = false;
      off();
    };
  }, [client]);
  return host;
}

/** The labels that select a hub node's own series, given its host id and the connected node's own label. */
export function hubHostLabels(id: string, own: string | undefined): { host: string } {
  return own === '' ? { host: '' } : { host: id };
}
