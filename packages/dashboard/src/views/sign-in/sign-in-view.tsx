/**
 * @module sign-in-view
 * The sign-in screen of a hub that checks credentials: an API key or JWT, checked with `/api/v1/whoami` before it
 * is kept (for the tab, or in localStorage with "remember me"). A refused credential shows the hub's reason.
 */
import type { WhoAmI } from '@vigil/protocol';
import { useState } from 'preact/hooks';
import { checkToken } from '../../lib/session.js';

export function SignIn(props: { reason: string; onSignedIn: (token: string, remember: boolean, who: WhoAmI) => void }) {
  const [token, setToken] = useState('');
  const [remember, setRemember] = useState(false);
  const [error, setError] = useState(props.reason);
  const [busy, setBusy] = useState(false);

  const submit = async (ev: Event) => {
    ev.preventDefault();
    const t = token.trim();
    if (!t) {
      setError('Enter an API key or a token');
      return;
    }
    setBusy(true);
    const r = await checkToken(t);
    setBusy(false);
    if (r.ok) props.onSignedIn(t, remember, r.who);
    else setError(r.reason || 'The hub refused this credential');
  };

  return (
    <main class="center-screen">
      <form class="panel sign-in" onSubmit={submit} aria-labelledby="sign-in-title" data-testid="sign-in">
        <h1 id="sign-in-title">Sign in to Vigil</h1>
        <p class="muted">This hub checks credentials. Paste an API key or a JWT.</p>
        <label for="token">API key or token</label>
        <input
          id="token"
          type="password"
          autoComplete="off"
          value={token}
          onInput={(e) => setToken(e.currentTarget.value)}
          aria-invalid={error ? true : undefined}
          aria-describedby={error ? 'sign-in-error' : undefined}
        />
        <label class="check">
          <input type="checkbox" checked={remember} onChange={(e) => setRemember(e.currentTarget.checked)} /> Remember
          me on this browser
        </label>
        {error && (
          <p id="sign-in-error" class="field-error" role="alert" data-testid="sign-in-error">
            {error}
          </p>
        )}
        <button type="submit" class="btn primary" disabled={busy}>
          {busy ? 'Checking…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}
