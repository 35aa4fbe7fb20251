/**
 * @module app
 * The Fastify app: JSON schemas on every route, OpenAPI at `/api/docs`, the error mapping, the core routes, and each
 * part's routes in a scope of its own.
 */
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { Ajv } from 'ajv';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Authenticator } from '../auth/credentials.js';
import { installAuthHooks } from '../auth/http-hook.js';
import { recordRoutes } from '../auth/route-access.js';
import type { Config } from '../config/load.js';
import { installRequestRate } from '../limits/request-rate.js';
import type { HubPart } from '../part.js';
import { installJsonContentType } from './content-type.js';
import { installCors } from './cors.js';
import { installErrorHandler } from './error-handler.js';
import { type CoreHost, coreRoutes } from './routes/core.js';
import { indexRoutes } from './routes/index-page.js';
import { metricsRoute } from './routes/prometheus.js';
import { type SseHost, sseRoutes } from './sse.js';
import { createHubServer } from './tls.js';

/** What the HTTP app needs from the hub. */
export interface HttpHost extends Omit<CoreHost, 'broker'>, Omit<SseHost, 'maxQueueBytes' | 'limits'> {
  readonly connectionLimits: SseHost['limits'];
  readonly config: Config;
  readonly log: Logger;
  readonly auth: Authenticator | undefined;
  readonly metrics: { readonly registry: Registry };
  readonly parts: readonly HubPart[];
  isReady(): boolean;
}

export function buildHttpApp(hub: HttpHost): FastifyInstance {
  const app = Fastify({
    loggerInstance: hub.log.child({ part: 'http' }) as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: hub.config.http.bodyLimit,
    forceCloseConnections: true,
    serverFactory: (handler) => createHubServer(hub.config.tls, handler),
  });
  // Query strings and params arrive as text and are coerced to their schema types; JSON bodies are not: a number
  // where a string belongs is a bad request, not something to guess about.
  const strict = new Ajv({ coerceTypes: false, useDefaults: true, removeAdditional: false, allErrors: false });
  const coercing = new Ajv({ coerceTypes: 'array', useDefaults: true, removeAdditional: false, allErrors: false });
  for (const ajv of [strict, coercing]) ajv.addKeyword({ keyword: 'example' }).addKeyword({ keyword: 'hide' });
  app.setValidatorCompiler(({ schema, httpPart }) =>
    httpPart === 'body' ? strict.compile(schema) : coercing.compile(schema),
  );
  recordRoutes(app);
  const http = hub.counters.http;
  app.addHook('onResponse', async (_req, reply) => {
    http.requests++;
    if (reply.statusCode >= 500) http.errors++;
    http.totalMs += reply.elapsedTime;
  });
  installErrorHandler(app);
  installJsonContentType(app);
  const preflights = installCors(app, () => hub.config.http.cors);
  const perCredential = installRequestRate(app, () => hub.config.limits);
  preflights();
  if (hub.auth) {
    installAuthHooks(app, hub.auth);
    perCredential();
  }
  app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'Vigil HTTP API',
        version: '1.0.0',
        description: 'REST API of the Vigil hub. The WebSocket protocol is described in docs/protocol.md.',
      },
    },
  });
  app.register(swaggerUi, { routePrefix: '/api/docs' });
  app.register(async (instance) => {
    indexRoutes(instance, hub);
    coreRoutes(instance, hub);
    sseRoutes(instance, {
      broker: hub.broker,
      gateway: hub.gateway,
      counters: hub.counters,
      limits: hub.connectionLimits,
      maxQueueBytes: hub.config.http.sseMaxQueueBytes,
    });
    metricsRoute(instance, hub);
  });
  // Each part in its own scope: the hooks, parsers and decorators one part adds (the metrics part's gzip hook and
  // text body parsers, the dashboard's static files and headers) stay in that part.
  for (const part of hub.parts) {
    const routes = part.routes;
    if (routes) app.register(async (scope) => routes(scope));
  }
  return app;
}
