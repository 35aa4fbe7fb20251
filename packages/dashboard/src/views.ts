/**
 * @module views
 * The dashboard's views, in navigation order. A view is a path prefix, a title and a component loaded on demand (so
 * the first load ships only the shell and the Overview). To add a view, add an entry here and a folder under
 * `views/`; the navigation, the routing and the server's fallback to `index.html` follow.
 */
import type { ComponentType } from 'preact';
import { OverviewView } from './views/overview/overview-view.js';

export interface ViewDef {
  id: string;
  /** The path; sub-paths (`/incidents/<id>`) belong to the view too. */
  path: string;
  title: string;
  load: () => Promise<ComponentType<{ subpath: string }>>;
}

export const VIEWS: readonly ViewDef[] = [
  { id: 'overview', path: '/', title: 'Overview', load: async () => OverviewView },
  {
    id: 'fleet',
    path: '/fleet',
    title: 'Fleet',
    load: async () => (await import('./views/fleet/fleet-view.js')).FleetView,
  },
  {
    id: 'explore',
    path: '/explore',
    title: 'Metrics',
    load: async () => (await import('./views/explore/explore-view.js')).ExploreView,
  },
  {
    id: 'alerts',
    path: '/alerts',
    title: 'Alerts',
    load: async () => (await import('./views/alerts/alerts-view.js')).AlertsView,
  },
  {
    id: 'incidents',
    path: '/incidents',
    title: 'Incidents',
    load: async () => (await import('./views/incidents/incidents-view.js')).IncidentsView,
  },
  {
    id: 'tasks',
    path: '/tasks',
    title: 'Tasks',
    load: async () => (await import('./views/tasks/tasks-view.js')).TasksView,
  },
  {
    id: 'tail',
    path: '/tail',
    title: 'Live tail',
    load: async () => (await import('./views/tail/tail-view.js')).TailView,
  },
  { id: 'hub', path: '/hub', title: 'Hub', load: async () => (await import('./views/hub/hub-view.js')).HubView },
];

/** The view of a path and the rest of the path after its prefix (`/incidents/inc_1` → incidents, `inc_1`). */
export function viewOf(path: string): { view: ViewDef; subpath: string } | undefined {
  if (path === '/' || path === '') return { view: VIEWS[0]!, subpath: '' };
  for (const view of VIEWS) {
    if (view.path === '/') continue;
    if (path === view.path || path.startsWith(`${view.path}/`)) {
      return { view, subpath: decodeURIComponent(path.slice(view.path.length + 1)) };
    }
  }
  return undefined;
}
