/**
 * @module bench/fanout/ws-client
 * The load generator's WebSocket client: raw `net` sockets, a hand-written upgrade handshake, and a frame-header
 * scanner that counts frames without copying or decoding them. All sockets read into one shared buffer (`onread`),
 * so a read costs no allocation. A payload is copied out only when the frame is "captured": control frames, frames
 * before the connection is ready, frames smaller than an event, and every frame of a sampled connection.
 */
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { acceptKey, clientFrame, OP_CLOSE, OP_PING, OP_PONG, OP_TEXT } from './framing.js';

/** Shared across all connections: `onread` callbacks run synchronously and consume the buffer before returning. */
const READ_BUFFER = Buffer.allocUnsafe(256 * 1024);
const HEADER_END = Buffer.from('\r\n\r\n');

/** Counters shared by every connection of a run; read by the scenario, never reset by a connection. */
export interface Counters {
  /** Event frames received across all subscribers. */
  delivered: number;
  /** Socket reads (each `onread` callback): with `delivered`, how many frames a read brought on average. */
  reads: number;
  /** Connections whose socket closed. */
  closed: number;
  errors: number;
  lastError: string;
}

export function newCounters(): Counters {
  return { delivered: 0, reads: 0, closed: 0, errors: 0, lastError: '' };
}

/** What the protocol layer (ws, Socket.IO, Vigil) does with captured frames. */
export interface ConnHandler {
  /** A data frame received before `conn.ready`; the handler sets `conn.ready` when the handshake is done. */
  onPreReady(conn: WsConn, payload: Buffer): void;
  /** A data frame smaller than an event after ready (replies, pings, gaps, errors). */
  onMisc(conn: WsConn, payload: Buffer): void;
  /** A captured event frame of a sampled connection (already counted in `delivered`). */
  onEvent(conn: WsConn, payload: Buffer): void;
}

export interface ConnectOptions {
  host: string;
  port: number;
  path: string;
  /** Data frames shorter than this are not counted as events. */
  minEventLen: number;
  /** Capture (copy out) every event frame so the handler can decode it. */
  sampled: boolean;
  /** The connection is ready right after the HTTP 101 (no protocol-level handshake). */
  readyOnOpen: boolean;
  timeoutMs: number;
}

export class WsConn {
  ready = false;
  open = false;
  readonly sampled: boolean;
  minEventLen: number;
  readonly socket: net.Socket;
  private handshake: Buffer | null = Buffer.alloc(0);
  private readonly hdr = Buffer.allocUnsafe(14);
  private hdrLen = 0;
  private opcode = 0;
  /** Payload bytes still to consume in the current frame. */
  private need = 0;
  private cap: Buffer | null = null;
  private capLen = 0;
  private readonly expectedAccept: string;
  private readonly readyOnOpen: boolean;

