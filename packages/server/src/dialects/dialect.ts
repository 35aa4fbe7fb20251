/**
 * @module dialect
 * What a dialect is: the wire language of one family of clients, spoken on paths of its own, translated onto the
 * hub's channels, call methods and parts. A dialect keeps no state of the hub's: it reads through `DialectHost`
 * (the call methods and the parts' services) and its sessions receive events through the gateway's subscription
 * manager, so there is one fan-out and one copy of every state, whatever the number of dialects.
 */
import type { ErrorCode, Filter } from '@vigil/protocol';
import type { FastifyInstance } from 'fastify';
import type { StoredEvent } from '../broker/broker.js';
import type { DialectSession } from './session.js';

/** What the dialect server offers a dialect's handlers. */
export interface DialectContext {
  /**
   * Subscribes the session to `patterns` through the gateway's subscription manager (no snapshot, no recovery);
   * with auth on, patterns the credential does not grant are left out. Resolves once the subscription is in place.
   */
  subscribe(session: DialectSession, patterns: readonly string[], filter?: Filter): Promise<void>;
  /** Ends the session's subscriptions to `patterns` (all of them when omitted). */
  unsubscribe(session: DialectSession, patterns?: readonly string[]): void;
  /** Calls a method of the registry after the same permission check as a v1 `call`. */
  call(session: DialectSession, method: string, params?: unknown): Promise<unknown>;
  /** Queues a message for the session (never dropped) and schedules its write. */
  send(session: DialectSession, message: unknown): void;
  /** The sessions of this dialect open now. */
  sessions(): Iterable<DialectSession>;
  /** Closes the session with a WebSocket close code. */
  close(session: DialectSession, code: number, reason: string): void;
}

export interface Dialect {
  /** The dialect's name: its key under `dialects:` in the configuration. */
  readonly name: string;
  /** Its WebSocket paths. */
  readonly paths: readonly string[];
  /** The dialect message for a hub event, the same for all its sessions; undefined when it has none. */
  translate(event: StoredEvent): unknown;
  /** Whether one session takes a translated event (its own filters); default: all do. */
  wants?(session: DialectSession, event: StoredEvent): boolean;
  /** Events that pressure must neither drop nor delay behind others (critical alerts, P0/P1 incidents). */
  urgent?(event: StoredEvent): boolean;
  /** A new session on `url`: send what the dialect sends first and subscribe. */
  open(session: DialectSession, ctx: DialectContext, url: URL): void | Promise<void>;
  /** One decoded JSON message from the client. */
  message(session: DialectSession, message: unknown, ctx: DialectContext): void | Promise<void>;
  /** The dialect's error message for bad input (`code` from the error registry). */
  error(session: DialectSession, code: ErrorCode, message: string): unknown;
  /** The message sent before the hub closes a session (shutdown, limits, timeouts), if the dialect has one. */
  closing?(session: DialectSession, code: number, reason: string): unknown;
  /** A session ended. */
  closed?(session: DialectSession): void;
  /** The dialect's view of a session's subscriptions, for the sessions API. */
  describe?(session: DialectSession): unknown;
  /** Its HTTP routes, in a Fastify scope of their own. */
  routes?(app: FastifyInstance): void | Promise<void>;
  /** Timers of its own (periodic pushes), started with the hub and stopped before the gateway drains. */
  start?(ctx: DialectContext): void;
  stop?(): void;
}

/** RFC 3339 text of a ms timestamp (null for a missing one). */
export function rfc3339(ms: unknown): string | null {
  return typeof ms === 'number' && Number.isFinite(ms) ? new Date(ms).toISOString() : null;
}

/** Whether `v` is a plain object. */
export function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}
