/**
 * @module alerts-store
 * The alerts of the session, shared by the top bar (firing count), the toasts and the Alerts view: one `useAlerts()`
 * (seeded by `alerts.list`, then live from the `alerts` channel), plus when this page saw each alert begin firing,
 * so that new firings can be highlighted and critical ones announced.
 */

import { useAlerts } from '@vigil/client/react';
import type { AlertData } from '@vigil/protocol';
import { type ComponentChildren, createContext } from 'preact';
import { useContext, useMemo, useRef } from 'preact/hooks';

export interface AlertsState {
  alerts: ReadonlyMap<string, AlertData>;
  /** Alert id → when this page saw it begin firing (not alerts that were already firing when it loaded). */
  newlyFiring: ReadonlyMap<string, number>;
}

const AlertsContext = createContext<AlertsState>({ alerts: new Map(), newlyFiring: new Map() });

/** How far before the page loaded an alert may have started and still count as new (clock skew, load time). */
const START_SLACK_MS = 1000;

export function AlertsProvider({ children }: { children: ComponentChildren }) {
  const alerts = useAlerts();
  const loadedAt = useRef(Date.now());
  const lastStatus = useRef(new Map<string, string>());
  const newly = useRef(new Map<string, number>());
  const value = useMemo<AlertsState>(() => {
    const now = Date.now();
    for (const [id, a] of alerts) {
      const prev = lastStatus.current.get(id);
      lastStatus.current.set(id, a.status);
      if (a.status !== 'firing' || prev === 'firing') continue;
      // Seen here while pending, or started after the page loaded: it began firing now.
      if (prev !== undefined || a.starts_at >= loadedAt.current - START_SLACK_MS) newly.current.set(id, now);
    }
    return { alerts, newlyFiring: new Map(newly.current) };
  }, [alerts]);
  return <AlertsContext.Provider value={value}>{children}</AlertsContext.Provider>;
}

export function useAlertsState(): AlertsState {
  return useContext(AlertsContext);
}

export function useFiringCount(): number {
  const { alerts } = useAlertsState();
  let n = 0;
  for (const a of alerts.values()) if (a.status === 'firing') n++;
  return n;
}
