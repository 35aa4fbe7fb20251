/**
 * @module dashboard-routes
 * Serves the dashboard's build: hashed files under `/assets/` cached for a year, `index.html` never cached, and
 * `index.html` for every other GET that is not a file and not the API (the app routes on the client, so a link to
 * `/alerts?tab=silenced` works). Every answer carries a Content-Security-Policy that allows scripts from the hub's
 * origin only. Without a build, `/` says how to make one.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';
import { access } from '../auth/route-access.js';

/** Scripts, styles, fonts and images from the hub itself; connections (REST and WebSocket) to it only. */
export const DASHBOARD_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const YEAR_S = 365 * 24 * 3600;

export interface DashboardRoutesOptions {
  /** The build folder (with `index.html`), or undefined when the dashboard is not built. */
  dir: string | undefined;
  /** Paths that belong to the API: never answered with the app. */
  reservedPrefixes: readonly string[];
}

const NOT_BUILT = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Vigil</title></head>
<body><h1>Vigil</h1><p>The dashboard is not built. Run <code>npm run build</code> (or <code>npm start</code>) in the
repository, then reload. The API is listed at <a href="/api">/api</a>.</p></body></html>`;

function reserved(url: string, prefixes: readonly string[]): boolean {
  const path = url.split('?')[0]!;
  return prefixes.some((p) => path === p || path.startsWith(`${p}/`));
}

export async function dashboardRoutes(app: FastifyInstance, options: DashboardRoutesOptions): Promise<void> {
  app.addHook('onSend', async (_req, reply, payload) => {
    if (reply.statusCode < 400 || String(reply.getHeader('content-type')).startsWith('text/html')) {
      reply.header('content-security-policy', DASHBOARD_CSP);
      reply.header('x-content-type-options', 'nosniff');
      reply.header('referrer-policy', 'no-referrer');
    }
    return payload;
  });
  const html = options.dir === undefined ? NOT_BUILT : readFileSync(join(options.dir, 'index.html'), 'utf8');
  if (options.dir !== undefined) {
    await app.register(fastifyStatic, {
      root: options.dir,
      wildcard: false,
      index: false,
      cacheControl: false,
      preCompressed: true,
      schemaHide: true,
      setHeaders: (res, path) => {
        res.setHeader('cache-control', path.includes('/assets/') ? `public, max-age=${YEAR_S}, immutable` : 'no-cache');
      },
    });
  }
  const sendApp = (reply: import('fastify').FastifyReply) =>
    reply.type('text/html; charset=utf-8').header('cache-control', 'no-cache').send(html);
  app.get('/', { config: access('public'), schema: { hide: true } }, (_req, reply) => sendApp(reply));
  app.get('/*', { config: access('public'), schema: { hide: true } }, (req, reply) => {
    const last = req.url.split('?')[0]!.split('/').pop() ?? '';
    if (reserved(req.url, options.reservedPrefixes) || last.includes('.')) return reply.callNotFound();
    return sendApp(reply);
  });
}
