/**
 * @module frame
 * Builds unmasked server-to-client WebSocket frames (RFC 6455 §5.2) in one buffer, so that an event serialised once
 * can be framed once and the same bytes written to every subscriber.
 */

const OPCODE_TEXT = 0x1;
const OPCODE_BINARY = 0x2;

/** One complete, final, unmasked frame holding `payload`. */
export function frameMessage(payload: Buffer, binary: boolean): Buffer {
  const len = payload.length;
  const headerLength = len < 126 ? 2 : len < 65536 ? 4 : 10;
  const out = Buffer.allocUnsafe(headerLength + len);
  out[0] = 0x80 | (binary ? OPCODE_BINARY : OPCODE_TEXT);
  if (len < 126) {
    out[1] = len;
  } else if (len < 65536) {
    out[1] = 126;
    out.writeUInt16BE(len, 2);
  } else {
    out[1] = 127;
    out.writeUInt32BE(Math.floor(len / 0x100000000), 2);
    out.writeUInt32BE(len >>> 0, 6);
  }
  payload.copy(out, headerLength);
  return out;
}
