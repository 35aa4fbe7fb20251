/**
 * @module fake-server
 * An in-process fake hub for client tests: a `ws` WebSocketServer on 127.0.0.1, port 0, that speaks enough of
 * protocol v1 (welcome; subscribe with filters, snapshots and `recover` from an in-memory per-channel log;
 * unsubscribe; publish; call; ping/pong; closing) and can script faults.
 *
 * Faults it can script:
 * - `refuse`: answer the next N upgrades with HTTP 503;
 * - `dropAll()`: terminate every socket, with no close frame;
 * - `closeAll(code, reason, reconnect, retryAfterMs)`: a `closing` frame then the close frame (4001 included);
 * - `replyDelayMs`: hold every incoming frame that long before handling it, in order;
 * - `conn.silent`: that connection sends nothing more, pongs included (a dead link);
 * - `recoverOverlap`: recovery re-sends that many already-seen events (the client must drop them);
 * - `subscribeErrors`: answer the next subscribes with these error codes, one each;
 * - `restart()`: a new epoch with empty logs, like a memory-engine hub restarting;
 * - `historyLimit`: older events leave the log (recovery then starts with a `history_expired` gap).
 *
 * How to extend it:
 * - a new op: add a `case` to `FakeConnection.handle()`; answer with `this.reply(id, result)` or
 *   `this.replyError(id, code, message)`;
 * - a new `call` method: `server.methods.set('name', (params) => result)`; throw `new FakeError(code, message)` to
 *   answer with an error reply;
 * - a new fault: add a field to `FakeServer` (next to `replyDelayMs`) and test it where the fault applies, or script a
 *   connection from `server.onConnection = (conn, handshake) => ...` (close it, stall it, inspect `conn.received`);
 * - every frame a connection received is in `conn.received`; every handshake (URL, headers, token) in
 *   `server.handshakes`.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  type Codec,
  codecForSubprotocol,
  compileFilter,
  type EventPredicate,
  type Filter,
  isValidChannel,
  isValidPattern,
  isWildcard,
  matchChannel,
  SUBPROTOCOL_JSON,
  SUBPROTOCOL_MSGPACK,
} from '@vigil/protocol';
import { type WebSocket, WebSocketServer } from 'ws';

export interface FakeEvent {
  channel: string;
  offset: number;
  ts: number;
  kind: string;
  data: unknown;
}

export interface Handshake {
  url: string;
  headers: IncomingHttpHeaders;
  /** From `Authorization: Bearer` or `?token=`. */
  token: string | undefined;
  protocol: string;
}

export class FakeError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
  }
}

type Frame = Record<string, unknown>;

let epochCounter = 0;
const newEpoch = () => `fake-${Date.now().toString(36)}-${++epochCounter}`;

export class FakeConnection {
  readonly received: Frame[] = [];
  readonly subs = new Map<string, EventPredicate | undefined>();
  /** Sends nothing more, pongs included: this connection is a dead link. */
  silent = false;
  private readonly codec: Codec;

  constructor(
    readonly server: FakeServer,
    readonly ws: WebSocket,
    readonly handshake: Handshake,
  ) {
    this.codec = codecForSubprotocol(ws.protocol || undefined);
    ws.on('message', (data: Buffer) => {
      const frame = this.codec.decode(data) as Frame;
      this.received.push(frame);
      if (server.replyDelayMs > 0) setTimeout(() => this.handle(frame), server.replyDelayMs);
      else this.handle(frame);
    });
  }

  send(frame: Frame): void {
    if (this.silent || this.ws.readyState !== this.ws.OPEN) return;
    this.ws.send(this.codec.encode(frame), { binary: this.codec.binary });
  }

  /** Sends `closing` then closes with `code`, as the hub does. */
  close(code: number, reason = 'closed by fake', reconnect = true, retryAfterMs?: number): void {
    const closing: Frame = { type: 'closing', code, reason, reconnect };
    if (retryAfterMs !== undefined) closing.retry_after_ms = retryAfterMs;
    this.send(closing);
    this.ws.close(code, reason);
  }

  /** Sends the event when one of this connection's subscriptions takes it (once per connection). */
  offer(event: FakeEvent): void {
    for (const [pattern, predicate] of this.subs) {
      if (matchChannel(pattern, event.channel) && (!predicate || predicate(event))) {
        this.send({ type: 'event', ...event });
        return;
      }
    }
  }

  reply(id: unknown, result: unknown): void {
    if (id !== undefined) this.send({ type: 'reply', id, ok: true, result });
  }

