/**
 * @module index-page
 * `/api`: a small page listing the endpoints (the dashboard is at `/`), `/api/*` for unknown API paths, plus
 * `/health` and `/ready`.
 */
import type { FastifyInstance } from 'fastify';
import { access } from '../../auth/route-access.js';

const ENDPOINTS: [string, string][] = [
  ['GET /', 'the dashboard'],
  ['GET /ws', 'WebSocket, protocol v1 (docs/protocol.md)'],
  ['GET /api/v1/stream?channels=…', 'Server-Sent Events fallback'],
  ['GET /api/v1/stats', 'hub statistics'],
  ['GET /api/v1/channels', 'active channels with offsets and subscribers'],
  ['GET /api/v1/channels/:channel/history', 'channel history'],
  ['POST /api/v1/publish', 'publish an event'],
  ['GET /metrics', 'Prometheus metrics of the hub'],
  ['GET /api/docs', 'OpenAPI documentation'],
  ['GET /health, /ready', 'liveness and readiness'],
];

function page(node: string): string {
  const rows = ENDPOINTS.map(([path, what]) => `<tr><td><code>${path}</code></td><td>${what}</td></tr>`).join('');
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Vigil</title>
<style>body{font:15px system-ui,sans-serif;margin:2rem auto;max-width:760px;color:#1d2330}
td{padding:.3rem .8rem;border-bottom:1px solid #e3e6ea}code{color:#0b5cad}</style></head>
<body><h1>Vigil</h1><p>Real-time monitoring hub, node <code>${node}</code>. The dashboard is at <a href="/">/</a>.</p>
<table>${rows}</table></body></html>`;
}

export function indexRoutes(
  app: FastifyInstance,
  hub: { readonly config: { readonly nodeId: string }; isReady(): boolean },
): void {
  const html = page(hub.config.nodeId.replace(/[<>&"]/g, ''));
  app.get('/api', { config: access('public'), schema: { hide: true } }, async (_req, reply) =>
    reply.type('text/html; charset=utf-8').send(html),
  );
  // Unknown API paths are API routes too: checked for credentials like the others, then answered 404 (and never by
  // the dashboard's client-side routes).
  app.get('/api/*', { config: access('authenticated'), schema: { hide: true } }, (_req, reply) => reply.callNotFound());
  app.get(
    '/health',
    {
      config: access('public'),
      schema: {
        summary: 'Liveness: 200 while the process serves HTTP',
        response: { 200: { type: 'object', properties: { status: { type: 'string' } } } },
      },
    },
    async () => ({ status: 'ok' }),
  );
  app.get(
    '/ready',
    {
      config: access('public'),
      schema: {
        summary: 'Readiness: 200 once listening, 503 while starting or shutting down',
        response: {
          200: { type: 'object', properties: { status: { type: 'string' } } },
          503: { type: 'object', properties: { status: { type: 'string' } } },
        },
      },
    },
    async (_req, reply) => (hub.isReady() ? { status: 'ready' } : reply.status(503).send({ status: 'not_ready' })),
  );
}
