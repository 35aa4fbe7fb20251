/**
 * @module content-type
 * Bodies in a type the route does not read answer 415 `unsupported_media_type` with a hint, before any parsing:
 * a JSON route (every route that does not declare `consumes`) takes `application/json` only, so a form body (what
 * `curl -d` sends) or `text/plain` is named as such instead of failing later as "body must be object". Routes that
 * declare `consumes` (the text ingest routes) take those types; Fastify's own "no parser" error is mapped to the same
 * code by the error handler.
 */
import { VigilError } from '@vigil/protocol';
import type { FastifyInstance, FastifyRequest } from 'fastify';

const JSON_TYPE = 'application/json';

/** The media type of a Content-Type header, lower case, without parameters; '' when absent. */
export function mediaType(header: string | undefined): string {
  return (header ?? '').split(';', 1)[0]!.trim().toLowerCase();
}

/** True when the request carries a body (a non-zero Content-Length or a chunked transfer). */
function hasBody(req: FastifyRequest): boolean {
  const length = req.headers['content-length'];
  if (length !== undefined) return length !== '0';
  return req.headers['transfer-encoding'] !== undefined;
}

/** The media types a route reads: its `consumes`, or JSON. */
export function routeConsumes(req: FastifyRequest): readonly string[] {
  const consumes = (req.routeOptions.schema as { consumes?: unknown } | undefined)?.consumes;
  return Array.isArray(consumes) && consumes.every((c) => typeof c === 'string') ? consumes : [JSON_TYPE];
}

/** The error for a body of type `got` sent to this request's route. */
export function unsupportedMediaType(req: FastifyRequest, got: string): VigilError {
  const takes = routeConsumes(req);
  const route = `${req.method} ${req.routeOptions.url ?? req.url.split('?')[0]}`;
  const sent = got === '' ? 'a body without Content-Type' : `Content-Type ${got}`;
  const hint =
    takes.length === 1 && takes[0] === JSON_TYPE
      ? `send a JSON body with Content-Type: application/json (with curl: -H 'content-type: application/json' -d '{...}')`
      : `send it as ${takes.join(' or ')}`;
  return new VigilError('unsupported_media_type', `${route} does not read ${sent}: ${hint}`, {
    content_type: got,
    accepted: [...takes],
  });
}

/** Refuses bodies that a JSON route cannot read, with 415 and a hint. */
export function installJsonContentType(app: FastifyInstance): void {
  app.addHook('preParsing', async (req, _reply, payload) => {
    if (!hasBody(req)) return payload;
    const takes = routeConsumes(req);
    if (takes.length !== 1 || takes[0] !== JSON_TYPE) return payload;
    const got = mediaType(req.headers['content-type']);
    if (got !== JSON_TYPE) throw unsupportedMediaType(req, got);
    return payload;
  });
}
