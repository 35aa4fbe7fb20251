/**
 * @module router
 * The page's state lives in the URL: the path picks the view (`/alerts`, `/incidents/inc_1`) and the query holds
 * the rest (`?range=1h`, `?metric=...&labels=...`). `navigate()` pushes a history entry (or replaces one), and
 * `useRoute()` re-renders on every change, including back and forward. Links are plain `<a href>`: a click on one
 * is turned into `navigate()`, so a middle-click still opens a new tab.
 */
import { useEffect, useState } from 'preact/hooks';

export interface Route {
  path: string;
  params: URLSearchParams;
}

const listeners = new Set<() => void>();

function current(): Route {
  return { path: location.pathname, params: new URLSearchParams(location.search) };
}

function notify(): void {
  for (const l of listeners) l();
}

addEventListener('popstate', notify);

/** Goes to `href` (path and query). `replace` changes the current entry instead of adding one. */
export function navigate(href: string, options: { replace?: boolean } = {}): void {
  const url = new URL(href, location.href);
  const next = url.pathname + url.search;
  if (next === location.pathname + location.search) return;
  if (options.replace) history.replaceState(null, '', next);
  else history.pushState(null, '', next);
  notify();
}

/** The current path with some query parameters set (undefined or '' removes one). */
export function withParams(changes: Record<string, string | number | undefined | null>, path = location.pathname) {
  const params = new URLSearchParams(location.search);
  for (const [k, v] of Object.entries(changes)) {
    if (v === undefined || v === null || v === '') params.delete(k);
    else params.set(k, String(v));
  }
  const q = params.toString();
  return q ? `${path}?${q}` : path;
}

/** Sets query parameters on the current view. */
export function setParams(changes: Record<string, string | number | undefined | null>, replace = false): void {
  navigate(withParams(changes), { replace });
}

export function useRoute(): Route {
  const [route, setRoute] = useState(current);
  useEffect(() => {
    const update = () => setRoute(current());
    listeners.add(update);
    return () => void listeners.delete(update);
  }, []);
  return route;
}

/** Same-origin link clicks become `navigate()`; modified clicks and other targets keep the browser's behaviour. */
export function interceptLinks(root: HTMLElement): void {
  root.addEventListener('click', (ev) => {
    if (ev.defaultPrevented || ev.button !== 0 || ev.metaKey || ev.ctrlKey || ev.shiftKey || ev.altKey) return;
    const a = (ev.target as Element | null)?.closest?.('a');
    if (!a || a.target || a.hasAttribute('download') || a.origin !== location.origin) return;
    if (a.pathname.startsWith('/api') || a.pathname === '/metrics') return;
    ev.preventDefault();
    navigate(a.pathname + a.search);
  });
}
