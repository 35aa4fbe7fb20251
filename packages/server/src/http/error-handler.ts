/**
 * @module error-handler
 * Maps every failure that leaves through HTTP to `{error: {code, message, details?}}` with a registry code: our
 * VigilErrors, Fastify's schema validation, body parsing, content type and size errors, and unknown routes.
 */
import { ERRORS, type ErrorBody, type ErrorCode, VigilError } from '@vigil/protocol';
import type { FastifyError, FastifyInstance } from 'fastify';
import { mediaType, unsupportedMediaType } from './content-type.js';

function send(
  code: ErrorCode,
  message: string,
  details?: Record<string, unknown>,
): { status: number; body: { error: ErrorBody } } {
  const error: ErrorBody = { code, message };
  if (details) error.details = details;
  return { status: ERRORS[code].status, body: { error } };
}

export function installErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError | VigilError | Error, request, reply) => {
    let out: { status: number; body: { error: ErrorBody } };
    if (err instanceof VigilError) {
      out = { status: err.status, body: { error: err.toBody() } };
    } else if ('validation' in err && err.validation) {
      const first = err.validation[0];
      const where = `${(err as FastifyError).validationContext ?? 'body'}${first?.instancePath ?? ''}`;
      out = send('bad_request', `${where} ${first?.message ?? 'is invalid'}`, { path: where });
    } else if ((err as FastifyError).code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
      const e = unsupportedMediaType(request, mediaType(request.headers['content-type']));
      out = { status: e.status, body: { error: e.toBody() } };
    } else if ((err as FastifyError).code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      out = send('payload_too_large', 'Request body is too large');
    } else if (typeof (err as FastifyError).statusCode === 'number' && (err as FastifyError).statusCode! < 500) {
      out = send('bad_request', err.message);
      out.status = (err as FastifyError).statusCode!;
    } else {
      request.log.error({ err }, 'request failed');
      out = send('internal', ERRORS.internal.message);
    }
    reply.status(out.status).send(out.body);
  });
  app.setNotFoundHandler((request, reply) => {
    const out = send('not_found', `No route ${request.method} ${request.url.split('?')[0]}`);
    reply.status(out.status).send(out.body);
  });
}

export const ErrorResponse = {
  type: 'object',
  properties: {
    error: {
      type: 'object',
      properties: {
        code: { type: 'string', enum: Object.keys(ERRORS) },
        message: { type: 'string' },
        details: { type: 'object', additionalProperties: true },
      },
      required: ['code', 'message'],
    },
  },
  required: ['error'],
} as const;
