/**
 * @module bench/fanout/framing
 * Minimal RFC 6455 framing shared by the raw `ws` baseline server (unmasked server frames, built once per broadcast)
 * and the load generator (masked client frames, handshake key check).
 */
import { createHash, randomFillSync } from 'node:crypto';

export const OP_TEXT = 0x1;
export const OP_BINARY = 0x2;
export const OP_CLOSE = 0x8;
export const OP_PING = 0x9;
export const OP_PONG = 0xa;

const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/** The `Sec-WebSocket-Accept` value a server must answer for `key`. */
export function acceptKey(key: string): string {
  return createHash('sha1')
    .update(key + WS_GUID)
    .digest('base64');
}

function headerLength(len: number, masked: boolean): number {
  const ext = len < 126 ? 0 : len < 65536 ? 2 : 8;
  return 2 + ext + (masked ? 4 : 0);
}

function writeHeader(out: Buffer, opcode: number, len: number, masked: boolean): number {
  out[0] = 0x80 | opcode;
  const maskBit = masked ? 0x80 : 0;
  if (len < 126) {
    out[1] = maskBit | len;
    return 2;
  }
  if (len < 65536) {
    out[1] = maskBit | 126;
    out.writeUInt16BE(len, 2);
    return 4;
  }
  out[1] = maskBit | 127;
  out.writeUInt32BE(Math.floor(len / 0x100000000), 2);
  out.writeUInt32BE(len >>> 0, 6);
  return 10;
}

/** One complete unmasked (server-to-client) frame with FIN set: header and payload in a single buffer. */
export function serverFrame(opcode: number, payload: Buffer): Buffer {
  const out = Buffer.allocUnsafe(headerLength(payload.length, false) + payload.length);
  const off = writeHeader(out, opcode, payload.length, false);
  payload.copy(out, off);
  return out;
}

/** One complete masked (client-to-server) frame with FIN set and a random masking key. */
export function clientFrame(opcode: number, payload: Buffer): Buffer {
  const len = payload.length;
  const out = Buffer.allocUnsafe(headerLength(len, true) + len);
  const keyAt = writeHeader(out, opcode, len, true);
  randomFillSync(out, keyAt, 4);
  const dataAt = keyAt + 4;
  for (let i = 0; i < len; i++) out[dataAt + i] = payload[i] ^ out[keyAt + (i & 3)];
  return out;
}
