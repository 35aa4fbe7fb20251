/**
 * @module use-connection-state
 * `useConnectionState()`: the client's state, re-rendering on each transition. `useTransport()`: the transport in
 * use (`websocket` or `sse`; undefined unless connected), re-rendering when it changes.
 */
import { useCallback, useSyncExternalStore } from 'react';
import type { State } from '../events.js';
import type { Transport } from '../options.js';
import { useVigilClient } from './provider.js';

export function useConnectionState(): State {
  const client = useVigilClient();
  const subscribe = useCallback((onChange: () => void) => (client ? client.on('state', onChange) : () => {}), [client]);
  const get = (): State => client?.state ?? 'disconnected';
  return useSyncExternalStore(subscribe, get, get);
}

export function useTransport(): Transport | undefined {
  const client = useVigilClient();
  const subscribe = useCallback(
    (onChange: () => void) => {
      if (!client) return () => {};
      const offs = [client.on('state', onChange), client.on('transport', onChange)];
      return () => {
        for (const off of offs) off();
      };
    },
    [client],
  );
  const get = (): Transport | undefined => client?.transport;
  return useSyncExternalStore(subscribe, get, get);
}
