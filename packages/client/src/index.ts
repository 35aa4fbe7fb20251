/**
 * @module @vigil/client
 * The Vigil SDK for browsers and Node: `VigilClient`, its typed events, errors and backoff, and `VigilHttp` for the
 * REST API. React hooks live in
 * `@vigil/client/react`.
 */
export { Backoff, type BackoffOptions, backoffCap, fullJitter } from './backoff.js';
export { type PublishResult, VigilClient } from './client.js';
export { CLIENT_ERRORS, type ClientErrorCode, VigilClientError, type VigilClientErrorCode } from './errors.js';
export * from './events.js';
export {
  type AlertQuery,
  DEFAULT_HTTP_TIMEOUT_MS,
  type FetchLike,
  type RangeQuery,
  type SeriesFilter,
  type SilenceInput,
  VigilHttp,
  type VigilHttpOptions,
} from './http.js';
export type { OfflineQueueOptions } from './offline-queue.js';
export type { Transport, VigilClientOptions } from './options.js';
export type { StreamPosition, SubscribeOptions, SubscriptionState } from './subscription.js';
export { Subscription } from './subscription.js';
export type { Encoding, SocketLike, TokenTransport, WebSocketConstructor } from './transport.js';
