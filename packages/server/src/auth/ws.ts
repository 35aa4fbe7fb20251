/**
 * @module ws-auth
 * The WebSocket side of auth, as small functions the gateway calls:
 * - at the upgrade, the token from `Authorization: Bearer` or `?token=` is verified before the handshake completes;
 *   a refused one gets `closing` 4001 right after the upgrade (`reconnect: true` only when it had merely expired);
 * - a connection without a credential may only send `auth` and `ping` (anything else is answered `unauthorized`)
 *   and is closed with 4001 once `auth.ws_auth_timeout` has passed;
 * - the `auth` op replaces the credential in-band and answers `{expires_at}` for a JWT; subscriptions the new
 *   credential no longer grants are ended and listed in `unsubscribed`;
 * - a JWT that expires while connected closes the connection with 4001 and `reconnect: true`, so that the client
 *   fetches a fresh token and reconnects.
 */
import type { IncomingMessage } from 'node:http';
import { type AuthFailure, bearerToken } from './credentials.js';
import { grantsPattern, hasScope, type Principal } from './permissions.js';

/** The token offered at the upgrade, or null. */
export function upgradeToken(req: IncomingMessage, url: URL): string | null {
  return bearerToken(req.headers.authorization, url.searchParams.get('token'));
}

export interface CloseOrder {
  reason: string;
  reconnect: boolean;
}

/** How to close a connection whose upgrade credential was refused. */
export function refusedAtUpgrade(failure: unknown): CloseOrder {
  const expired = (failure as Partial<AuthFailure> | undefined)?.expired === true;
  return expired ? { reason: 'token expired', reconnect: true } : { reason: 'unauthorized', reconnect: false };
}

/**
 * Whether a connection must be closed now: its JWT has expired, or it has had no credential for longer than
 * `timeoutMs` since it opened.
 */
export function overdue(
  principal: Principal | undefined,
  openedAt: number,
  now: number,
  timeoutMs: number,
): CloseOrder | undefined {
  if (principal === undefined) {
    return now - openedAt >= timeoutMs ? { reason: 'authentication timeout', reconnect: false } : undefined;
  }
  if (principal.expiresAt !== undefined && now >= principal.expiresAt)
    return { reason: 'token expired', reconnect: true };
  return undefined;
}

/** How often the gateway looks for overdue connections. */
export function sweepIntervalMs(timeoutMs: number): number {
  return Math.max(10, Math.min(250, Math.floor(timeoutMs / 4)));
}

/** The subscriptions (patterns) that `principal` does not grant. */
export function revokedSubscriptions(principal: Principal, patterns: Iterable<string>): string[] {
  const out: string[] = [];
  const canRead = hasScope(principal, 'read');
  for (const p of patterns) if (!canRead || !grantsPattern(principal, p)) out.push(p);
  return out;
}

/** The result of a successful `auth` op. */
export function authResult(principal: Principal, unsubscribed: readonly string[]): Record<string, unknown> {
  const result: Record<string, unknown> = {};
  if (principal.exp !== undefined) result.expires_at = principal.exp;
  if (unsubscribed.length > 0) result.unsubscribed = [...unsubscribed];
  return result;
}
