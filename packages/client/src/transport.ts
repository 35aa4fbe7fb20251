/**
 * @module transport
 * What the client needs from a WebSocket, whichever one it gets: the browser's `globalThis.WebSocket`, the `ws`
 * package on Node (loaded lazily, so bundlers never run it in a browser), or a constructor passed in. Also the
 * URL (`?token=`), the `Authorization` header, and frame encoding per subprotocol.
 */
import { msgpackCodec, SUBPROTOCOL_JSON, SUBPROTOCOL_MSGPACK, safeJsonParse } from '@vigil/protocol/wire';
import { VigilClientError } from './errors.js';

type Handler<E> = { bivarianceHack(event: E): void }['bivarianceHack'];

export interface MessageEventLike {
  data: unknown;
}

export interface CloseEventLike {
  code: number;
  reason: string;
}

/** The part of the WebSocket API the client uses; the browser's and `ws`'s both have it. */
export interface SocketLike {
  binaryType: string;
  readonly protocol: string;
  readonly readyState: number;
  send(data: string | Uint8Array): void;
  close(code?: number, reason?: string): void;
  onopen: Handler<unknown> | null;
  onmessage: Handler<MessageEventLike> | null;
  onclose: Handler<CloseEventLike> | null;
  onerror: Handler<unknown> | null;
}

/** A WebSocket constructor. The third argument (headers) is only passed to the `ws` package. */
export type WebSocketConstructor = new (
  url: string,
  protocols?: string | string[],
  options?: { headers?: Record<string, string> },
) => SocketLike;

export interface ResolvedWebSocket {
  ctor: WebSocketConstructor;
  /** True for the `ws` package, which can send headers. */
  nodeWs: boolean;
}

export type Encoding = 'json' | 'msgpack';
export type TokenTransport = 'auto' | 'header' | 'query';

/** The injected constructor, else the global one, else the `ws` package. */
export async function resolveWebSocket(injected?: WebSocketConstructor): Promise<ResolvedWebSocket> {
  if (injected) return { ctor: injected, nodeWs: false };
  const global = (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
  if (typeof global === 'function') return { ctor: global, nodeWs: false };
  const mod = await import('ws');
  return { ctor: mod.default, nodeWs: true };
}

/**
 * Turns `url` into the WebSocket URL: `http(s)` becomes `ws(s)`, a bare origin gets `/ws`, a path-only URL is
 * resolved against `location` in browsers. The token goes in `?token=` when `tokenInQuery`.
 */
export function buildUrl(url: string, token: string | undefined, tokenInQuery: boolean): string {
  const base = (globalThis as { location?: { href: string } }).location?.href;
  const u = base ? new URL(url, base) : new URL(url);
  if (u.protocol === 'http:') u.protocol = 'ws:';
  else if (u.protocol === 'https:') u.protocol = 'wss:';
  if (u.pathname === '' || u.pathname === '/') u.pathname = '/ws';
  if (token !== undefined && tokenInQuery) u.searchParams.set('token', token);
  return u.toString();
}

export function subprotocolFor(encoding: Encoding): string {
  return encoding === 'msgpack' ? SUBPROTOCOL_MSGPACK : SUBPROTOCOL_JSON;
}

/**
 * Opens a socket offering the encoding's subprotocol. The token goes in the `Authorization` header when `mode` is
 * `header`, or `auto` with the `ws` package; in `?token=` otherwise.
 */
export function openWebSocket(
  ws: ResolvedWebSocket,
  baseUrl: string,
  encoding: Encoding,
  token: string | undefined,
  mode: TokenTransport,
): SocketLike {
  const inHeader = token !== undefined && (mode === 'header' || (mode === 'auto' && ws.nodeWs));
  const url = buildUrl(baseUrl, token, token !== undefined && !inHeader);
  const protocols = [subprotocolFor(encoding)];
  const socket = inHeader
    ? new ws.ctor(url, protocols, { headers: { Authorization: `Bearer ${token}` } })
    : new ws.ctor(url, protocols);
  socket.binaryType = 'arraybuffer';
  return socket;
}

/** Encodes a client frame for the negotiated subprotocol (JSON as a text frame, MessagePack as binary). */
export function encodeFrame(protocol: string, frame: unknown): string | Uint8Array {
  return protocol === SUBPROTOCOL_MSGPACK ? msgpackCodec.encode(frame) : JSON.stringify(frame);
}

const textDecoder = new TextDecoder();

/** Decodes a server frame: text is JSON, binary is MessagePack (or JSON bytes on a JSON connection). */
export function decodeFrame(protocol: string, data: unknown): unknown {
  try {
    if (typeof data === 'string') return safeJsonParse(data);
    let bytes: Uint8Array;
    if (data instanceof ArrayBuffer) bytes = new Uint8Array(data);
    else if (ArrayBuffer.isView(data)) bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    else throw new Error(`unsupported message data (${typeof data})`);
    // msgpackr reads any Uint8Array; the codec's signature names Node's Buffer.
    if (protocol === SUBPROTOCOL_MSGPACK) return msgpackCodec.decode(bytes as Buffer);
    return safeJsonParse(textDecoder.decode(bytes));
  } catch (err) {
    throw new VigilClientError('decode_failed', `Undecodable frame: ${(err as Error).message}`);
  }
}
