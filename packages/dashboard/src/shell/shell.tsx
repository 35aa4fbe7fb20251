/**
 * @module shell
 * The frame around every view: the top bar, the navigation, the time control (on views with charts), toasts, and
 * the current view, loaded on demand.
 */
import type { ComponentType } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { AlertsProvider } from '../lib/alerts-store.js';
import { useRoute } from '../lib/router.js';
import { viewOf } from '../views.js';
import { AlertWatch } from './alert-watch.js';
import { Nav } from './nav.js';
import { TimeControl } from './time-control.js';
import { Toasts } from './toasts.js';
import { TopBar } from './top-bar.js';

/** Views whose charts follow the global time range. */
const TIMED = new Set(['overview', 'explore']);

export function Shell() {
  const { path } = useRoute();
  const match = viewOf(path);
  const [loaded, setLoaded] = useState<{ id: string; Component: ComponentType<{ subpath: string }> } | null>(null);

  useEffect(() => {
    if (!match) return;
    let active = true;
    match.view.load().then((Component) => {
      if (active) setLoaded({ id: match.view.id, Component });
    });
    return () => {
      active = false;
    };
  }, [match?.view.id]);

  useEffect(() => {
    document.title = match ? `${match.view.title} · Vigil` : 'Not found · Vigil';
  }, [match?.view.id]);

  const View = loaded && match && loaded.id === match.view.id ? loaded.Component : null;
  return (
    <AlertsProvider>
      <div class="shell">
        <a class="skip-link" href="#main">
          Skip to content
        </a>
        <TopBar />
        <div class="body">
          <Nav current={match?.view.id} />
          <main id="main" class="main" tabIndex={-1}>
            {match && TIMED.has(match.view.id) && <TimeControl />}
            {!match && (
              <div class="view">
                <h1>Not found</h1>
                <p>
                  No view at <code>{path}</code>. <a href="/">Go to the Overview</a>.
                </p>
              </div>
            )}
            {View && match && <View subpath={match.subpath} />}
          </main>
        </div>
        <AlertWatch />
        <Toasts />
      </div>
    </AlertsProvider>
  );
}
