/**
 * @module cors
 * Cross-origin access to the REST API and the SSE stream (`http.cors.allowed_origins`; off by default). A request
 * whose `Origin` is allowed gets `Access-Control-Allow-Origin` (that origin, with `Vary: Origin`) on every answer,
 * errors and the hijacked SSE stream included, since the headers are set on the raw response before anything else
 * runs. A preflight (`OPTIONS` with `Access-Control-Request-Method`) is answered here, before authentication (browsers
 * send preflights without credentials): 204 with the allowed methods and headers for an allowed origin, 403
 * `forbidden` naming the option otherwise. Requests without `Origin` (curl, servers, the SDK in Node) are untouched.
 *
 * Credentials travel in the `Authorization` header, which CORS allows without `Access-Control-Allow-Credentials`
 * (that is for cookies, which the hub does not use), so the hub never sends it.
 */
import { ERRORS } from '@vigil/protocol';
import type { FastifyInstance, FastifyRequest } from 'fastify';

export interface CorsConfig {
  /** Exact origins (`https://ops.example.com`), or `*` for any; empty: cross-origin access is off. */
  readonly allowedOrigins: readonly string[];
  /** How long a browser may cache a preflight answer. */
  readonly maxAgeMs: number;
}

export const CORS_METHODS = 'GET, HEAD, POST, PUT, PATCH, DELETE';
export const CORS_HEADERS = 'authorization, content-type, content-encoding, last-event-id';
const EXPOSED_HEADERS = 'retry-after, www-authenticate';

/** An origin as browsers send it: scheme://host[:port], lower case, no trailing slash. */
export function normalizeOrigin(origin: string): string {
  return origin.trim().replace(/\/+$/, '').toLowerCase();
}

function allowed(config: CorsConfig, origin: string): boolean {
  const o = normalizeOrigin(origin);
  return config.allowedOrigins.some((a) => a === '*' || a === o);
}

/**
 * Installs the CORS headers hook now (first, so that every answer carries them) and returns the installer of the
 * preflight hook, to be called after the per-address request limit and before authentication.
 */
export function installCors(app: FastifyInstance, config: () => CorsConfig): () => void {
  app.addHook('onRequest', async (request, reply) => {
    const origin = request.headers.origin;
    if (origin === undefined || !allowed(config(), origin)) return;
    reply.raw.setHeader('access-control-allow-origin', origin);
    reply.raw.setHeader('vary', 'Origin');
    if (!isPreflight(request)) reply.raw.setHeader('access-control-expose-headers', EXPOSED_HEADERS);
  });
  return () =>
    app.addHook('onRequest', async (request, reply) => {
      const origin = request.headers.origin;
      if (origin === undefined || !isPreflight(request)) return;
      const cors = config();
      if (!allowed(cors, origin)) {
        const why =
          cors.allowedOrigins.length === 0
            ? 'cross-origin requests are off; list the origin in http.cors.allowed_origins'
            : 'it is not listed in http.cors.allowed_origins';
        return reply.status(ERRORS.forbidden.status).send({
          error: { code: 'forbidden', message: `Origin ${origin} may not call this hub: ${why}`, details: { origin } },
        });
      }
      reply.raw.setHeader('access-control-allow-methods', CORS_METHODS);
      reply.raw.setHeader('access-control-allow-headers', CORS_HEADERS);
      reply.raw.setHeader('access-control-max-age', String(Math.floor(cors.maxAgeMs / 1000)));
      return reply.status(204).send();
    });
}

function isPreflight(request: FastifyRequest): boolean {
  return request.method === 'OPTIONS' && request.headers['access-control-request-method'] !== undefined;
}
