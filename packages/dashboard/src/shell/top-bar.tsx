/**
 * @module top-bar
 * The hub's name and node, the connection indicator (connected, reconnecting with the attempt number, offline)
 * driven by the client's state machine, the count of firing alerts, the theme toggle, and sign-out when the hub
 * checks credentials.
 */
import { useEffect, useState } from 'preact/hooks';
import { useFiringCount } from '../lib/alerts-store.js';
import { useHub } from '../lib/hub-context.js';
import { setTheme, useTheme } from '../lib/theme.js';

interface Conn {
  state: string;
  attempt: number;
  node: string | undefined;
}

function useConnection(): Conn {
  const { client } = useHub();
  const read = (): Conn => ({ state: client.state, attempt: client.reconnectAttempt, node: client.welcome?.node });
  const [conn, setConn] = useState(read);
  useEffect(() => {
    const update = () => setConn(read());
    const offs = [client.on('state', update), client.on('reconnecting', update), client.on('connected', update)];
    update();
    return () => {
      for (const off of offs) off();
    };
  }, [client]);
  return conn;
}

export function TopBar() {
  const { perms, signOut } = useHub();
  const conn = useConnection();
  const [node, setNode] = useState<string | undefined>(undefined);
  useEffect(() => {
    if (conn.node) setNode(conn.node);
  }, [conn.node]);
  const firing = useFiringCount();
  const theme = useTheme();
  let label = 'Offline';
  let tone = 'offline';
  if (conn.state === 'connected') {
    label = 'Connected';
    tone = 'ok';
  } else if (conn.state === 'reconnecting') {
    label = `Reconnecting (attempt ${conn.attempt})`;
    tone = 'warn';
  } else if (conn.state === 'connecting') {
    label = 'Connecting';
    tone = 'warn';
  }
  return (
    <header class="topbar">
      <a class="brand" href="/" aria-label="Vigil, Overview">
        <svg viewBox="0 0 32 32" aria-hidden="true">
          <rect width="32" height="32" rx="7" />
          <path d="M5 18h5l3-8 5 14 3-6h6" />
        </svg>
        <span>Vigil</span>
      </a>
      <span class="node" title="Hub node">
        {node ?? '…'}
      </span>
      <span
        class={`conn conn-${tone}`}
        role="status"
        aria-live="polite"
        data-testid="connection"
        data-state={conn.state}
      >
        <span class="dot" aria-hidden="true" />
        {label}
      </span>
      <span class="spacer" />
      <a class={`firing ${firing > 0 ? 'has-firing' : ''}`} href="/alerts" data-testid="firing-count">
        <span class="count">{firing}</span> firing
      </a>
      <button
        type="button"
        class="btn ghost"
        aria-label={theme === 'dark' ? 'Switch to light theme' : 'Switch to dark theme'}
        aria-pressed={theme === 'light'}
        data-testid="theme-toggle"
        onClick={() => setTheme(theme === 'dark' ? 'light' : 'dark')}
      >
        {theme === 'dark' ? '☀ Light' : '☾ Dark'}
      </button>
      {perms.who.auth && (
        <button
          type="button"
          class="btn ghost"
          onClick={() => signOut('Signed out.')}
          title={perms.who.principal ?? ''}
        >
          Sign out
        </button>
      )}
    </header>
  );
}
