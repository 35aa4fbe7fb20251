/**
 * @module session
 * The credential of this tab. Kept in sessionStorage (or localStorage with "remember me"), checked with
 * `GET /api/v1/whoami`, and used for REST (`Authorization: Bearer`) and the WebSocket (`?token=`). What it may do
 * (`can('admin')`, `canUse('alerts')`) decides which controls are enabled.
 */
import { VigilClientError, VigilHttp } from '@vigil/client';
import { matchChannel, type WhoAmI } from '@vigil/protocol';

const KEY = 'vigil.token';

export function storedToken(): string | undefined {
  try {
    return sessionStorage.getItem(KEY) ?? localStorage.getItem(KEY) ?? undefined;
  } catch {
    return undefined;
  }
}

export function storeToken(token: string | undefined, remember = false): void {
  try {
    sessionStorage.removeItem(KEY);
    localStorage.removeItem(KEY);
    if (token) (remember ? localStorage : sessionStorage).setItem(KEY, token);
  } catch {
    // storage disabled: the token lasts for the page
  }
}

export type CheckResult = { ok: true; who: WhoAmI } | { ok: false; needsSignIn: boolean; reason: string };

/** Asks the hub what `token` may do. */
export async function checkToken(token: string | undefined): Promise<CheckResult> {
  try {
    return { ok: true, who: await new VigilHttp({ getToken: () => token }).whoami() };
  } catch (err) {
    if (err instanceof VigilClientError && err.code === 'unauthorized') {
      return { ok: false, needsSignIn: true, reason: token ? err.message : '' };
    }
    return { ok: false, needsSignIn: false, reason: err instanceof Error ? err.message : String(err) };
  }
}

export class Permissions {
  constructor(readonly who: WhoAmI) {}

  can(scope: 'read' | 'publish' | 'admin'): boolean {
    return this.who.scopes.includes(scope);
  }

  /** Whether a concrete channel is granted. */
  canUse(channel: string): boolean {
    return this.who.channels === null || this.who.channels.some((p) => p === '>' || matchChannel(p, channel));
  }

  /** Why a control needing `scope` (on `channel`) is disabled, or undefined when it is allowed. */
  denied(scope: 'read' | 'publish' | 'admin', channel?: string): string | undefined {
    const name = this.who.principal ?? 'this credential';
    if (!this.can(scope)) return `Needs the '${scope}' scope, which ${name} lacks`;
    if (channel !== undefined && !this.canUse(channel)) return `${name} may not use channel '${channel}'`;
    return undefined;
  }
}
