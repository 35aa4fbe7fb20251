/**
 * @module http-hook
 * Auth for HTTP, installed only when auth is configured. An `onRequest` hook takes the credential from
 * `Authorization: Bearer <jwt or API key>` (or `?token=` on the SSE stream), verifies it before the body is read,
 * and checks the route's rule (see `http-rules.ts`): a missing or refused credential is `401 unauthorized` (with
 * `WWW-Authenticate: Bearer`), a missing scope or channel `403 forbidden`. The channel of `POST /api/v1/publish`
 * is in the body, so it is checked in `preHandler`. An SSE stream opened with a JWT ends when the JWT expires.
 */
import { isValidChannel, isValidPattern } from '@vigil/protocol';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { type Authenticator, AuthFailure, bearerToken } from './credentials.js';
import { acceptsQueryToken, routeRule } from './http-rules.js';
import { channelDenied, check, grantsChannel, grantsPattern, type Principal } from './permissions.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The verified credential of the request; null when auth is off or the route is public. */
    principal: Principal | null;
  }
}

/** Longest wait a timer can take; later expiries are checked again when it fires. */
const MAX_TIMER_MS = 2_147_483_647;

export function installAuthHooks(app: FastifyInstance, auth: Authenticator): void {
  app.decorateRequest('principal', null);
  app.addHook('onRequest', async (request, reply) => {
    const method = request.method;
    const route = request.routeOptions.url;
    const rule = routeRule(method, route);
    if (rule === 'public') return;
    const query = request.query as Record<string, unknown> | undefined;
    const queryToken = acceptsQueryToken(method, route) && typeof query?.token === 'string' ? query.token : null;
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
    if (rule === 'authenticated') return;
    const denied = check(principal, rule, `${method} ${route}`) ?? channelsOfRequest(principal, request, route);
    if (denied) throw denied;
    if (route === '/api/v1/stream' && principal.expiresAt !== undefined) endAtExpiry(reply, principal.expiresAt);
  });
  app.addHook('preHandler', async (request) => {
    if (request.principal === null || request.method !== 'POST' || request.routeOptions.url !== '/api/v1/publish') {
      return;
    }
    const channel = (request.body as { channel?: unknown } | undefined)?.channel;
    if (isValidChannel(channel) && !grantsChannel(request.principal, channel)) {
      throw channelDenied(request.principal, channel);
    }
  });
}

/** Checks the channels a request names in its path or query. */
function channelsOfRequest(principal: Principal, request: FastifyRequest, route: string | undefined) {
  if (route === '/api/v1/channels/:channel/history') {
    const channel = (request.params as { channel?: unknown }).channel;
    if (isValidChannel(channel) && !grantsChannel(principal, channel)) return channelDenied(principal, channel);
  } else if (route === '/api/v1/stream') {
    const list = (request.query as { channels?: unknown }).channels;
    const patterns = typeof list === 'string' ? list.split(',') : [];
    const denied = patterns.find((p) => isValidPattern(p) && !grantsPattern(principal, p));
    if (denied !== undefined) return channelDenied(principal, denied);
  }
  return undefined;
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
