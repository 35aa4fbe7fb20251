/**
 * @module agent/socket
 * `LeanWebSocket`: the small WebSocket client (RFC 6455) the agent hands to `@vigil/client` in place of the `ws`
 * package. It speaks over `node:net` (`node:tls`, loaded only for `wss://`), so the agent does not load Node's
 * `http`, `https`, `zlib` and `stream` layers that `ws` pulls in (about 8 MB of the agent's RSS). It has what the
 * client uses: the handshake with subprotocols and extra headers (the `Authorization` header), text and binary
 * messages (fragmented ones too), ping/pong, the closing handshake and `terminate()`. No extensions
 * (permessage-deflate is not offered), and a message over `MAX_MESSAGE_BYTES` closes the link with 1009.
 */
import { createHash, randomBytes, randomFillSync } from 'node:crypto';
import { connect, isIP, type Socket } from 'node:net';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
/** Largest message accepted from the hub (its own frame limit is far below). */
const MAX_MESSAGE_BYTES = 64 * 1024 * 1024;
/** Largest HTTP response head accepted during the handshake. */
const MAX_HEAD_BYTES = 16 * 1024;
/** How long `close()` waits for the hub's close frame before dropping the connection. */
const CLOSE_WAIT_MS = 5_000;

const OP_CONTINUATION = 0x0;
const OP_TEXT = 0x1;
const OP_BINARY = 0x2;
const OP_CLOSE = 0x8;
const OP_PING = 0x9;
const OP_PONG = 0xa;

type Handler<E> = ((event: E) => void) | null;

export class LeanWebSocket {
  static readonly CONNECTING = 0;
  static readonly OPEN = 1;
  static readonly CLOSING = 2;
  static readonly CLOSED = 3;

  binaryType = 'arraybuffer';
  protocol = '';
  readyState = LeanWebSocket.CONNECTING;
  onopen: Handler<unknown> = null;
  onmessage: Handler<{ data: string | Buffer }> = null;
  onclose: Handler<{ code: number; reason: string }> = null;
  onerror: Handler<{ error: Error }> = null;

  private socket: Socket | undefined;
  private pending: Buffer = Buffer.alloc(0);
  private upgraded = false;
  private fragments: Buffer[] = [];
  private fragmentBytes = 0;
  private fragmentOp = 0;
  private closeCode = 1006;
  private closeReason = '';
  private closeTimer: NodeJS.Timeout | undefined;
  private readonly mask = Buffer.alloc(4);
  private readonly accept: string;
  private readonly request: string;
  private readonly offered: string[];

  constructor(url: string, protocols?: string | string[], options?: { headers?: Record<string, string> }) {
    const u = new URL(url);
    if (u.protocol !== 'ws:' && u.protocol !== 'wss:') throw new SyntaxError(`not a ws:// or wss:// URL: ${url}`);
    this.offered = protocols === undefined ? [] : Array.isArray(protocols) ? protocols : [protocols];
    const key = randomBytes(16).toString('base64');
    this.accept = createHash('sha1')
      .update(key + GUID)
      .digest('base64');
    const lines = [
      `GET ${u.pathname || '/'}${u.search} HTTP/1.1`,
      `Host: ${u.host}`,
      'Upgrade: websocket',
      'Connection: Upgrade',
      `Sec-WebSocket-Key: ${key}`,
      'Sec-WebSocket-Version: 13',
    ];
    if (this.offered.length > 0) lines.push(`Sec-WebSocket-Protocol: ${this.offered.join(', ')}`);
    for (const [name, value] of Object.entries(options?.headers ?? {})) {
      if (/[\r\n]/.test(name) || /[\r\n]/.test(value)) throw new SyntaxError(`header ${name} holds a line break`);
      lines.push(`${name}: ${value}`);
    }
    this.request = `${lines.join('\r\n')}\r\n\r\n`;
    const host = u.hostname.startsWith('[') ? u.hostname.slice(1, -1) : u.hostname;
    const port = Number(u.port) || (u.protocol === 'wss:' ? 443 : 80);
    if (u.protocol === 'ws:') this.attach(connect({ host, port }), 'connect');
    else {
      // Loaded only for wss://: TLS adds its own megabytes.
      import('node:tls').then(
        (tls) => {
          if (this.readyState !== LeanWebSocket.CONNECTING) return;
          this.attach(tls.connect({ host, port, servername: isIP(host) ? undefined : host }), 'secureConnect');
        },
        (err: unknown) => this.fail(err instanceof Error ? err : new Error(String(err))),
      );
    }
  }

