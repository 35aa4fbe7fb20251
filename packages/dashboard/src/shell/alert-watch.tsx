/**
 * @module alert-watch
 * Raises a toast for each critical alert that begins firing while the page is open, and a browser notification too
 * when the user has allowed them.
 */
import { useEffect, useRef } from 'preact/hooks';
import { useAlertsState } from '../lib/alerts-store.js';
import { formatLabels } from '../lib/format.js';
import { pushToast } from './toasts.js';

export function AlertWatch() {
  const { alerts, newlyFiring } = useAlertsState();
  const told = useRef(new Set<string>());
  useEffect(() => {
    for (const id of newlyFiring.keys()) {
      if (told.current.has(id)) continue;
      told.current.add(id);
      const a = alerts.get(id);
      if (a?.severity !== 'critical') continue;
      const text = `Critical: ${a.rule}${a.labels && Object.keys(a.labels).length ? ` (${formatLabels(a.labels)})` : ''}`;
      pushToast({ tone: 'critical', text, href: '/alerts' });
      if (typeof Notification !== 'undefined' && Notification.permission === 'granted') {
        try {
          new Notification('Vigil alert', { body: text, tag: id });
        } catch {
          // some browsers only allow notifications from a service worker
        }
      }
    }
  }, [newlyFiring, alerts]);
  return null;
}
