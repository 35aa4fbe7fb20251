/**
 * @module alerts-store
 * The alerts of the session, shared by the top bar (firing count), the toasts and the Alerts view: one `useAlerts()`
 * (seeded by `alerts.list`, then live from the `alerts` channel), plus when each alert was first seen firing, so
 * that new firings can be highlighted.
 */

import { useAlerts } from '@vigil/client/react';
import type { AlertData } from '@vigil/protocol';
import { type ComponentChildren, createContext } from 'preact';
import { useContext, useMemo, useRef } from 'preact/hooks';

export interface AlertsState {
  alerts: ReadonlyMap<string, AlertData>;
  /** Alert id → when it was first seen firing in this page, for alerts that began firing after the page loaded. */
  newlyFiring: ReadonlyMap<string, number>;
  /** True once the first list has arrived (alerts before it are not "new"). */
  seeded: boolean;
}

const AlertsContext = createContext<AlertsState>({ alerts: new Map(), newlyFiring: new Map(), seeded: false });

export function AlertsProvider({ children }: { children: ComponentChildren }) {
  const alerts = useAlerts();
  const firstRender = useRef(Date.now());
  const known = useRef(new Set<string>());
  const newly = useRef(new Map<string, number>());
  const seeded = useRef(false);
  const value = useMemo<AlertsState>(() => {
    const now = Date.now();
    // Alerts present at the first non-empty answer, or within a second of load, were already there.
    const settling = !seeded.current && (alerts.size > 0 || now - firstRender.current > 1000);
    for (const [id, a] of alerts) {
      if (known.current.has(id)) continue;
      known.current.add(id);
      if (seeded.current && a.status === 'firing') newly.current.set(id, now);
    }
    if (settling) seeded.current = true;
    return { alerts, newlyFiring: new Map(newly.current), seeded: seeded.current };
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
