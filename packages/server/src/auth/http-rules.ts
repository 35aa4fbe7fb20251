/**
 * @module http-rules
 * What each HTTP route needs, decided from the method and the matched route (not the raw path, so that encodings
 * cannot dodge a rule):
 * - public: `/`, `/api` (the endpoints page), `/health`, `/ready`, `/api/docs*`, and any other GET outside `/api/`
 *   and `/metrics` (the dashboard and its files);
 * - any valid credential: `GET /api/v1/whoami` (what the credential may do);
 * - `read`: every other GET, including `/metrics` and the SSE stream;
 * - `publish`: event publishing and ingest (`POST /api/v1/publish`, `/api/v1/metrics`, `/api/v1/write/*`,
 *   `/api/v1/alerts`, `/api/v1/tasks`, `PATCH /api/v1/tasks/:id`);
 * - `admin`: everything else (rules and silences, acks, incident actions, deletions, routes added later).
 * Routes that serve or change a part's data also need that part's channel granted (`alerts`, `incidents`, `tasks`,
 * `metrics.>`); routes that name channels (history, the stream, publish) need those channels granted.
 */
import type { Requirement, Scope } from './permissions.js';

/** `authenticated`: any valid credential (a request that matched no route, which then gets its 404). */
export type RouteRule = 'public' | 'authenticated' | Requirement;

/** Routes that write through the publish path. */
const PUBLISH_ROUTES = new Set([
  'POST /api/v1/publish',
  'POST /api/v1/metrics',
  'POST /api/v1/alerts',
  'POST /api/v1/tasks',
  'PATCH /api/v1/tasks/:id',
]);

/** The channel behind each part's routes. */
const PART_CHANNELS: readonly [string, string][] = [
  ['/api/v1/alerts', 'alerts'],
  ['/api/v1/rules', 'alerts'],
  ['/api/v1/silences', 'alerts'],
  ['/api/v1/incidents', 'incidents'],
  ['/api/v1/tasks', 'tasks'],
  ['/api/v1/metrics', 'metrics.>'],
  ['/api/v1/write', 'metrics.>'],
];

const PUBLIC_ROUTES = new Set(['/', '/api', '/health', '/ready']);

/** Routes any valid credential may call, whatever its scopes. */
const AUTHENTICATED_ROUTES = new Set(['GET /api/v1/whoami']);

function under(url: string, prefix: string): boolean {
  return url === prefix || url.startsWith(`${prefix}/`);
}

/**
 * The rule of a request, by method and matched route pattern (`request.routeOptions.url`, undefined when no route
 * matched).
 */
export function routeRule(method: string, route: string | undefined): RouteRule {
  const reading = method === 'GET' || method === 'HEAD';
  if (route === undefined || AUTHENTICATED_ROUTES.has(`${method} ${route}`)) return 'authenticated';
  if (reading && (PUBLIC_ROUTES.has(route) || under(route, '/api/docs'))) return 'public';
  if (reading && !under(route, '/api') && route !== '/metrics') return 'public';
  let scope: Scope = 'admin';
  if (reading) scope = 'read';
  else if (PUBLISH_ROUTES.has(`${method} ${route}`) || (method === 'POST' && route.startsWith('/api/v1/write/')))
    scope = 'publish';
  const part = PART_CHANNELS.find(([prefix]) => under(route, prefix));
  return part ? { scope, channel: part[1] } : { scope };
}

/** Routes that take the token from `?token=` too (EventSource cannot set headers). */
export function acceptsQueryToken(method: string, route: string | undefined): boolean {
  return method === 'GET' && route === '/api/v1/stream';
}
