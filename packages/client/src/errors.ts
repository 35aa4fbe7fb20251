/**
 * @module errors
 * `VigilClientError`: the one error type the SDK rejects with. Its `code` is either a client-side code from
 * `CLIENT_ERRORS` (listed with "how to solve" in docs/client.md) or the hub's own error code, carried with the hub's
 * `message` and `details` unchanged.
 */
import type { ErrorBody, ErrorCode } from '@vigil/protocol';

/** Codes raised by the SDK itself, with their default message. */
export const CLIENT_ERRORS = {
  offline_queue_full: 'The offline queue is full; the request was not queued',
  offline_queue_expired: 'The request waited in the offline queue longer than offlineQueue.maxAgeMs',
  timeout: 'No reply within the request timeout',
  disconnected: 'The connection was lost before the reply arrived',
  client_closed: 'The client was closed',
  connect_failed: 'The WebSocket could not be created (no WebSocket implementation, or the constructor threw)',
  token_failed: 'The token provider failed',
  subscription_conflict: 'The pattern is already subscribed with another filter or mode',
  invalid_pattern: 'Invalid channel name or pattern',
  decode_failed: 'A frame from the hub could not be decoded',
  request_failed: 'An HTTP request to the hub failed before any answer (hub down, wrong URL, network)',
  transport_unsupported: 'Not available over the SSE transport (no REST route for it); it needs a WebSocket',
} as const;

export type ClientErrorCode = keyof typeof CLIENT_ERRORS;

/** A client code, a hub code from the protocol's registry, or a hub code newer than this SDK. */
export type VigilClientErrorCode = ClientErrorCode | ErrorCode | (string & {});

export class VigilClientError extends Error {
  readonly code: VigilClientErrorCode;
  readonly details: Record<string, unknown> | undefined;
  /** True when the error came from the hub (a failed `reply` or an `error` frame). */
  readonly fromServer: boolean;

  constructor(code: VigilClientErrorCode, message?: string, details?: Record<string, unknown>, fromServer = false) {
    super(message ?? (CLIENT_ERRORS as Record<string, string>)[code] ?? code);
    this.name = 'VigilClientError';
    this.code = code;
    this.details = details;
    this.fromServer = fromServer;
  }

  /** Builds the error for a hub error body (`reply.error` or an `error` frame). */
  static fromBody(body: ErrorBody | { code: string; message: string; details?: Record<string, unknown> }) {
    return new VigilClientError(body.code, body.message, body.details, true);
  }
}

/** Hub error codes after which retrying the same subscribe cannot succeed. */
const PERMANENT = new Set<string>([
  'bad_request',
  'invalid_channel',
  'forbidden',
  'unauthorized',
  'too_many_subscriptions',
  'payload_too_large',
  'unknown_op',
  'subscription_conflict',
  'invalid_pattern',
  'transport_unsupported',
]);

export function isPermanent(err: VigilClientError): boolean {
  return PERMANENT.has(err.code);
}
