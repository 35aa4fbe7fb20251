/**
 * @module app
 * The session gate: asks the hub what the stored credential may do (`/api/v1/whoami`), shows the sign-in screen
 * when the hub wants a credential (or refused one: 401 over REST, 4001 on the WebSocket), and otherwise opens the
 * WebSocket client and the REST client with that credential and renders the shell.
 */
import { VigilClient, VigilClientError, VigilHttp } from '@vigil/client';
import { VigilProvider } from '@vigil/client/react';
import { CloseCode } from '@vigil/protocol';
import { useEffect, useMemo, useState } from 'preact/hooks';
import { HubContext, type HubSession } from './lib/hub-context.js';
import { checkToken, Permissions, storedToken, storeToken } from './lib/session.js';
import { Shell } from './shell/shell.js';
import { SignIn } from './views/sign-in/sign-in-view.js';

type Phase =
  | { kind: 'checking' }
  | { kind: 'sign-in'; reason: string }
  | { kind: 'unreachable'; reason: string }
  | { kind: 'ready'; token: string | undefined; perms: Permissions };

export function App() {
  const [phase, setPhase] = useState<Phase>({ kind: 'checking' });
  const [attempt, setAttempt] = useState(0);

  useEffect(() => {
    let active = true;
    const token = storedToken();
    checkToken(token).then((r) => {
      if (!active) return;
      if (r.ok) setPhase({ kind: 'ready', token, perms: new Permissions(r.who) });
      else if (r.needsSignIn) setPhase({ kind: 'sign-in', reason: r.reason });
      else setPhase({ kind: 'unreachable', reason: r.reason });
    });
    return () => {
      active = false;
    };
  }, [attempt]);

  if (phase.kind === 'checking') return <div class="boot" aria-busy="true" />;
  if (phase.kind === 'unreachable') {
    return (
      <main class="center-screen">
        <div class="panel">
          <h1>Vigil</h1>
          <p role="alert">The hub did not answer: {phase.reason}</p>
          <button type="button" class="btn primary" onClick={() => setAttempt((n) => n + 1)}>
            Try again
          </button>
        </div>
      </main>
    );
  }
  if (phase.kind === 'sign-in') {
    return (
      <SignIn
        reason={phase.reason}
        onSignedIn={(token, remember, who) => {
          storeToken(token, remember);
          setPhase({ kind: 'ready', token, perms: new Permissions(who) });
        }}
      />
    );
  }
  return (
    <Session
      token={phase.token}
      perms={phase.perms}
      onSignOut={(reason) => {
        storeToken(undefined);
        setPhase({ kind: 'sign-in', reason });
      }}
    />
  );
}

/** The REST client of a session: a 401 anywhere ends the session with the hub's reason. */
class SessionHttp extends VigilHttp {
  constructor(
    options: ConstructorParameters<typeof VigilHttp>[0],
    private readonly onUnauthorized: (reason: string) => void,
  ) {
    super(options);
  }

  override async request<T>(method: string, path: string, init?: Parameters<VigilHttp['request']>[2]): Promise<T> {
    try {
      return await super.request<T>(method, path, init);
    } catch (err) {
      if (err instanceof VigilClientError && err.code === 'unauthorized') {
        this.onUnauthorized(`The hub refused the credential: ${err.message}. Sign in again.`);
      }
      throw err;
    }
  }
}

function Session(props: { token: string | undefined; perms: Permissions; onSignOut: (reason: string) => void }) {
  const { token, perms, onSignOut } = props;
  const session = useMemo<HubSession>(() => {
    const getToken = token ? () => token : undefined;
    const client = new VigilClient({ url: `${location.origin}/ws`, getToken, tokenTransport: 'query' });
    let ended = false;
    const signOut = (reason = '') => {
      if (ended) return;
      ended = true;
      client.close();
      onSignOut(reason);
    };
    const http = new SessionHttp({ getToken }, signOut);
    return { client, http, perms, signOut };
  }, [token]);

  useEffect(() => {
    const { client } = session;
    const off = client.on('state', (s) => {
      if (s.code === CloseCode.UNAUTHORIZED && perms.who.auth) {
        session.signOut(`The hub refused the credential (4001: ${s.reason}). Sign in again.`);
      }
    });
    client.connect();
    return () => {
      off();
      client.close();
    };
  }, [session, perms]);

  return (
    <HubContext.Provider value={session}>
      <VigilProvider client={session.client}>
        <Shell />
      </VigilProvider>
    </HubContext.Provider>
  );
}