  replyError(id: unknown, code: string, message: string, details?: Record<string, unknown>): void {
    const error: Frame = { code, message };
    if (details) error.details = details;
    if (id === undefined) this.send({ type: 'error', error });
    else this.send({ type: 'reply', id, ok: false, error });
  }

  private handle(frame: Frame): void {
    if (this.ws.readyState !== this.ws.OPEN) return;
    const id = frame.id;
    try {
      switch (frame.op) {
        case 'subscribe':
          this.subscribe(frame);
          break;
        case 'unsubscribe':
          for (const p of frame.channels as string[]) this.subs.delete(p);
          this.reply(id, {});
          break;
        case 'publish': {
          const channel = frame.channel as string;
          if (!isValidChannel(channel)) throw new FakeError('invalid_channel', `Invalid channel '${channel}'`);
          const e = this.server.publish(channel, (frame.kind as string) ?? 'message', frame.data);
          this.reply(id, { channel, offset: e.offset, epoch: this.server.epoch });
          break;
        }
        case 'call': {
          const method = this.server.methods.get(frame.method as string);
          if (!method)
            throw new FakeError('unknown_method', `Unknown method '${frame.method}'`, { method: frame.method });
          this.reply(id, method(frame.params));
          break;
        }
        case 'auth':
          this.server.authTokens.push(frame.token as string);
          this.reply(id, {});
          break;
        case 'ping':
          this.send(id === undefined ? { type: 'pong', ts: Date.now() } : { type: 'pong', id, ts: Date.now() });
          break;
        default:
          throw new FakeError('unknown_op', `Unknown op '${String(frame.op)}'`);
      }
    } catch (err) {
      if (err instanceof FakeError) this.replyError(id, err.code, err.message, err.details);
      else this.replyError(id, 'internal', String(err));
    }
  }

  private subscribe(frame: Frame): void {
    const server = this.server;
    const scripted = server.subscribeErrors.shift();
    if (scripted !== undefined) throw new FakeError(scripted, `scripted ${scripted}`);
    const channels = [...new Set(frame.channels as string[])];
    for (const p of channels) if (!isValidPattern(p)) throw new FakeError('invalid_channel', `Invalid pattern '${p}'`);
    const recover = (frame.recover ?? {}) as Record<string, { epoch: string; offset: number }>;
    for (const ch of Object.keys(recover)) {
      if (!isValidChannel(ch) || !channels.some((p) => matchChannel(p, ch))) {
        throw new FakeError('bad_request', `recover: '${ch}' is not covered`, { path: `/recover/${ch}` });
      }
    }
    const predicate = compileFilter(frame.filter as Filter | undefined);
    for (const p of channels) this.subs.set(p, predicate);
    const asked = Object.keys(recover).length > 0;
    let recovered = true;
    const batches: Frame[][] = [];
    for (const [ch, pos] of Object.entries(recover)) {
      const log = server.log(ch);
      const out: Frame[] = [];
      let from = pos.offset - server.recoverOverlap;
      if (pos.epoch !== server.epoch) {
        out.push({
          type: 'gap',
          channel: ch,
          from: pos.offset + 1,
          to: Number.MAX_SAFE_INTEGER,
          reason: 'epoch_changed',
        });
        from = 0;
        recovered = false;
      } else if (log.length > 0 && log[0]!.offset > pos.offset + 1) {
        out.push({ type: 'gap', channel: ch, from: pos.offset + 1, to: log[0]!.offset - 1, reason: 'history_expired' });
        recovered = false;
      }
      for (const e of log) if (e.offset > from && (!predicate || predicate(e))) out.push({ type: 'event', ...e });
      batches.push(out);
    }
    const subscriptions = channels.map((p) => {
      const entry: Frame = { channel: p, epoch: server.epoch, offset: isWildcard(p) ? 0 : server.offset(p) };
      if (asked && Object.keys(recover).some((ch) => matchChannel(p, ch))) entry.recovered = recovered;
      return entry;
    });
    this.reply(frame.id, { subscriptions });
    if (frame.snapshot !== false) {
      for (const p of channels) {
        if (server.snapshots.has(p)) {
          this.send({ type: 'snapshot', channel: p, offset: server.offset(p), data: server.snapshots.get(p) });
        }
      }
    }
    for (const batch of batches) for (const f of batch) this.send(f);
  }
}

