/**
 * @module upgrade
 * Small helpers of the WebSocket upgrade and of frames refused unread: subprotocol choice, plain HTTP refusals, and
 * the `id` of a raw frame.
 */
import type { Duplex } from 'node:stream';
import { type FrameIdValue, SUBPROTOCOL_JSON, SUBPROTOCOL_MSGPACK } from '@vigil/protocol';
import type { Refusal } from '../limits/connection-limits.js';
import type { Connection } from './connection.js';

/** The first subprotocol the client offers that the hub speaks, in the client's order of preference. */
export function pickSubprotocol(offered: Iterable<string>): string | false {
  for (const p of offered) if (p === SUBPROTOCOL_JSON || p === SUBPROTOCOL_MSGPACK) return p;
  return false;
}

/** Ends an upgrade request with a plain HTTP answer. */
export function refuse(socket: Duplex, status: number, text: string, body: string): void {
  socket.end(
    `HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

/** Ends an upgrade refused by the connection limits: 429 (or 503 when the hub is full) with `Retry-After`. */
export function refuseOverLimit(socket: Duplex, refusal: Refusal): void {
  const code = refusal.status === 503 ? 'unavailable' : 'connection_limit';
  const body = JSON.stringify({ error: { code, message: refusal.message, details: refusal.details } });
  const text = refusal.status === 503 ? 'Service Unavailable' : 'Too Many Requests';
  socket.end(
    `HTTP/1.1 ${refusal.status} ${text}\r\nConnection: close\r\nRetry-After: ${refusal.retryAfterS}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

/** The usable `id` of an undecoded frame, if it has one (for replies to frames that are refused unread). */
export function frameId(conn: Connection, data: Buffer): FrameIdValue | undefined {
  if (data.length > CHEAP_ID_BYTES) return leadingJsonId(conn, data);
  try {
    const v = conn.codec.decode(data);
    if (v !== null && typeof v === 'object' && Object.hasOwn(v, 'id')) {
      const id = (v as { id: unknown }).id;
      if ((typeof id === 'number' && Number.isFinite(id)) || (typeof id === 'string' && id.length <= 128)) return id;
    }
  } catch {
    // undecodable: no id
  }
  return undefined;
}

/** Frames up to this size are decoded to find the id of a refused frame; larger ones are only looked at. */
const CHEAP_ID_BYTES = 512;
const LEADING_ID = /^\s*\{\s*(?:"op"\s*:\s*"[a-z_.]{1,32}"\s*,\s*)?"id"\s*:\s*(?:"([^"\\]{0,128})"|(-?\d{1,15})[\s,}])/;

/**
 * The id of a large JSON frame, read without parsing it: found when `id` is its first key, or second after `op` (as
 * the SDK writes them). A refused frame costs the hub no more than this look at its first bytes.
 */
function leadingJsonId(conn: Connection, data: Buffer): FrameIdValue | undefined {
  if (conn.codec.encoding !== 'json') return undefined;
  const m = LEADING_ID.exec(data.toString('latin1', 0, 256));
  if (!m) return undefined;
  return m[1] ?? Number(m[2]);
}