  send(data: string | Uint8Array): void {
    if (this.readyState === LeanWebSocket.CONNECTING) throw new Error('WebSocket is not open yet');
    if (this.readyState !== LeanWebSocket.OPEN) return;
    if (typeof data === 'string') this.writeFrame(OP_TEXT, Buffer.from(data, 'utf8'));
    else this.writeFrame(OP_BINARY, Buffer.from(data.buffer, data.byteOffset, data.byteLength));
  }

  close(code = 1000, reason = ''): void {
    if (this.readyState === LeanWebSocket.CONNECTING) {
      this.fail(new Error('closed before the connection opened'));
      return;
    }
    if (this.readyState !== LeanWebSocket.OPEN) return;
    this.readyState = LeanWebSocket.CLOSING;
    const text = Buffer.from(reason.slice(0, 120), 'utf8');
    const body = Buffer.alloc(2 + text.length);
    body.writeUInt16BE(code, 0);
    text.copy(body, 2);
    this.writeFrame(OP_CLOSE, body);
    this.closeTimer = setTimeout(() => this.socket?.destroy(), CLOSE_WAIT_MS);
    this.closeTimer.unref();
  }

  /** Drops the connection at once, with no closing handshake. */
  terminate(): void {
    if (this.readyState === LeanWebSocket.CLOSED) return;
    if (this.socket) this.socket.destroy();
    else this.fail(new Error('terminated'));
  }