export class FakeServer {
  epoch = newEpoch();
  readonly connections = new Set<FakeConnection>();
  readonly handshakes: Handshake[] = [];
  /** Tokens received in `auth` ops. */
  readonly authTokens: string[] = [];
  readonly methods = new Map<string, (params: unknown) => unknown>();
  readonly snapshots = new Map<string, unknown>();
  /** Upgrades still to refuse with HTTP 503. */
  refuse = 0;
  replyDelayMs = 0;
  recoverOverlap = 0;
  /** Error codes to answer the next subscribes with, one each. */
  subscribeErrors: string[] = [];
  historyLimit = Number.POSITIVE_INFINITY;
  heartbeat = { interval_ms: 25_000, timeout_ms: 10_000 };
  /** Called for each accepted connection, right after its welcome. */
  onConnection: ((conn: FakeConnection, handshake: Handshake) => void) | undefined;
  private readonly logs = new Map<string, { offset: number; events: FakeEvent[] }>();
  private readonly wss: WebSocketServer;

  private constructor(
    private readonly http: Server,
    readonly port: number,
  ) {
    this.wss = new WebSocketServer({
      noServer: true,
      handleProtocols: (protocols) => {
        for (const p of protocols) if (p === SUBPROTOCOL_JSON || p === SUBPROTOCOL_MSGPACK) return p;
        return false;
      },
    });
    http.on('upgrade', (req, socket, head) => {
      if (this.refuse > 0) {
        this.refuse--;
        socket.end('HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
        return;
      }
      const url = new URL(req.url ?? '/', 'http://localhost');
      const auth = req.headers.authorization;
      const token = auth?.startsWith('Bearer ') ? auth.slice(7) : (url.searchParams.get('token') ?? undefined);
      this.wss.handleUpgrade(req, socket, head, (ws) => {
        const handshake: Handshake = { url: req.url ?? '', headers: req.headers, token, protocol: ws.protocol };
        this.handshakes.push(handshake);
        const conn = new FakeConnection(this, ws, handshake);
        this.connections.add(conn);
        ws.on('close', () => this.connections.delete(conn));
        ws.on('error', () => {});
        conn.send({
          type: 'welcome',
          session: `s${this.handshakes.length}`,
          node: 'fake',
          protocol: 1,
          server_time: Date.now(),
          heartbeat: this.heartbeat,
          limits: { max_payload: 1_048_576, max_subscriptions: 1000 },
        });
        this.onConnection?.(conn, handshake);
      });
    });
  }

  /** Starts on 127.0.0.1; `port` 0 (the default) picks a free one. */
  static async start(port = 0): Promise<FakeServer> {
    const http = createServer((_req, res) => res.writeHead(404).end());
    await new Promise<void>((resolve) => http.listen(port, '127.0.0.1', resolve));
    return new FakeServer(http, (http.address() as AddressInfo).port);
  }

  get url(): string {
    return `ws://127.0.0.1:${this.port}/ws`;
  }

  offset(channel: string): number {
    return this.logs.get(channel)?.offset ?? 0;
  }

  log(channel: string): readonly FakeEvent[] {
    return this.logs.get(channel)?.events ?? [];
  }

  /** Appends an event to the channel's log and offers it to every connection. */
  publish(channel: string, kind: string, data: unknown): FakeEvent {
    let log = this.logs.get(channel);
    if (!log) {
      log = { offset: 0, events: [] };
      this.logs.set(channel, log);
    }
    const event: FakeEvent = { channel, offset: ++log.offset, ts: Date.now(), kind, data };
    log.events.push(event);
    if (log.events.length > this.historyLimit) log.events.splice(0, log.events.length - this.historyLimit);
    for (const conn of this.connections) conn.offer(event);
    return event;
  }

  /** Terminates every socket without a close frame. */
  dropAll(): void {
    for (const conn of this.connections) conn.ws.terminate();
  }

  /** `closing` then the close frame on every connection. */
  closeAll(code: number, reason = 'closed by fake', reconnect = true, retryAfterMs?: number): void {
    for (const conn of this.connections) conn.close(code, reason, reconnect, retryAfterMs);
  }

  /** Like a memory-engine hub restart: a new epoch, empty logs, every connection dropped. */
  restart(): void {
    this.epoch = newEpoch();
    this.logs.clear();
    this.dropAll();
  }

  async stop(): Promise<void> {
    for (const conn of this.connections) conn.ws.terminate();
    this.wss.close();
    await new Promise<void>((resolve) => this.http.close(() => resolve()));
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Polls `cond` until it holds or `timeoutMs` passes. */
/**
 * Polls `cond` until it holds. The timeout is a safety net, never an assertion: it is at least 30 s whatever the
 * caller asks, so that a loaded machine only makes a test slower.
 */
export async function until(cond: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + Math.max(timeoutMs, 30_000);
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}
