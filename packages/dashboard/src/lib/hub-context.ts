/**
 * @module hub-context
 * What every view reads: the WebSocket client, the REST client, the credential's permissions and the hub's node
 * name, and `signOut(reason)` to go back to the sign-in screen (after a 401 or a 4001).
 */
import type { VigilClient, VigilHttp } from '@vigil/client';
import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import type { Permissions } from './session.js';

export interface HubSession {
  client: VigilClient;
  http: VigilHttp;
  perms: Permissions;
  signOut(reason?: string): void;
}

export const HubContext = createContext<HubSession | null>(null);

export function useHub(): HubSession {
  const hub = useContext(HubContext);
  if (!hub) throw new Error('useHub outside a signed-in session');
  return hub;
}
