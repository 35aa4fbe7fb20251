/**
 * @module use-connection-state
 * `useConnectionState()`: the client's state, re-rendering on each transition.
 */
import { useCallback, useSyncExternalStore } from 'react';
import type { State } from '../events.js';
import { useVigilClient } from './provider.js';

export function useConnectionState(): State {
  const client = useVigilClient();
  const subscribe = useCallback((onChange: () => void) => (client ? client.on('state', onChange) : () => {}), [client]);
  const get = (): State => client?.state ?? 'disconnected';
  return useSyncExternalStore(subscribe, get, get);
}