  private constructor(
    opts: ConnectOptions,
    private readonly handler: ConnHandler,
    private readonly counters: Counters,
    private readonly onOpen: (err: Error | null) => void,
  ) {
    this.sampled = opts.sampled;
    this.minEventLen = opts.minEventLen;
    const key = randomBytes(16).toString('base64');
    this.expectedAccept = acceptKey(key);
    this.readyOnOpen = opts.readyOnOpen;
    this.socket = net.connect({
      host: opts.host,
      port: opts.port,
      noDelay: true,
      onread: { buffer: READ_BUFFER, callback: (n) => this.onRead(n) },
    });
    this.socket.on('connect', () => {
      this.socket.write(
        `GET ${opts.path} HTTP/1.1\r\nHost: ${opts.host}:${opts.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      );
    });
    this.socket.on('error', (err) => {
      this.counters.errors++;
      this.counters.lastError = err.message;
      if (!this.open) this.onOpen(err);
    });
    this.socket.on('close', () => {
      this.counters.closed++;
      if (!this.open) this.onOpen(new Error('closed during handshake'));
      this.open = false;
    });
  }

  /** Opens a connection; resolves after the HTTP 101 (the protocol-level handshake may still be running). */
  static connect(opts: ConnectOptions, handler: ConnHandler, counters: Counters): Promise<WsConn> {
    return new Promise((resolve, reject) => {
      let settled = false;
      const timer = setTimeout(() => done(new Error(`handshake timeout after ${opts.timeoutMs} ms`)), opts.timeoutMs);
      const done = (err: Error | null): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (err) {
          conn.socket.destroy();
          reject(err);
        } else resolve(conn);
      };
      const conn = new WsConn(opts, handler, counters, done);
    });
  }

  sendText(text: string): void {
    this.socket.write(clientFrame(OP_TEXT, Buffer.from(text)));
  }

  /** Sends pre-built frames in one corked batch. */
  sendFrames(frames: Buffer[]): void {
    this.socket.cork();
    for (const f of frames) this.socket.write(f);
    this.socket.uncork();
  }

  close(): void {
    this.socket.destroy();
  }

  private onRead(n: number): boolean {
    this.counters.reads++;
    if (this.handshake !== null) this.onHandshakeBytes(READ_BUFFER.subarray(0, n));
    else this.feed(READ_BUFFER, 0, n);
    return true;
  }

  private onHandshakeBytes(chunk: Buffer): void {
    const hs = Buffer.concat([this.handshake!, chunk]);
    const end = hs.indexOf(HEADER_END);
    if (end < 0) {
      this.handshake = hs;
      return;
    }
    this.handshake = null;
    const head = hs.toString('latin1', 0, end);
    const status = head.slice(0, head.indexOf('\r\n'));
    if (!/^HTTP\/1\.1 101/.test(status)) {
      this.onOpen(new Error(`upgrade refused: ${status} ${hs.toString('utf8', end + 4, end + 204)}`));
      return;
    }
    const accept = /\r\nsec-websocket-accept:\s*(\S+)/i.exec(head)?.[1];
    if (accept !== this.expectedAccept) {
      this.onOpen(new Error('bad Sec-WebSocket-Accept'));
      return;
    }
    this.open = true;
    if (this.readyOnOpen) this.ready = true;
    this.onOpen(null);
    if (hs.length > end + 4) this.feed(hs, end + 4, hs.length);
  }

  /** The frame scanner: walks headers, skips payloads of uncaptured frames. */
  private feed(buf: Buffer, start: number, end: number): void {
    let i = start;
    while (i < end) {
      if (this.need > 0) {
        const take = Math.min(this.need, end - i);
        if (this.cap !== null) {
          buf.copy(this.cap, this.capLen, i, i + take);
          this.capLen += take;
        }
        i += take;
        this.need -= take;
        if (this.need === 0) this.endFrame();
      } else if (this.hdrLen === 0 && end - i >= 14) {
        i = this.startFrame(buf, i);
      } else {
        this.hdr[this.hdrLen++] = buf[i++];
        if (this.hdrLen >= 2 && this.hdrLen === headerSize(this.hdr)) {
          this.hdrLen = 0;
          this.startFrame(this.hdr, 0);
        }
      }
    }
  }

  /** Parses a complete header at `p`; returns the offset of the payload. */
  private startFrame(buf: Buffer, p: number): number {
    const b1 = buf[p + 1];
    if (b1 & 0x80) {
      this.protocolError('server sent a masked frame');
      return Number.MAX_SAFE_INTEGER;
    }
    this.opcode = buf[p] & 0x0f;
    let len = b1 & 0x7f;
    let at = p + 2;
    if (len === 126) {
      len = buf.readUInt16BE(at);
      at += 2;
    } else if (len === 127) {
      len = buf.readUInt32BE(at) * 0x100000000 + buf.readUInt32BE(at + 4);
      at += 8;
    }
    this.need = len;
    if (this.opcode >= 8 || !this.ready || this.sampled || len < this.minEventLen) {
      this.cap = Buffer.allocUnsafe(len);
      this.capLen = 0;
    } else this.cap = null;
    if (len === 0) this.endFrame();
    return at;
  }

  private endFrame(): void {
    const cap = this.cap;
    if (cap === null) {
      this.counters.delivered++;
      return;
    }
    this.cap = null;
    const op = this.opcode;
    if (op === OP_PING) this.socket.write(clientFrame(OP_PONG, cap));
    else if (op === OP_CLOSE) {
      this.socket.end(clientFrame(OP_CLOSE, cap.subarray(0, 2)));
      this.open = false;
    } else if (op >= 8) {
      // pong or reserved control frame: ignore
    } else if (!this.ready) this.handler.onPreReady(this, cap);
    else if (cap.length < this.minEventLen) this.handler.onMisc(this, cap);
    else {
      this.counters.delivered++;
      this.handler.onEvent(this, cap);
    }
  }

  private protocolError(message: string): void {
    this.counters.errors++;
    this.counters.lastError = message;
    this.socket.destroy();
  }
}

function headerSize(hdr: Buffer): number {
  const len7 = hdr[1] & 0x7f;
  return 2 + (len7 === 126 ? 2 : len7 === 127 ? 8 : 0) + (hdr[1] & 0x80 ? 4 : 0);
}
