/**
 * @module gateway
 * The WebSocket gateway at `/ws`: the upgrade, the per-connection protocol (see docs/protocol.md), heartbeats and the
 * fan-out of broker events. Each event is serialised once per encoding and framed once; every matching connection
 * gets the same buffer, and each connection gets at most one corked socket write per flush.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import {
  type AuthFrame,
  type ClientFrame,
  CloseCode,
  codecForSubprotocol,
  DecodeError,
  type ErrorBody,
  type FrameIdValue,
  PROTOCOL_VERSION,
  SUBPROTOCOL_JSON,
  SUBPROTOCOL_MSGPACK,
  toErrorBody,
  validateClientFrame,
} from '@vigil/protocol';
import { type WebSocket, WebSocketServer } from 'ws';
import type { Authenticator } from '../auth/credentials.js';
import { type Principal, refuseFrame } from '../auth/permissions.js';
import { authResult, refusedAtUpgrade, revokedSubscriptions, sweepIntervalMs, upgradeToken } from '../auth/ws.js';
import type { Broker, StoredEvent } from '../broker/broker.js';
import type { ConnectionLimits } from '../limits/connection-limits.js';
import type { HubCounters } from '../observability/hub-counters.js';
import { Connection } from './connection.js';
import { LiveFeed } from './live-feed.js';
import { type CloseFn, heartbeat, sweepAuth, sweepSlowConsumers } from './liveness.js';
import type { MethodRegistry } from './methods.js';
import { Outbox } from './outbox.js';
import type { Peer } from './peer.js';
import { countViolation, type RateLimit, takeFrame, UNPARSED_REFUSAL_BYTES } from './rate-limit.js';
import { encodeSliced, slicedKey } from './sliced-reply.js';
import type { SnapshotRegistry } from './snapshots.js';
import { SubscriptionManager } from './subscriptions.js';
import { frameId, pickSubprotocol, refuse, refuseOverLimit } from './upgrade.js';

/** A subscribe naming more patterns than this lets other connections be served before its connection's next frame. */
const YIELD_AFTER_PATTERNS = 100;
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Longest time the hub stops reading a connection whose subscription changes are past their limit. */
const MAX_PAUSE_MS = 2000;

export interface GatewayOptions {
  path: string;
  maxPayload: number;
  maxSubscriptions: number;
  maxQueueBytes: number;
  slowConsumerTimeoutMs: number;
  pingIntervalMs: number;
  pongTimeoutMs: number;
  compression: boolean;
  allowedOrigins: readonly string[];
  rateLimit: RateLimit;
}

export interface PublishRequest {
  channel: string;
  kind?: string;
  data: unknown;
}

export interface GatewayDeps {
  broker: Broker;
  nodeId: string;
  methods: MethodRegistry;
  snapshots: SnapshotRegistry;
  counters: HubCounters;
  publish: (req: PublishRequest, session: string) => Promise<StoredEvent>;
  observeFanout?: (seconds: number) => void;
  /** Set when auth is configured: every connection then needs a credential (see auth/ws.ts). */
  auth?: Authenticator;
  /** Bounds on connections per address, per credential and in total (see limits/connection-limits.ts). */
  limits?: ConnectionLimits;
  log?: (level: 'info' | 'warn' | 'error', msg: string, extra?: Record<string, unknown>) => void;
}

/** Takes an upgrade request for a path mounted on the gateway (a dialect's, say). */
export type UpgradeHandler = (req: IncomingMessage, socket: Duplex, head: Buffer, url: URL) => void;

/** Verifies the credentials some sessions hold again (see `Gateway.recheckCredentials`). */
export type CredentialRecheck = (auth: Authenticator) => Promise<{ checked: number; closed: number }>;

export class Gateway {
  readonly wss: WebSocketServer;
  /** Other WebSocket paths served on the same HTTP server (dialects), by path. */
  private readonly mounts = new Map<string, UpgradeHandler>();
  readonly connections = new Set<Connection>();
  readonly subscriptions: SubscriptionManager;
  private readonly outbox: Outbox;
  private readonly feed: LiveFeed;
  private accepting = true;
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly rechecks: CredentialRecheck[] = [];
  private readonly unlisten: () => void;

