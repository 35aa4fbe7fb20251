/**
 * @module liveness
 * The gateway's timed checks over its connections: WebSocket pings with a pong deadline (4009), queues that stayed
 * full too long (4008) and, with auth on, credentials that expired or never came (4001).
 */
import { CloseCode } from '@vigil/protocol';
import type { Authenticator } from '../auth/credentials.js';
import { overdue } from '../auth/ws.js';
import type { Connection } from './connection.js';

export type CloseFn = (conn: Connection, code: number, reason: string, reconnect: boolean) => void;

/** Pings every connection not already waiting for a pong, and closes those still silent after `pongTimeoutMs`. */
export function heartbeat(connections: Set<Connection>, pongTimeoutMs: number, close: CloseFn): void {
  const now = Date.now();
  for (const conn of connections) {
    if (conn.closed || conn.pingSentAt !== 0) continue;
    conn.pingSentAt = now;
    try {
      conn.ws.ping();
    } catch {
      // the socket is going away; 'close' cleans up
    }
  }
  const timer = setTimeout(() => {
    const limit = Date.now() - pongTimeoutMs;
    for (const conn of connections) {
      if (!conn.closed && conn.pingSentAt !== 0 && conn.pingSentAt <= limit) {
        close(conn, CloseCode.HEARTBEAT_TIMEOUT, 'heartbeat timeout', true);
      }
    }
  }, pongTimeoutMs);
  timer.unref();
}

/** Closes connections whose queue has been full for longer than `timeoutMs`. */
export function sweepSlowConsumers(connections: Set<Connection>, timeoutMs: number, close: CloseFn): void {
  const limit = Date.now() - timeoutMs;
  for (const conn of connections) {
    if (!conn.closed && conn.fullSince !== 0 && conn.fullSince <= limit) {
      close(conn, CloseCode.SLOW_CONSUMER, 'slow consumer', true);
    }
  }
}

/** With auth on: closes connections whose JWT has expired or that never authenticated in time. */
export function sweepAuth(connections: Set<Connection>, auth: Authenticator, close: CloseFn): void {
  const now = Date.now();
  for (const conn of connections) {
    if (conn.closed) continue;
    const order = overdue(conn.principal, conn.openedAt, now, auth.wsAuthTimeoutMs);
    if (order) close(conn, CloseCode.UNAUTHORIZED, order.reason, order.reconnect);
  }
}
