/**
 * @module http-hook
 * Auth for HTTP, installed only when auth is configured. An `onRequest` hook takes the credential from
 * `Authorization: Bearer <jwt or API key>` (or `?token=` on the SSE stream), verifies it before the body is read,
 * and checks what the route declared (see `route-access.ts`): a missing or refused credential is
 * `401 unauthorized` (with `WWW-Authenticate: Bearer`), a missing scope or channel `403 forbidden`. Channels named
 * in the body are checked in `preValidation`, once the body is parsed. An SSE stream opened with a JWT ends when the
 * JWT expires.
 */
import { isValidPattern } from '@vigil/protocol';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { type Authenticator, AuthFailure, bearerToken } from './credentials.js';
import { channelDenied, grantsPattern, hasScope, missingScope, type Principal } from './permissions.js';
import { accessOf, type NamedChannels, type RouteAccess } from './route-access.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The verified credential of the request; null when auth is off or the route is public. */
    principal: Principal | null;
  }
}

/** Longest wait a timer can take; later expiries are checked again when it fires. */
const MAX_TIMER_MS = 2_147_483_647;

/** The route that takes the token from `?token=` too (EventSource cannot set headers). */
const QUERY_TOKEN_ROUTE = '/api/v1/stream';

/** The access of a request, from its route's declaration or the default (see route-access.ts). */
export function requestAccess(request: FastifyRequest): RouteAccess {
  return accessOf(
    request.method,
    request.routeOptions.url,
    request.url.split('?')[0]!,
    request.routeOptions.config?.access,
  );
}

export function installAuthHooks(app: FastifyInstance, auth: Authenticator): void {
  app.decorateRequest('principal', null);
  app.addHook('onRequest', async (request, reply) => {
    const route = request.routeOptions.url;
    const rule = requestAccess(request);
    if (rule.kind === 'public') return;
    const query = request.query as Record<string, unknown> | undefined;
    const queryToken =
      request.method === 'GET' && route === QUERY_TOKEN_ROUTE && typeof query?.token === 'string' ? query.token : null;
    const token = bearerToken(request.headers.authorization, queryToken);
    if (token === null) {
      reply.header('www-authenticate', 'Bearer realm="vigil"');
      throw new AuthFailure('Missing credentials: send `Authorization: Bearer <token>`');
    }
    let principal: Principal;
    try {
      principal = await auth.verify(token);
    } catch (err) {
      reply.header('www-authenticate', 'Bearer realm="vigil", error="invalid_token"');
      throw err;
    }
    request.principal = principal;
    if (rule.kind === 'authenticated') return;
    if (!hasScope(principal, rule.scope)) throw missingScope(principal, rule.scope, `${request.method} ${route}`);
    const data = rule.data;
    if (Array.isArray(data)) {
      const denied = data.find((p) => !grantsPattern(principal, p));
      if (denied !== undefined) throw channelDenied(principal, denied);
    } else if (typeof data === 'object' && (data as NamedChannels).named !== 'body') {
      checkNamed(principal, data as NamedChannels, request);
    }
    if (route === QUERY_TOKEN_ROUTE && principal.expiresAt !== undefined) endAtExpiry(reply, principal.expiresAt);
  });
  // Before validation, so that a channel the credential may not use is refused (403) whatever else the body holds.
  app.addHook('preValidation', async (request) => {
    if (request.principal === null) return;
    const data = request.routeOptions.config?.access;
    if (data?.kind === 'scoped' && typeof data.data === 'object' && !Array.isArray(data.data)) {
      const where = data.data as NamedChannels;
      if (where.named === 'body') checkNamed(request.principal, where, request);
    }
  });
}

/**
 * Checks the channels a request names: each must be granted. Malformed names are left to the route, which answers
 * `invalid_channel`.
 */
function checkNamed(principal: Principal, where: NamedChannels, request: FastifyRequest): void {
  const holder = (where.named === 'params' ? request.params : where.named === 'query' ? request.query : request.body) as
    | Record<string, unknown>
    | undefined;
  const value = holder?.[where.field];
  const names = typeof value === 'string' ? value.split(',') : Array.isArray(value) ? value : [];
  for (const name of names) {
    if (isValidPattern(name) && !grantsPattern(principal, name)) throw channelDenied(principal, name);
  }
}

/** Ends a long-lived response (the SSE stream) when its credential expires; the client must reconnect with a new one. */
function endAtExpiry(reply: FastifyReply, expiresAt: number): void {
  let timer: NodeJS.Timeout;
  const arm = () => {
    const wait = expiresAt - Date.now();
    if (wait <= 0) {
      reply.raw.end();
      return;
    }
    timer = setTimeout(arm, Math.min(wait, MAX_TIMER_MS));
    timer.unref();
  };
  arm();
  reply.raw.on('close', () => clearTimeout(timer));
}