  private current: GatewayOptions;

  constructor(
    options: GatewayOptions,
    private readonly deps: GatewayDeps,
  ) {
    this.current = options;
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: options.maxPayload,
      perMessageDeflate: options.compression ? { threshold: 256 } : false,
      clientTracking: false,
      handleProtocols: (offered: Set<string>) => pickSubprotocol(offered),
    });
    this.outbox = new Outbox(options.maxQueueBytes, deps.counters, deps.observeFanout);
    const warn = (msg: string, extra: Record<string, unknown>) => deps.log?.('warn', msg, extra);
    this.subscriptions = new SubscriptionManager({
      broker: deps.broker,
      snapshots: deps.snapshots,
      counters: deps.counters,
      outbox: this.outbox,
      maxSubscriptions: options.maxSubscriptions,
      send: (peer, frame, type) => this.sendControl(peer, frame, type),
      log: warn,
    });
    this.feed = new LiveFeed(
      deps.broker,
      {
        event: (event) => this.subscriptions.fanOut(event),
        gap: (channel, gap, epoch) => this.subscriptions.gapOut(channel, gap, epoch),
      },
      { log: warn, watchedSince: (channel) => this.subscriptions.watchedSince(channel) },
    );
    this.unlisten = deps.broker.onEvent((event) => this.feed.accept(event));
    const close: CloseFn = (conn, code, reason, reconnect) => this.closeConnection(conn, code, reason, reconnect);
    const every = (ms: number, fn: () => void) => this.timers.push(setInterval(fn, ms).unref());
    every(options.pingIntervalMs, () => heartbeat(this.connections, options.pongTimeoutMs, close));
    every(Math.min(1000, options.slowConsumerTimeoutMs), () =>
      sweepSlowConsumers(this.connections, options.slowConsumerTimeoutMs, close),
    );
    const auth = deps.auth;
    if (auth) every(sweepIntervalMs(auth.wsAuthTimeoutMs), () => sweepAuth(this.connections, auth, close));
  }

  /** The options in effect: those the gateway was built with, with the rate limit of the last reload. */
  get options(): GatewayOptions {
    return this.current;
  }

  /** A new per-connection rate limit (configuration reload): every bucket is measured against it from now on. */
  setRateLimit(rateLimit: RateLimit): void {
    this.current = { ...this.current, rateLimit };
  }

  /** Registers another holder of verified credentials (SSE streams, dialect sessions) for `recheckCredentials`. */
  onRecheck(check: CredentialRecheck): void {
    this.rechecks.push(check);
  }

  /**
   * Verifies every session's credential again, after a configuration reload changed keys or secrets. A credential
   * that is no longer accepted closes its session with 4001 (`credential revoked`; `token expired` with reconnect
   * for a JWT that merely expired). One that is accepted but no longer grants every subscription the session holds
   * closes it with 4001 and reconnect (`credential narrowed`), so that the client subscribes again to what it may
   * read. Otherwise the session takes the new principal (its scopes apply to the next frames). Resolves with the
   * sessions checked and closed, here and in the other holders.
   */
  async recheckCredentials(): Promise<{ checked: number; closed: number }> {
    const auth = this.deps.auth;
    const total = { checked: 0, closed: 0 };
    if (!auth) return total;
    await Promise.all(
      [...this.connections].map(async (conn) => {
        const token = conn.token;
        if (conn.closed || token === undefined || conn.principal === undefined) return;
        total.checked++;
        let principal: Principal;
        try {
          principal = await auth.verify(token);
        } catch (err) {
          if (conn.closed || conn.token !== token) return;
          const order = refusedAtUpgrade(err);
          const reason = order.reconnect ? order.reason : 'credential revoked';
          this.closeConnection(conn, CloseCode.UNAUTHORIZED, reason, order.reconnect);
          total.closed++;
          return;
        }
        if (conn.closed || conn.token !== token) return;
        if (revokedSubscriptions(principal, conn.subs.keys()).length > 0) {
          this.closeConnection(conn, CloseCode.UNAUTHORIZED, 'credential narrowed', true);
          total.closed++;
          return;
        }
        conn.principal = principal;
      }),
    );
    for (const check of this.rechecks) {
      const r = await check(auth);
      total.checked += r.checked;
      total.closed += r.closed;
    }
    return total;
  }

  /** Serves upgrades for `path` with `handler` (while the gateway accepts connections). */
  mount(path: string, handler: UpgradeHandler): void {
    if (path === this.options.path || this.mounts.has(path)) throw new Error(`WebSocket path ${path} is taken`);
    this.mounts.set(path, handler);
  }

  /** Routes HTTP upgrades on `server` for our path to the gateway, and mounted paths to theirs; others are refused. */
  attach(server: Server): void {
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      const mounted = url.pathname === this.options.path ? undefined : this.mounts.get(url.pathname);
      if (url.pathname !== this.options.path && mounted === undefined)
        return refuse(socket, 404, 'Not Found', 'no WebSocket endpoint here');
      if (!this.accepting) return refuse(socket, 503, 'Service Unavailable', 'the hub is shutting down');
      if (mounted) return mounted(req, socket, head, url);
      const offered = req.headers['sec-websocket-protocol'];
      if (offered !== undefined && pickSubprotocol(offered.split(',').map((p) => p.trim())) === false) {
        return refuse(
          socket,
          400,
          'Bad Request',
          `unsupported subprotocol; use ${SUBPROTOCOL_JSON} or ${SUBPROTOCOL_MSGPACK}`,
        );
      }
      socket.on('error', () => socket.destroy());
      const ip = req.socket.remoteAddress ?? '';
      const limits = this.deps.limits;
      const refusal = limits?.admit(ip);
      if (refusal) return refuseOverLimit(socket, refusal);
      let handed = false;
      // A handshake that fails before the connection exists gives its admission back here.
      if (limits) socket.once('close', () => handed || limits.release(ip));
      const upgrade = (credential?: Principal | Error, token?: string) =>
        this.wss.handleUpgrade(req, socket, head, (ws) => {
          handed = true;
          this.onConnection(ws, socket, req, url, credential, token);
        });
      const token = this.deps.auth ? upgradeToken(req, url) : null;
      if (token === null) return upgrade();
      this.deps.auth!.verify(token).then(
        (principal) => upgrade(principal, token),
        (err: Error) => upgrade(err),
      );
    });
  }

  private onConnection(
    ws: WebSocket,
    socket: Duplex,
    req: IncomingMessage,
    url: URL,
    credential: Principal | Error | undefined,
    token: string | undefined,
  ): void {
    const counters = this.deps.counters;
    const codec = codecForSubprotocol(ws.protocol || undefined);
    const session = randomBytes(9).toString('base64url');
    const conn = new Connection(
      session,
      ws,
      socket,
      codec,
      req.socket.remoteAddress ?? '',
      { maxBytes: this.options.maxQueueBytes },
      counters.queue,
    );
    this.connections.add(conn);
    counters.connectionsTotal++;
    counters.connectionsActive++;
    conn.tokens = this.options.rateLimit.burst;
    conn.refilledAt = Date.now();
    ws.on('message', (data: Buffer, isBinary: boolean) => this.onMessage(conn, data, isBinary));
    ws.on('pong', () => {
      conn.pingSentAt = 0;
    });
    ws.on('close', (code: number) => this.onClose(conn, code));
    ws.on('error', () => {});
    socket.on('drain', () => this.outbox.schedule(conn));
    const origin = req.headers.origin;
    if (
      origin !== undefined &&
      this.options.allowedOrigins.length > 0 &&
      !this.options.allowedOrigins.includes(origin)
    ) {
      this.closeConnection(conn, CloseCode.FORBIDDEN_ORIGIN, 'forbidden origin', false);
      return;
    }
    if (credential instanceof Error) {
      const order = refusedAtUpgrade(credential);
      this.closeConnection(conn, CloseCode.UNAUTHORIZED, order.reason, order.reconnect);
      return;
    }
    if (credential && !this.claim(conn, credential)) return;
    conn.principal = credential;
    conn.token = credential ? token : undefined;
    this.sendControl(
      conn,
      {
        type: 'welcome',
        session,
        node: this.deps.nodeId,
        protocol: PROTOCOL_VERSION,
        server_time: Date.now(),
        heartbeat: { interval_ms: this.options.pingIntervalMs, timeout_ms: this.options.pongTimeoutMs },
        limits: {
          max_payload: this.options.maxPayload,
          max_subscriptions: this.options.maxSubscriptions,
          max_queue_bytes: this.options.maxQueueBytes,
        },
        ...(credential
          ? {
              auth:
                credential.expiresAt === undefined
                  ? { principal: credential.name }
                  : { principal: credential.name, expires_at: credential.expiresAt },
            }
          : {}),
      },
      'welcome',
    );
    const channels = url.searchParams.get('channels');
    if (channels) this.subscribeFromQuery(conn, channels, url.searchParams.get('filter'));
  }

  private subscribeFromQuery(conn: Connection, channels: string, filterText: string | null): void {
    let filter: unknown;
    if (filterText) {
      try {
        filter = JSON.parse(filterText);
      } catch {
        this.sendError(conn, undefined, { code: 'bad_request', message: 'The `filter` query parameter is not JSON' });
        return;
      }
    }
    const frame = { op: 'subscribe', channels: channels.split(',').filter((c) => c.length > 0), filter };
    if (filter === undefined) delete (frame as { filter?: unknown }).filter;
    this.handleFrame(conn, frame);
  }

  private onMessage(conn: Connection, data: Buffer, _isBinary: boolean): void {
    conn.messagesIn++;
    if (conn.closed || !this.admit(conn, data)) return;
    let value: unknown;
    try {
      value = conn.codec.decode(data);
    } catch (err) {
      this.deps.counters.countIn('invalid');
      const message = err instanceof DecodeError ? err.message : 'Undecodable frame';
      this.sendError(conn, undefined, { code: 'bad_request', message });
      return;
    }
    this.handleFrame(conn, value);
  }

  /** Applies the rate limit: a refused frame gets a `rate_limited` error; repeated refusals close with 4029. */
  private admit(conn: Connection, data: Buffer): boolean {
    if (conn.indebtedUntil !== 0 && data.length > UNPARSED_REFUSAL_BYTES) {
      const now = Date.now();
      if (now < conn.indebtedUntil) {
        this.refuseIndebted(conn, now, conn.indebtedUntil - now, () => frameId(conn, data));
        return false;
      }
      conn.indebtedUntil = 0;
    }
    return this.charge(conn, 1, () => frameId(conn, data));
  }

  /**
   * A subscription change was refused for its cost: until `waitMs` from now, large frames are refused unparsed, and
   * the socket is not read for up to `MAX_PAUSE_MS` of that, so that a client resending at once waits on TCP instead
   * of costing the hub work.
   */
  private indebt(conn: Connection, waitMs: number): void {
    const now = Date.now();
    conn.indebtedUntil = now + waitMs;
    if (conn.pausedUntil > now) return;
    const pauseMs = Math.min(waitMs, MAX_PAUSE_MS);
    conn.pausedUntil = now + pauseMs;
    conn.ws.pause();
    setTimeout(() => {
      if (!conn.closed) conn.ws.resume();
    }, pauseMs).unref();
  }

  /** Refuses a frame of a connection told to wait `waitMs` before it changes subscriptions again. */
  private refuseIndebted(conn: Connection, now: number, waitMs: number, id: () => FrameIdValue | undefined): void {
    this.deps.counters.countIn('rate_limited');
    if (countViolation(conn, this.options.rateLimit, now) === 'close') {
      this.closeConnection(conn, CloseCode.RATE_LIMITED, 'rate limited', true, 5000);
      return;
    }
    this.sendError(conn, id(), {
      code: 'rate_limited',
      message: `Subscription changes are past their limit; frames over ${UNPARSED_REFUSAL_BYTES} bytes are refused for ${waitMs} ms`,
      details: { retry_after_ms: waitMs },
    });
  }

  /** Charges `cost` tokens; false (after answering `rate_limited`, or closing with 4029) when the bucket is short. */
  private charge(conn: Connection, cost: number, id: () => FrameIdValue | undefined): boolean {
    const limit = this.options.rateLimit;
    const verdict = takeFrame(conn, limit, Date.now(), cost);
    if (verdict === 'pass') return true;
    this.deps.counters.countIn('rate_limited');
    if (verdict === 'close') this.closeConnection(conn, CloseCode.RATE_LIMITED, 'rate limited', true, 5000);
    else {
      const retryAfterMs = Math.ceil((1000 * Math.min(cost, limit.burst)) / limit.messagesPerS);
      if (cost > 1) this.indebt(conn, retryAfterMs);
      this.sendError(conn, id(), {
        code: 'rate_limited',
        message:
          cost > 1
            ? `Subscription changes cost one token per pattern (${limit.messagesPerS}/s); ${cost + 1} patterns is more than the connection has left; frame dropped`
            : `More than ${limit.messagesPerS} frames/s; frame dropped`,
        details: { retry_after_ms: retryAfterMs },
      });
    }
    return false;
  }

  /**
   * Charges subscription changes to the client's budget (its credential's, or its address's without one), shared by
   * all its connections and kept across reconnects; false after answering `rate_limited` (or closing with 4029).
   */
  private chargeClient(conn: Connection, patterns: number, id: FrameIdValue | undefined): boolean {
    const limits = this.deps.limits;
    if (!limits) return true;
    const client = conn.principal ? `credential:${conn.principal.name}` : `ip:${conn.remote}`;
    const waitMs = limits.chargeSubscriptions(client, patterns);
    if (waitMs === 0) return true;
    this.deps.counters.countIn('rate_limited');
    this.indebt(conn, waitMs);
    if (countViolation(conn, this.options.rateLimit, Date.now()) === 'close') {
      this.closeConnection(conn, CloseCode.RATE_LIMITED, 'rate limited', true, 5000);
    } else {
      this.sendError(conn, id, {
        code: 'rate_limited',
        message: `Subscription changes of this client, over all its connections, are past limits.subscription_changes_per_s; ${patterns} patterns refused`,
        details: { retry_after_ms: waitMs },
      });
    }
    return false;
  }

  private handleFrame(conn: Connection, value: unknown): void {
    const before = conn.authPending ?? conn.subscribing;
    if (before) {
      // Frames sent after an `auth` op wait for its verdict (so `auth` then `subscribe` works without a pause), and
      // frames sent after a `subscribe` wait until it is in place (so `subscribe` then `publish` sees the event).
      before.then(() => this.handleFrame(conn, value));
      return;
    }
    if (conn.closed) return;
    const parsed = validateClientFrame(value);
    if (!parsed.ok) {
      this.deps.counters.countIn('invalid');
      const body: ErrorBody = { code: parsed.code, message: parsed.message };
      if (parsed.path) body.details = { path: parsed.path };
      this.sendError(conn, parsed.id, body);
      return;
    }
    const frame = parsed.frame;
    this.deps.counters.countIn(frame.op);
    // Subscription changes cost one token per pattern (the frame itself already paid one), from the connection's
    // bucket and from its client's, which all the client's connections share.
    if (frame.op === 'subscribe' || frame.op === 'unsubscribe') {
      if (frame.channels.length > 1 && !this.charge(conn, frame.channels.length - 1, () => frame.id)) return;
      if (!this.chargeClient(conn, frame.channels.length, frame.id)) return;
    }
    if (this.deps.auth) {
      if (frame.op === 'auth') {
        this.authenticate(conn, frame, this.deps.auth);
        return;
      }
      const denied = refuseFrame(conn.principal, frame);
      if (denied) {
        this.sendError(conn, frame.id, denied.toBody());
        return;
      }
    }
    if (frame.op === 'ping') {
      const pong: { type: 'pong'; id?: FrameIdValue; ts: number } = { type: 'pong', ts: Date.now() };
      if (frame.id !== undefined) pong.id = frame.id;
      this.sendControl(conn, pong, 'pong');
      return;
    }
    if (frame.op === 'subscribe') {
      const pending: Promise<void> = this.subscriptions
        .subscribe(conn, frame, (result) => {
          if (frame.id !== undefined)
            this.sendControl(conn, { type: 'reply', id: frame.id, ok: true, result }, 'reply');
        })
        .catch((err: unknown) => this.fail(conn, frame, err))
        // After a large subscription the connection's next frames wait for the next turn of the event loop, so that
        // a client queueing many of them cannot hold the hub from everyone else for their sum.
        .then(() => (frame.channels.length > YIELD_AFTER_PATTERNS ? nextTurn() : undefined))
        .finally(() => {
          if (conn.subscribing === pending) conn.subscribing = undefined;
        });
      conn.subscribing = pending;
      return;
    }
    this.dispatch(conn, frame).then(
      (result) => {
        if (frame.id === undefined) return;
        const reply = { type: 'reply' as const, id: frame.id, ok: true as const, result };
        const key = slicedKey(result);
        if (key === undefined) return this.sendControl(conn, reply, 'reply');
        // A large result (a range query's answer) is encoded a slice at a time, so that it does not hold the hub.
        return encodeSliced(conn.codec, reply as { result: Record<string, unknown> }, key)
          .then((encoded) => this.sendEncoded(conn, encoded, 'reply'))
          .catch((err: unknown) => this.fail(conn, frame, err));
      },
      (err: unknown) => this.fail(conn, frame, err),
    );
  }

  /** The `auth` op with auth on: verifies the token, swaps the credential, ends subscriptions it no longer grants. */
  private authenticate(conn: Connection, frame: AuthFrame, auth: Authenticator): void {
    const pending: Promise<void> = auth
      .verify(frame.token)
      .then(
        (principal) => {
          if (conn.closed || !this.claim(conn, principal)) return;
          conn.principal = principal;
          conn.token = frame.token;
          const revoked = revokedSubscriptions(principal, conn.subs.keys());
          this.subscriptions.unsubscribe(conn, revoked);
          if (frame.id !== undefined) {
            const result = authResult(principal, revoked);
            this.sendControl(conn, { type: 'reply', id: frame.id, ok: true, result }, 'reply');
          }
        },
        (err: unknown) => this.fail(conn, frame, err),
      )
      .finally(() => {
        if (conn.authPending === pending) conn.authPending = undefined;
      });
    conn.authPending = pending;
  }

  private fail(conn: Connection, frame: ClientFrame, err: unknown): void {
    const body = toErrorBody(err);
    if (body.code === 'internal') this.deps.log?.('error', 'request failed', { op: frame.op, err: String(err) });
    this.sendError(conn, frame.id, body);
  }

  private async dispatch(conn: Connection, frame: ClientFrame): Promise<unknown> {
    switch (frame.op) {
      case 'unsubscribe':
        this.subscriptions.unsubscribe(conn, frame.channels);
        return {};
      case 'publish': {
        const ev = await this.deps.publish(
          { channel: frame.channel, kind: frame.kind, data: frame.data },
          conn.session,
        );
        return { channel: ev.channel, offset: ev.offset, epoch: ev.epoch };
      }
      case 'call':
        return this.deps.methods.call(frame.method, frame.params, { session: conn.session });
      case 'auth':
        return {};
      default:
        return {};
    }
  }

  private sendError(conn: Connection, id: FrameIdValue | undefined, error: ErrorBody): void {
    if (id !== undefined) this.sendControl(conn, { type: 'reply', id, ok: false, error }, 'reply');
    else this.sendControl(conn, { type: 'error', error }, 'error');
  }

  sendControl(peer: Peer, frame: unknown, type: string): void {
    this.queueControl(peer, type, () => peer.enqueueControl(frame));
  }

  /** `sendControl` for a frame already encoded with the connection's codec. */
  private sendEncoded(conn: Connection, encoded: Buffer, type: string): void {
    this.queueControl(conn, type, () => conn.enqueueEncoded(encoded));
  }

  private queueControl(peer: Peer, type: string, enqueue: () => void): void {
    if (peer.closed) return;
    // What its fan-out groups already hold for this client goes first, so its frames keep their order.
    this.outbox.cutAll(peer);
    enqueue();
    this.deps.counters.countOut(type);
    this.outbox.schedule(peer);
    // A client that floods requests without reading must not grow memory without bound.
    if (peer instanceof Connection && peer.pendingBytes() > this.options.maxQueueBytes * 4)
      this.closeConnection(peer, CloseCode.SLOW_CONSUMER, 'slow consumer', true);
  }

  /** Whether new connections are taken (false once shutdown has begun). */
  get isAccepting(): boolean {
    return this.accepting;
  }

  /**
   * A personal message: `{type: "message", data, ts}` to every open connection whose session id is `session` or whose
   * credential is `principal`. Returns how many connections it was queued for (never dropped, like a reply).
   */
  sendMessage(target: { session?: string; principal?: string }, data: unknown): number {
    let n = 0;
    const ts = Date.now();
    for (const conn of this.connections) {
      if (conn.closed) continue;
      const hit =
        (target.session !== undefined && conn.session === target.session) ||
        (target.principal !== undefined && conn.principal?.name === target.principal);
      if (!hit) continue;
      this.sendControl(conn, { type: 'message', data, ts }, 'message');
      n++;
    }
    return n;
  }

  /** Marks a client (an SSE stream, say) for the next flush. */
  schedule(peer: Peer): void {
    this.outbox.schedule(peer);
  }

  /** Writes every dirty connection's queue now. */
  flush(): void {
    this.outbox.flush();
  }

  /**
   * Sends `closing`, then the close frame. A client that is not reading (slow consumer, dead link) is destroyed after
   * a short grace period instead of waiting for its close handshake.
   */
  closeConnection(conn: Connection, code: number, reason: string, reconnect: boolean, retryAfterMs?: number): void {
    if (conn.closed) return;
    const stuck = code === CloseCode.SLOW_CONSUMER || code === CloseCode.HEARTBEAT_TIMEOUT;
    if (stuck) conn.clear();
    else this.outbox.cutAll(conn);
    const frame: Record<string, unknown> = { type: 'closing', code, reason, reconnect };
    if (retryAfterMs !== undefined) frame.retry_after_ms = retryAfterMs;
    conn.enqueueControl(frame);
    this.deps.counters.countOut('closing');
    // Written even past the queue bound: a slow client that resumes reading still learns why it was closed.
    conn.flush(true);
    conn.closed = true;
    conn.closeCode = code;
    this.subscriptions.removeAll(conn);
    try {
      conn.ws.close(code, reason);
    } catch {
      conn.ws.terminate();
    }
    const grace = setTimeout(() => conn.ws.terminate(), stuck ? 2000 : 3000);
    grace.unref();
  }

  /**
   * Counts the connection against `principal` in the connection limits (giving back its previous credential's
   * count); over the limit, closes it with 4029 and returns false.
   */
  private claim(conn: Connection, principal: Principal): boolean {
    const limits = this.deps.limits;
    if (!limits || conn.claimed === principal.name) return true;
    const refusal = limits.claim(principal.name);
    if (refusal) {
      this.closeConnection(conn, CloseCode.RATE_LIMITED, refusal.message, true, refusal.retryAfterS * 1000);
      return false;
    }
    if (conn.claimed !== undefined) limits.unclaim(conn.claimed);
    conn.claimed = principal.name;
    return true;
  }

  private onClose(conn: Connection, code: number): void {
    if (!this.connections.delete(conn)) return;
    if (this.deps.limits) {
      this.deps.limits.release(conn.remote);
      if (conn.claimed !== undefined) this.deps.limits.unclaim(conn.claimed);
    }
    conn.closed = true;
    conn.clear();
    this.subscriptions.removeAll(conn);
    this.deps.counters.connectionsActive--;
    this.deps.counters.countDisconnect(conn.closeCode || code);
  }

  /** Stops accepting, tells every client to reconnect elsewhere, flushes and closes. Resolves when all are closed. */
  async shutdown(timeoutMs: number): Promise<void> {
    this.accepting = false;
    for (const t of this.timers) clearInterval(t);
    this.flush();
    for (const conn of this.connections) this.closeConnection(conn, CloseCode.SHUTDOWN, 'server shutdown', true, 500);
    const deadline = Date.now() + timeoutMs;
    while (this.connections.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    for (const conn of this.connections) conn.ws.terminate();
    this.unlisten();
    this.feed.close();
    this.wss.close();
  }
}
