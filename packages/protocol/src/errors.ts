/**
 * @module errors
 * The one registry of error codes shared by HTTP and WebSocket. Each code has an HTTP status, a default message and a
 * "how to solve" hint; `docs/errors.md` mirrors this table and a test keeps the two in step.
 */

export interface ErrorSpec {
  /** HTTP status used when the error leaves through the REST API. */
  readonly status: number;
  /** Default human message. */
  readonly message: string;
  /** What the caller can do about it. */
  readonly solve: string;
}

export const ERRORS = {
  bad_request: {
    status: 400,
    message: 'The request is malformed or a field has the wrong type',
    solve: 'Read `details` (it names the field) and fix the request against docs/protocol.md or the OpenAPI schema.',
  },
  unknown_op: {
    status: 400,
    message: 'Unknown op',
    solve: 'Use one of subscribe, unsubscribe, publish, call, auth, ping.',
  },
  unknown_method: {
    status: 404,
    message: 'Unknown call method',
    solve: 'Call a method listed in docs/protocol.md; `stats` answers on every hub.',
  },
  invalid_channel: {
    status: 400,
    message: 'Invalid channel name or pattern',
    solve: 'Use segments of [A-Za-z0-9_:-] joined by dots, at most 255 characters; `*` and `>` only in subscriptions.',
  },
  forbidden: {
    status: 403,
    message: 'Not allowed',
    solve: 'Use a credential whose scopes and channel patterns cover the operation.',
  },
  unauthorized: {
    status: 401,
    message: 'Missing, invalid or expired credentials',
    solve: 'Send a valid token (header, `?token=` or the `auth` op) and refresh it before it expires.',
  },
  rate_limited: {
    status: 429,
    message: 'Too many requests',
    solve: 'Slow down; retry after `details.retry_after_ms` when given.',
  },
  too_many_subscriptions: {
    status: 429,
    message: 'Subscription limit reached for this connection',
    solve: 'Unsubscribe from channels you no longer need, use a wildcard pattern, or raise `limits.max_subscriptions`.',
  },
  payload_too_large: {
    status: 413,
    message: 'Payload too large',
    solve: 'Send smaller frames or bodies, or raise `limits.max_payload`.',
  },
  unsupported_media_type: {
    status: 415,
    message: 'Unsupported content type',
    solve: 'Send JSON bodies with `Content-Type: application/json`; only the text ingest routes take `text/plain`.',
  },
  invalid_config: {
    status: 400,
    message: 'Invalid configuration',
    solve:
      'Fix the key the message names in the configuration file (or environment), then reload again; turning auth on or off takes a restart.',
  },
  unknown_command: {
    status: 400,
    message: 'Unknown command',
    solve: 'Send a command or message type that the dialect of this path lists in docs/dialects.md.',
  },
  not_found: {
    status: 404,
    message: 'Not found',
    solve: 'Check the id, channel or path.',
  },
  cardinality_limit: {
    status: 429,
    message: 'Series limit reached',
    solve: 'Drop high-cardinality labels (ids, timestamps) or raise `metrics.max_series_per_metric` / `max_series`.',
  },
  channel_limit: {
    status: 429,
    message: 'Channel limit reached',
    solve:
      'Publish to channels that already exist (put ids in the data, not the channel name), or raise `history.max_channels`.',
  },
  host_limit: {
    status: 429,
    message: 'Host limit reached',
    solve: 'Remove hosts that are gone (`DELETE /api/v1/hosts/:id`) or raise `fleet.max_hosts`.',
  },
  connection_limit: {
    status: 429,
    message: 'Connection limit reached',
    solve:
      'Close connections you no longer use (one WebSocket can carry every subscription), wait `Retry-After` seconds, or raise the `limits.*` settings.',
  },
  unavailable: {
    status: 503,
    message: 'The hub is shutting down or not ready',
    solve: 'Retry against another node or after the hub has restarted.',
  },
  internal: {
    status: 500,
    message: 'Internal error',
    solve: 'Retry; if it persists, report it with the hub log line that carries the same time.',
  },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERRORS;

export const ERROR_CODES = Object.keys(ERRORS) as ErrorCode[];

export function isErrorCode(code: string): code is ErrorCode {
  return Object.hasOwn(ERRORS, code);
}

/** The wire form of an error, as carried by `reply` and `error` frames and HTTP error bodies. */
export interface ErrorBody {
  code: ErrorCode;
  message: string;
  details?: Record<string, unknown>;
}

/** An error with a registry code. Throw it anywhere; the edges turn it into a reply or an HTTP response. */
export class VigilError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message?: string, details?: Record<string, unknown>) {
    super(message ?? ERRORS[code].message);
    this.name = 'VigilError';
    this.code = code;
    this.status = ERRORS[code].status;
    this.details = details;
  }

  toBody(): ErrorBody {
    const body: ErrorBody = { code: this.code, message: this.message };
    if (this.details !== undefined) body.details = this.details;
    return body;
  }
}

/** Turns anything thrown into an error body; unknown errors become `internal` without leaking their text. */
export function toErrorBody(err: unknown): ErrorBody {
  if (err instanceof VigilError) return err.toBody();
  return { code: 'internal', message: ERRORS.internal.message };
}

/** WebSocket close codes used by the hub. */
export const CloseCode = {
  SHUTDOWN: 1001,
  MESSAGE_TOO_BIG: 1009,
  UNAUTHORIZED: 4001,
  FORBIDDEN_ORIGIN: 4003,
  SLOW_CONSUMER: 4008,
  HEARTBEAT_TIMEOUT: 4009,
  RATE_LIMITED: 4029,
} as const;

export type CloseCodeValue = (typeof CloseCode)[keyof typeof CloseCode];
