/**
 * @module dialect-server
 * Serves every mounted dialect: takes the upgrades of their paths from the gateway (after the same connection
 * limits, origin check and, with auth on, the same credential check as v1), holds their sessions, reads their frames
 * under the gateway's rate limit and payload bound, and hands each decoded message to its dialect. Each event a
 * dialect translates is serialised and framed once per dialect, whatever the number of its sessions.
 *
 * Bounds a dialect client meets, all shared with v1 (docs/dialects.md): `gateway.max_payload` per frame (close 1009),
 * `gateway.rate_limit` (an answer in the dialect's error shape, then close 4029), `gateway.max_queue_bytes` per
 * session (drops, then close 4008 after `gateway.slow_consumer_timeout`), `gateway.max_subscriptions`, the
 * `limits.*` connection bounds, and the ping/pong heartbeat (close 4009).
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import {
  CloseCode,
  type ErrorCode,
  type Filter,
  isValidPattern,
  type SubscribeFrame,
  toErrorBody,
  VigilError,
} from '@vigil/protocol';
import type { FastifyInstance } from 'fastify';
import { WebSocket, WebSocketServer } from 'ws';
import type { Authenticator } from '../auth/credentials.js';
import { check, grantsPattern, hasScope, methodRequirement, type Principal } from '../auth/permissions.js';
import { access } from '../auth/route-access.js';
import { refusedAtUpgrade, upgradeToken } from '../auth/ws.js';
import { frameMessage } from '../gateway/frame.js';
import type { Gateway, GatewayOptions } from '../gateway/gateway.js';
import type { MethodRegistry } from '../gateway/methods.js';
import type { PreparedEvent } from '../gateway/prepared-event.js';
import { takeFrame } from '../gateway/rate-limit.js';
import { refuse, refuseOverLimit } from '../gateway/upgrade.js';
import type { ConnectionLimits } from '../limits/connection-limits.js';
import type { HubCounters } from '../observability/hub-counters.js';
import type { Dialect, DialectContext } from './dialect.js';
import { DialectSession } from './session.js';

/** Messages of one session read but not yet handled; past it, a message is answered `rate_limited`. */
export const MAX_IN_FLIGHT = 256;
/** Entries of the connection log kept for `GET /api/v1/dialects/connections`. */
export const CONNECTION_LOG_SIZE = 1000;
/** Largest personal message (`POST /api/v1/sessions/message`), bytes of JSON. */
export const MAX_PERSONAL_BYTES = 65_536;
/** Session metadata: `meta.<key>=<value>` query parameters of the upgrade, at most this many, keys and values cut. */
export const MAX_METADATA = 16;

export interface ConnectionLogEntry {
  at: string;
  event: 'connected' | 'disconnected';
  dialect: string;
  session_id: string;
  remote_addr: string;
  code?: number;
  duration_ms?: number;
}

export interface DialectServerDeps {
  gateway: Gateway;
  options: GatewayOptions;
  methods: MethodRegistry;
  counters: HubCounters;
  limits: ConnectionLimits | undefined;
  auth: Authenticator | undefined;
  log: (level: 'info' | 'warn' | 'error', msg: string, extra?: Record<string, unknown>) => void;
}

/** One dialect's sessions and its one-entry translation cache (the fan-out hands an event to all sessions in turn). */
class Mounted {
  readonly sessions = new Set<DialectSession>();
  private lastEvent: PreparedEvent | undefined;
  private lastFrame: Buffer | undefined;

  constructor(readonly dialect: Dialect) {}

  frame(ev: PreparedEvent, session: DialectSession): Buffer | undefined {
    if (this.dialect.wants && !this.dialect.wants(session, ev.event)) return undefined;
    if (ev !== this.lastEvent) {
      const message = this.dialect.translate(ev.event);
      this.lastEvent = ev;
      this.lastFrame = message === undefined ? undefined : frameMessage(Buffer.from(JSON.stringify(message)), false);
    }
    return this.lastFrame;
  }

  urgent(event: import('../broker/broker.js').StoredEvent): boolean {
    return this.dialect.urgent?.(event) ?? false;
  }
}

