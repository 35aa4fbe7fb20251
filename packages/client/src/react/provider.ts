/**
 * @module provider
 * `VigilProvider` puts a `VigilClient` in React context: either one you pass (you connect and close it) or one it
 * creates from `options` when it mounts, connects, and closes when it unmounts. `options` are read at mount; give the
 * provider a new `key` to apply new ones.
 */
import {
  createContext,
  createElement,
  type ReactElement,
  type ReactNode,
  useContext,
  useEffect,
  useRef,
  useState,
} from 'react';
import { VigilClient } from '../client.js';
import type { VigilClientOptions } from '../options.js';

const VigilContext = createContext<VigilClient | null>(null);

export interface VigilProviderProps {
  /** A client you own. */
  client?: VigilClient;
  /** Options for a client the provider owns. */
  options?: VigilClientOptions;
  children?: ReactNode;
}

export function VigilProvider({ client, options, children }: VigilProviderProps): ReactElement {
  if (!client && !options) throw new TypeError('VigilProvider needs a client or options');
  const [owned, setOwned] = useState<VigilClient | null>(null);
  const initialOptions = useRef(options);
  useEffect(() => {
    if (client || !initialOptions.current) return;
    const created = new VigilClient(initialOptions.current);
    created.connect();
    setOwned(created);
    return () => {
      created.close();
      setOwned(null);
    };
  }, [client]);
  return createElement(VigilContext.Provider, { value: client ?? owned }, children);
}

/** The client of the nearest `VigilProvider`; null before an owned client is created. */
export function useVigilClient(): VigilClient | null {
  return useContext(VigilContext);
}
