/**
 * @module route-access
 * What an HTTP route needs, declared where the route is registered, next to its handler:
 *
 *   app.get('/api/v1/rules', { config: access('read', ['alerts']), schema }, handler);
 *   app.post('/api/v1/publish', { config: access('publish', named('body', 'channel')), schema }, handler);
 *   app.get('/api/v1/channels', { config: access('read', 'filtered'), schema }, handler);
 *   app.get('/health', { config: access('public'), schema }, handler);
 *
 * The second argument says what channel data the route returns or changes:
 * - a list of channel patterns: the data of those channels (a part's channel, such as `alerts`, or `metrics.>`); the
 *   credential must be granted every one;
 * - `named(where, field)`: the channels the request names (a path parameter, a query parameter holding a
 *   comma-separated list, or a body field); the credential must be granted each;
 * - `'filtered'`: data of many channels, which the handler filters by `request.principal` itself;
 * - `'none'`: no channel's data (hub-wide counts, the credential's own description).
 *
 * A route that declares nothing is held to the strictest rule: `admin` and every channel, except GETs outside `/api`
 * and `/metrics` (the dashboard's files) and under `/api/docs` (the API's documentation), which are public. A test built from the live route list
 * (`auth/route-permissions.test.ts`) checks every route with channel-limited credentials, so a route that forgets
 * or misstates its data fails it.
 */
import type { FastifyInstance } from 'fastify';
import type { Scope } from './permissions.js';

export type NamedChannels = { readonly named: 'params' | 'query' | 'body'; readonly field: string };

export type ChannelData = 'none' | 'filtered' | readonly string[] | NamedChannels;

export type RouteAccess =
  | { readonly kind: 'public' }
  | { readonly kind: 'authenticated' }
  | { readonly kind: 'scoped'; readonly scope: Scope; readonly data: ChannelData };

/** One registered route and what it declared. */
export interface RouteEntry {
  readonly method: string;
  readonly url: string;
  readonly access: RouteAccess | undefined;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** What the route needs; see auth/route-access.ts. */
    access?: RouteAccess;
  }
  interface FastifyInstance {
    /** Every route registered on the app, in every scope (see `recordRoutes`). */
    readonly routeList: readonly RouteEntry[];
  }
}

/** Records every route registered from now on, in every scope, as `app.routeList`. */
export function recordRoutes(app: FastifyInstance): void {
  const list: RouteEntry[] = [];
  app.decorate('routeList', list);
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) list.push({ method, url: route.url, access: route.config?.access });
  });
}

/** The channels a request names in `where` (a comma-separated list in a query parameter). */
export function named(where: NamedChannels['named'], field: string): NamedChannels {
  return { named: where, field };
}

/**
 * The route `config` declaring its access: `public` (no credential), `authenticated` (any valid credential; the
 * route returns no channel data), or a scope with the channel data the route returns or changes.
 */
export function access(kind: 'public' | 'authenticated'): { access: RouteAccess };
export function access(scope: Scope, data: ChannelData): { access: RouteAccess };
export function access(kind: Scope | 'public' | 'authenticated', data?: ChannelData): { access: RouteAccess } {
  if (kind === 'public' || kind === 'authenticated') return { access: { kind } };
  return { access: { kind: 'scoped', scope: kind, data: data ?? 'none' } };
}

const EVERY_CHANNEL: RouteAccess = { kind: 'scoped', scope: 'admin', data: ['>'] };

function under(path: string, prefix: string): boolean {
  return path === prefix || path.startsWith(`${prefix}/`);
}

/**
 * Whether a path belongs to the API (`/api/...` and `/metrics`), where nothing is public unless declared. The API's
 * documentation (`/api/docs`, served by a plugin) is not: it is public.
 */
export function isApiPath(path: string): boolean {
  return (under(path, '/api') && !under(path, '/api/docs')) || under(path, '/metrics');
}

/**
 * The access of a request: the route's declaration, or for undeclared routes the default. `route` is the matched
 * pattern (undefined when nothing matched), `path` the request's path. A request that matched no route is public
 * outside the API (it gets its 404 either way) and needs a credential inside it.
 */
export function accessOf(method: string, route: string | undefined, path: string, declared?: RouteAccess): RouteAccess {
  if (declared) return declared;
  const reading = method === 'GET' || method === 'HEAD';
  if (route === undefined) return reading && !isApiPath(path) ? { kind: 'public' } : { kind: 'authenticated' };
  return reading && !isApiPath(route) ? { kind: 'public' } : EVERY_CHANNEL;
}