export class DialectServer {
  private readonly wss: WebSocketServer;
  private readonly mounted: Mounted[] = [];
  private readonly byName = new Map<string, Mounted>();
  /** The last CONNECTION_LOG_SIZE connects and disconnects. */
  private readonly connectionLog: ConnectionLogEntry[] = [];
  private readonly timers: NodeJS.Timeout[] = [];
  private stopped = false;

  constructor(private readonly deps: DialectServerDeps) {
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: deps.options.maxPayload,
      perMessageDeflate: false,
      clientTracking: false,
    });
    const o = deps.options;
    this.timers.push(setInterval(() => this.heartbeat(), o.pingIntervalMs).unref());
    this.timers.push(setInterval(() => this.sweep(), Math.min(1000, o.slowConsumerTimeoutMs)).unref());
    deps.gateway.onRecheck((auth) => this.recheck(auth));
  }

  /**
   * After a configuration reload: a session whose token is no longer accepted, or whose credential lost the read
   * scope or changed its channels, is closed with 4001; others take the new principal.
   */
  private async recheck(auth: Authenticator): Promise<{ checked: number; closed: number }> {
    const total = { checked: 0, closed: 0 };
    const held = this.mounted.flatMap((m) => [...m.sessions]);
    await Promise.all(
      held.map(async (session) => {
        const token = session.token;
        const before = session.principal;
        if (session.closed || token === undefined || before === undefined) return;
        total.checked++;
        const principal = await auth.verify(token).catch(() => undefined);
        if (session.closed) return;
        if (principal === undefined) {
          this.close(session, CloseCode.UNAUTHORIZED, 'credential revoked');
          total.closed++;
        } else if (
          !hasScope(principal, 'read') ||
          JSON.stringify(principal.channels ?? null) !== JSON.stringify(before.channels ?? null)
        ) {
          this.close(session, CloseCode.UNAUTHORIZED, 'credential narrowed');
          total.closed++;
        } else session.principal = principal;
      }),
    );
    return total;
  }

  /** Mounts a dialect on its paths. */
  add(dialect: Dialect): void {
    const m = new Mounted(dialect);
    this.mounted.push(m);
    this.byName.set(dialect.name, m);
    for (const path of dialect.paths) {
      this.deps.gateway.mount(path, (req, socket, head, url) => this.upgrade(m, req, socket, head, url));
    }
  }

  /** Registers the sessions API and the dialects' HTTP routes, each dialect in a scope of its own. */
  routes(app: FastifyInstance): void {
    app.get(
      '/api/v1/dialects/sessions',
      {
        config: access('admin', 'none'),
        schema: { summary: 'Dialect sessions open now, with their address, activity and metadata', tags: ['dialects'] },
      },
      () => ({ sessions: this.sessionList() }),
    );
    app.post<{ Body: { session?: string; principal?: string; data: unknown } }>(
      '/api/v1/sessions/message',
      {
        config: access('admin', ['>']),
        schema: {
          summary: 'A personal message to one v1 connection (session) or to every connection of one credential',
          tags: ['stream'],
          body: {
            type: 'object',
            properties: {
              session: { type: 'string', minLength: 1, maxLength: 128 },
              principal: { type: 'string', minLength: 1, maxLength: 256 },
              data: {},
            },
            required: ['data'],
            additionalProperties: false,
          },
        },
      },
      (req) => {
        const { session, principal, data } = req.body;
        if ((session === undefined) === (principal === undefined)) {
          throw new VigilError('bad_request', 'Name exactly one of session and principal');
        }
        if (Buffer.byteLength(JSON.stringify(data) ?? '') > MAX_PERSONAL_BYTES) {
          throw new VigilError('payload_too_large', `A personal message is at most ${MAX_PERSONAL_BYTES} bytes`);
        }
        const target: { session?: string; principal?: string } = {};
        if (session !== undefined) target.session = session;
        if (principal !== undefined) target.principal = principal;
        const delivered = this.deps.gateway.sendMessage(target, data);
        if (delivered === 0) throw new VigilError('not_found', 'No such connection');
        return { delivered };
      },
    );
    app.get(
      '/api/v1/dialects/connections',
      {
        config: access('admin', 'none'),
        schema: { summary: `The last ${CONNECTION_LOG_SIZE} dialect connects and disconnects`, tags: ['dialects'] },
      },
      () => ({ connections: this.connectionLog }),
    );
    for (const m of this.mounted) {
      const routes = m.dialect.routes?.bind(m.dialect);
      if (routes) app.register(async (scope) => routes(scope));
    }
  }

  start(): void {
    for (const m of this.mounted) m.dialect.start?.(this.context(m));
  }

  /** Dialect sessions open now, per dialect. */
  counts(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const m of this.mounted) out[m.dialect.name] = m.sessions.size;
    return out;
  }

  private sessionList() {
    const now = Date.now();
    const out: Record<string, unknown>[] = [];
    for (const m of this.mounted) {
      for (const s of m.sessions) {
        out.push({
          dialect: m.dialect.name,
          session_id: s.id,
          remote_addr: s.remote,
          connected_at: new Date(s.openedAt).toISOString(),
          last_activity_at: new Date(s.lastActivity).toISOString(),
          idle_s: Math.round((now - s.lastActivity) / 1000),
          principal: s.principal?.name ?? null,
          metadata: s.metadata,
          channels: [...s.subs.keys()],
          subscriptions: m.dialect.describe?.(s) ?? null,
          messages_in: s.messagesIn,
          messages_out: s.messagesOut,
          queued_bytes: s.pendingBytes(),
        });
      }
    }
    return out;
  }

  private log(entry: Omit<ConnectionLogEntry, 'at'>): void {
    this.connectionLog.push({ at: new Date().toISOString(), ...entry });
    if (this.connectionLog.length > CONNECTION_LOG_SIZE) this.connectionLog.shift();
    this.deps.log('info', `dialect session ${entry.event}`, { ...entry });
  }

  private context(m: Mounted): DialectContext {
    return {
      subscribe: (session, patterns, filter) => this.subscribe(session, patterns, filter),
      unsubscribe: (session, patterns) =>
        this.deps.gateway.subscriptions.unsubscribe(session, patterns ?? [...session.subs.keys()]),
      call: (session, method, params) => this.call(session, method, params),
      send: (session, message) => this.send(session, message),
      sessions: () => m.sessions,
      close: (session, code, reason) => this.close(session, code, reason),
    };
  }

  private upgrade(m: Mounted, req: IncomingMessage, socket: Duplex, head: Buffer, url: URL) {
    socket.on('error', () => socket.destroy());
    const ip = req.socket.remoteAddress ?? '';
    const limits = this.deps.limits;
    const refusal = limits?.admit(ip);
    if (refusal) return refuseOverLimit(socket, refusal);
    let handed = false;
    if (limits) socket.once('close', () => handed || limits.release(ip));
    const origin = req.headers.origin;
    const allowed = this.deps.options.allowedOrigins;
    if (origin !== undefined && allowed.length > 0 && !allowed.includes(origin)) {
      return refuse(socket, 403, 'Forbidden', 'forbidden origin');
    }
    const accept = (principal: Principal | undefined, token?: string) =>
      this.wss.handleUpgrade(req, socket, head, (ws) => {
        handed = true;
        this.open(m, ws, socket, ip, url, principal, token);
      });
    const auth = this.deps.auth;
    if (!auth) return accept(undefined);
    const token = upgradeToken(req, url);
    if (token === null) return refuseJson(socket, 401, 'unauthorized', 'This hub needs a token (header or ?token=)');
    auth.verify(token).then(
      (principal) => {
        if (!hasScope(principal, 'read')) return refuseJson(socket, 403, 'forbidden', 'The token lacks the read scope');
        const over = limits?.claim(principal.name);
        if (over) return refuseOverLimit(socket, over);
        accept(principal, token);
      },
      (err: unknown) => refuseJson(socket, 401, 'unauthorized', refusedAtUpgrade(err).reason),
    );
  }

  private open(m: Mounted, ws: WebSocket, socket: Duplex, ip: string, url: URL, principal?: Principal, token?: string) {
    const counters = this.deps.counters;
    const session = new DialectSession(
      randomBytes(9).toString('base64url'),
      m.dialect.name,
      ws,
      socket,
      ip,
      m,
      this.deps.options.maxQueueBytes,
      counters.queue,
    );
    session.principal = principal;
    session.token = token;
    for (const [key, value] of url.searchParams) {
      if (!key.startsWith('meta.') || Object.keys(session.metadata).length >= MAX_METADATA) continue;
      session.metadata[key.slice(5, 69)] = value.slice(0, 256);
    }
    session.tokens = this.deps.options.rateLimit.burst;
    session.refilledAt = Date.now();
    m.sessions.add(session);
    counters.connectionsTotal++;
    counters.connectionsActive++;
    const ctx = this.context(m);
    ws.on('message', (data: Buffer, isBinary: boolean) => this.onMessage(m, ctx, session, data, isBinary));
    ws.on('pong', () => {
      session.pingSentAt = 0;
    });
    ws.on('close', (code: number) => this.onClose(m, session, code));
    ws.on('error', () => {});
    socket.on('drain', () => this.deps.gateway.schedule(session));
    this.log({ event: 'connected', dialect: m.dialect.name, session_id: session.id, remote_addr: ip });
    if (this.stopped) return this.close(session, CloseCode.SHUTDOWN, 'server shutdown');
    session.turn = this.guard(m, session, () => m.dialect.open(session, ctx, url));
  }

  private onMessage(m: Mounted, ctx: DialectContext, session: DialectSession, data: Buffer, isBinary: boolean) {
    if (session.closed) return;
    session.messagesIn++;
    session.lastActivity = Date.now();
    const counters = this.deps.counters;
    const limit = this.deps.options.rateLimit;
    const verdict = takeFrame(session, limit, Date.now());
    if (verdict !== 'pass') {
      counters.countIn('rate_limited');
      if (verdict === 'close') return this.close(session, CloseCode.RATE_LIMITED, 'rate limited');
      return this.fail(m, session, 'rate_limited', `More than ${limit.messagesPerS} messages/s; message dropped`);
    }
    let value: unknown;
    try {
      if (isBinary) throw new Error('binary');
      value = JSON.parse(data.toString('utf8'));
    } catch {
      counters.countIn('invalid');
      return this.fail(m, session, 'bad_request', 'The message is not JSON text');
    }
    if (session.inFlight >= MAX_IN_FLIGHT) {
      counters.countIn('rate_limited');
      return this.fail(m, session, 'rate_limited', `More than ${MAX_IN_FLIGHT} messages waiting; message dropped`);
    }
    counters.countIn(`dialect.${m.dialect.name}`);
    // One message at a time per session, so replies come in the order of the commands.
    session.inFlight++;
    session.turn = session.turn.then(() =>
      this.guard(m, session, () => m.dialect.message(session, value, ctx)).finally(() => {
        session.inFlight--;
      }),
    );
  }

  /** Runs a dialect handler; anything it throws becomes the dialect's error message. */
  private async guard(m: Mounted, session: DialectSession, run: () => void | Promise<void>): Promise<void> {
    try {
      await run();
    } catch (err) {
      const body = toErrorBody(err);
      if (body.code === 'internal') {
        this.deps.log('error', 'dialect handler failed', { dialect: m.dialect.name, err: String(err) });
      }
      this.fail(m, session, body.code, body.message);
    }
  }

  private fail(m: Mounted, session: DialectSession, code: ErrorCode, message: string): void {
    this.send(session, m.dialect.error(session, code, message));
  }

  private async subscribe(session: DialectSession, patterns: readonly string[], filter?: Filter): Promise<void> {
    let granted = patterns.filter((p) => isValidPattern(p));
    const principal = session.principal;
    if (principal) granted = granted.filter((p) => grantsPattern(principal, p));
    if (granted.length === 0 || session.closed) return;
    const frame: SubscribeFrame = { op: 'subscribe', channels: granted, snapshot: false };
    if (filter !== undefined) frame.filter = filter;
    await this.deps.gateway.subscriptions.subscribe(session, frame, () => {});
  }

  private async call(session: DialectSession, method: string, params?: unknown): Promise<unknown> {
    const principal = session.principal;
    if (principal) {
      const denied = check(principal, methodRequirement(method), `'${method}'`);
      if (denied) throw denied;
    } else if (this.deps.auth) throw new VigilError('unauthorized');
    return this.deps.methods.call(method, params, { session: session.id });
  }

  private send(session: DialectSession, message: unknown): void {
    if (session.closed) return;
    session.send(message);
    const type = (message as { type?: unknown } | null)?.type;
    this.deps.counters.countOut(typeof type === 'string' ? type : 'dialect');
    this.deps.gateway.schedule(session);
    // A client that floods requests without reading must not grow memory without bound.
    if (session.pendingBytes() > this.deps.options.maxQueueBytes * 4) {
      this.close(session, CloseCode.SLOW_CONSUMER, 'slow consumer');
    }
  }

  private close(session: DialectSession, code: number, reason: string): void {
    if (session.closed) return;
    if (code === CloseCode.SLOW_CONSUMER || code === CloseCode.HEARTBEAT_TIMEOUT) session.clear();
    const farewell = this.byName.get(session.dialect)?.dialect.closing?.(session, code, reason);
    if (farewell !== undefined) {
      session.send(farewell);
      this.deps.counters.countOut('closing');
    }
    session.flush(true);
    session.closed = true;
    this.deps.gateway.subscriptions.removeAll(session);
    try {
      session.ws.close(code, reason);
    } catch {
      session.ws.terminate();
    }
    setTimeout(() => session.ws.terminate(), 3000).unref();
  }

  private onClose(m: Mounted, session: DialectSession, code: number): void {
    if (!m.sessions.delete(session)) return;
    session.closed = true;
    session.clear();
    this.deps.gateway.subscriptions.removeAll(session);
    const limits = this.deps.limits;
    if (limits) {
      limits.release(session.remote);
      if (session.principal) limits.unclaim(session.principal.name);
    }
    this.deps.counters.connectionsActive--;
    this.deps.counters.countDisconnect(code);
    this.log({
      event: 'disconnected',
      dialect: m.dialect.name,
      session_id: session.id,
      remote_addr: session.remote,
      code,
      duration_ms: Date.now() - session.openedAt,
    });
    m.dialect.closed?.(session);
  }

  private heartbeat(): void {
    const now = Date.now();
    const timeout = this.deps.options.pongTimeoutMs;
    for (const m of this.mounted) {
      for (const s of m.sessions) {
        if (s.closed) continue;
        if (s.pingSentAt !== 0) {
          if (now - s.pingSentAt >= timeout) this.close(s, CloseCode.HEARTBEAT_TIMEOUT, 'heartbeat timeout');
          continue;
        }
        s.pingSentAt = now;
        if (s.ws.readyState === WebSocket.OPEN) s.ws.ping();
      }
    }
  }

  private sweep(): void {
    const now = Date.now();
    const o = this.deps.options;
    for (const m of this.mounted) {
      for (const s of m.sessions) {
        if (s.closed) continue;
        if (s.fullSince !== 0 && now - s.fullSince >= o.slowConsumerTimeoutMs) {
          this.close(s, CloseCode.SLOW_CONSUMER, 'slow consumer');
        } else if (s.pingSentAt !== 0 && now - s.pingSentAt >= o.pongTimeoutMs) {
          this.close(s, CloseCode.HEARTBEAT_TIMEOUT, 'heartbeat timeout');
        }
      }
    }
  }

  /** Stops the dialects' timers and closes every session (1001). */
  async stop(timeoutMs: number): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    for (const m of this.mounted) m.dialect.stop?.();
    for (const m of this.mounted) for (const s of m.sessions) this.close(s, CloseCode.SHUTDOWN, 'server shutdown');
    const deadline = Date.now() + timeoutMs;
    const open = () => this.mounted.reduce((n, m) => n + m.sessions.size, 0);
    while (open() > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    for (const m of this.mounted) for (const s of m.sessions) s.ws.terminate();
    this.wss.close();
  }
}

/** Ends an upgrade with a JSON error body in the registry's shape. */
function refuseJson(socket: Duplex, status: number, code: ErrorCode, message: string): void {
  const body = JSON.stringify({ error: { code, message } });
  const text = status === 401 ? 'Unauthorized' : status === 403 ? 'Forbidden' : 'Bad Request';
  socket.end(
    `HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}