  private attach(socket: Socket, ready: 'connect' | 'secureConnect'): void {
    this.socket = socket;
    socket.setNoDelay(true);
    socket.once(ready, () => socket.write(this.request));
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (error: Error) => this.onerror?.({ error }));
    socket.on('close', () => this.finish());
  }

  private fail(error: Error): void {
    if (this.readyState === LeanWebSocket.CLOSED) return;
    this.onerror?.({ error });
    this.closeCode = 1006;
    this.closeReason = error.message;
    if (this.socket) this.socket.destroy();
    else this.finish();
  }

  private finish(): void {
    if (this.readyState === LeanWebSocket.CLOSED) return;
    this.readyState = LeanWebSocket.CLOSED;
    clearTimeout(this.closeTimer);
    this.pending = Buffer.alloc(0);
    this.fragments = [];
    this.onclose?.({ code: this.closeCode, reason: this.closeReason });
  }

  private onData(chunk: Buffer): void {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    if (!this.upgraded && !this.handshake()) return;
    this.frames();
  }

  /** Reads the 101 response; false while it is incomplete or when it failed. */
  private handshake(): boolean {
    const end = this.pending.indexOf('\r\n\r\n');
    if (end < 0) {
      if (this.pending.length > MAX_HEAD_BYTES) this.fail(new Error('handshake response too large'));
      return false;
    }
    const [status = '', ...lines] = this.pending.subarray(0, end).toString('latin1').split('\r\n');
    this.pending = this.pending.subarray(end + 4);
    const headers = new Map<string, string>();
    for (const line of lines) {
      const colon = line.indexOf(':');
      if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
    }
    const code = /^HTTP\/1\.1 (\d{3})/.exec(status)?.[1];
    if (code !== '101') {
      this.fail(new Error(`Unexpected server response: ${code ?? status.slice(0, 60)}`));
      return false;
    }
    if (headers.get('upgrade')?.toLowerCase() !== 'websocket' || headers.get('sec-websocket-accept') !== this.accept) {
      this.fail(new Error('invalid handshake response'));
      return false;
    }
    const chosen = headers.get('sec-websocket-protocol') ?? '';
    if (chosen !== '' && !this.offered.includes(chosen)) {
      this.fail(new Error(`server chose a subprotocol not offered: ${chosen.slice(0, 60)}`));
      return false;
    }
    if (headers.has('sec-websocket-extensions')) {
      this.fail(new Error('server chose an extension not offered'));
      return false;
    }
    this.protocol = chosen;
    this.upgraded = true;
    this.readyState = LeanWebSocket.OPEN;
    this.onopen?.({});
    return this.readyState === LeanWebSocket.OPEN;
  }

  private frames(): void {
    while (this.readyState !== LeanWebSocket.CLOSED && this.pending.length >= 2) {
      const b0 = this.pending[0]!;
      const b1 = this.pending[1]!;
      if ((b0 & 0x70) !== 0 || (b1 & 0x80) !== 0) {
        this.protocolError(1002, 'reserved bits or masked frame');
        return;
      }
      const op = b0 & 0x0f;
      let length = b1 & 0x7f;
      let at = 2;
      if (length === 126) {
        if (this.pending.length < 4) return;
        length = this.pending.readUInt16BE(2);
        at = 4;
      } else if (length === 127) {
        if (this.pending.length < 10) return;
        const big = this.pending.readBigUInt64BE(2);
        if (big > BigInt(MAX_MESSAGE_BYTES)) {
          this.protocolError(1009, 'message too big');
          return;
        }
        length = Number(big);
        at = 10;
      }
      if (this.pending.length < at + length) return;
      const payload = this.pending.subarray(at, at + length);
      this.pending = this.pending.subarray(at + length);
      this.frame((b0 & 0x80) !== 0, op, payload);
    }
  }

  private frame(fin: boolean, op: number, payload: Buffer): void {
    if (op >= 0x8) {
      if (!fin || payload.length > 125) {
        this.protocolError(1002, 'bad control frame');
        return;
      }
      if (op === OP_PING) {
        if (this.readyState === LeanWebSocket.OPEN) this.writeFrame(OP_PONG, payload);
      } else if (op === OP_CLOSE) {
        this.closeCode = payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
        this.closeReason = payload.length > 2 ? payload.subarray(2).toString('utf8') : '';
        if (this.readyState === LeanWebSocket.OPEN) {
          this.readyState = LeanWebSocket.CLOSING;
          this.writeFrame(OP_CLOSE, payload.subarray(0, Math.min(payload.length, 2)));
        }
        this.socket?.end();
      } else if (op !== OP_PONG) {
        this.protocolError(1002, `unknown opcode ${op}`);
        return;
      }
      return;
    }
    if (op === OP_CONTINUATION ? this.fragments.length === 0 : this.fragments.length > 0) {
      this.protocolError(1002, 'unexpected continuation');
      return;
    }
    if (op !== OP_CONTINUATION && op !== OP_TEXT && op !== OP_BINARY) {
      this.protocolError(1002, `unknown opcode ${op}`);
      return;
    }
    if (op !== OP_CONTINUATION) this.fragmentOp = op;
    this.fragmentBytes += payload.length;
    if (this.fragmentBytes > MAX_MESSAGE_BYTES) {
      this.protocolError(1009, 'message too big');
      return;
    }
    if (!fin) {
      this.fragments.push(Buffer.from(payload));
      return;
    }
    const whole = this.fragments.length === 0 ? payload : Buffer.concat([...this.fragments, payload]);
    this.fragments = [];
    this.fragmentBytes = 0;
    if (this.readyState !== LeanWebSocket.OPEN) return;
    this.onmessage?.({ data: this.fragmentOp === OP_TEXT ? whole.toString('utf8') : whole });
  }

  private protocolError(code: number, reason: string): void {
    this.closeCode = code;
    this.closeReason = reason;
    if (this.readyState === LeanWebSocket.OPEN) {
      const body = Buffer.alloc(2);
      body.writeUInt16BE(code, 0);
      this.writeFrame(OP_CLOSE, body);
      this.readyState = LeanWebSocket.CLOSING;
    }
    this.pending = Buffer.alloc(0);
    this.socket?.end();
    this.socket?.destroySoon();
  }

  /** Writes one final frame, masked as a client must. */
  private writeFrame(op: number, payload: Buffer): void {
    const socket = this.socket;
    if (!socket || socket.destroyed) return;
    const n = payload.length;
    const head = n < 126 ? 2 : n < 65_536 ? 4 : 10;
    const out = Buffer.allocUnsafe(head + 4 + n);
    out[0] = 0x80 | op;
    if (n < 126) out[1] = 0x80 | n;
    else if (n < 65_536) {
      out[1] = 0x80 | 126;
      out.writeUInt16BE(n, 2);
    } else {
      out[1] = 0x80 | 127;
      out.writeBigUInt64BE(BigInt(n), 2);
    }
    randomFillSync(this.mask);
    this.mask.copy(out, head);
    const m = this.mask;
    for (let i = 0; i < n; i++) out[head + 4 + i] = payload[i]! ^ m[i & 3]!;
    socket.write(out);
  }
}
