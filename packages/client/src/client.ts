/**
 * @module client
 * `VigilClient`: one connection to a hub with an explicit state machine (disconnected, connecting, connected,
 * reconnecting, closed), full-jitter reconnects that honour `closing`, subscriptions that resume from their last
 * offsets, a bounded offline queue, requests with timeouts, a client-side heartbeat and token refresh on 4001.
 * When a WebSocket cannot connect it falls back to Server-Sent Events plus REST (sse-link.ts, loaded only then),
 * resuming the same offsets, and moves back to a WebSocket once one connects again.
 */
import type {
  ClosingFrame,
  ErrorBody,
  EventFrame,
  GapFrame,
  PublishReply,
  SnapshotFrame,
  WelcomeFrame,
} from '@vigil/protocol';
import { CloseCode, SUBPROTOCOL_JSON } from '@vigil/protocol/wire';
import { Backoff } from './backoff.js';
import { Emitter } from './emitter.js';
import { isPermanent, VigilClientError } from './errors.js';
import { type ClientEvents, type EventForPattern, LocalCode, State, type SubscribedEntry } from './events.js';
import { Heartbeat, heartbeatTimings } from './heartbeat.js';
import { OfflineQueue, type QueueItem } from './offline-queue.js';
import { type ResolvedOptions, resolveOptions, type Transport, type VigilClientOptions } from './options.js';
import { PendingRequests } from './requests.js';
import type { SseLink } from './sse-link.js';
import { type SubscribeOptions, Subscription, type SubscriptionHost } from './subscription.js';
import { SubscriptionSet } from './subscription-set.js';
import {
  decodeFrame,
  encodeFrame,
  openWebSocket,
  type ResolvedWebSocket,
  resolveWebSocket,
  type SocketLike,
} from './transport.js';

/** The reply to a publish: the channel, and the event's offset and epoch. */
export type PublishResult = PublishReply;

interface QueuedRequest extends QueueItem {
  frame: Record<string, unknown>;
  what: string;
  resolve(value: unknown): void;
}

type Timer = ReturnType<typeof setTimeout>;

/** Refresh an expiring token this long before `expires_at`. */
const TOKEN_REFRESH_MARGIN_MS = 30_000;

export class VigilClient extends Emitter<ClientEvents> {
  readonly options: ResolvedOptions;
  private _state: State = State.Disconnected;
  private socket: SocketLike | undefined;
  private protocol = SUBPROTOCOL_JSON;
  /** Bumped whenever a socket is dropped: callbacks from an older socket see a stale value and do nothing. */
  private generation = 0;
  /** The current socket has delivered its welcome. */
  private ready = false;
  private token: string | undefined;
  private closingFrame: ClosingFrame | undefined;
  private _welcome: WelcomeFrame | undefined;
  private connectedOnce = false;
  /** Reconnect attempts since the last welcome. */
  private attempt = 0;
  private wsPromise: Promise<ResolvedWebSocket> | undefined;
  private readonly reconnectBackoff: Backoff;
  private readonly timers = new Set<Timer>();
  private readonly heartbeat = new Heartbeat(
    () => this.sendFrame({ op: 'ping' }),
    () => this.connectionLost(LocalCode.HEARTBEAT_TIMEOUT, 'heartbeat timeout'),
  );
  private tokenTimer: Timer | undefined;
  private readonly pending = new PendingRequests();
  private readonly queue: OfflineQueue<QueuedRequest>;
  private readonly subs = new SubscriptionSet();
  private readonly host: SubscriptionHost;
  /** The current socket when it is the SSE transport. */
  private link: SseLink | undefined;
  /** The transport of the current attempt, and of the last welcome. */
  private attemptTransport: Transport | undefined;
  private _transport: Transport | undefined;
  private sseModule: Promise<typeof import('./sse-link.js')> | undefined;
  /** While on SSE: the timer of the next WebSocket try, and the socket of the try under way. */
  private probeTimer: Timer | undefined;
  private probeSocket: SocketLike | undefined;

  constructor(options: VigilClientOptions) {
    super();
    this.options = resolveOptions(options);
    this.reconnectBackoff = new Backoff(this.options.backoff);
    this.queue = new OfflineQueue(this.options.offlineQueue);
    this.host = { removeSubscription: (sub) => this.removeSubscription(sub), backoff: this.options.backoff };
  }

  get state(): State {
    return this._state;
  }

  /** The welcome of the current connection, if any. */
  get welcome(): WelcomeFrame | undefined {
    return this.ready ? this._welcome : undefined;
  }

  /** The transport of the current connection: `websocket` or `sse`; undefined unless connected. */
  get transport(): Transport | undefined {
    return this.ready ? this._transport : undefined;
  }

  /** The reconnect attempt under way or scheduled (1 for the first); 0 unless `reconnecting`. */
  get reconnectAttempt(): number {
    return this._state === State.Reconnecting ? this.attempt : 0;
  }

  get subscriptions(): readonly Subscription[] {
    return [...this.subs];
  }

  get offlineQueueSize(): number {
    return this.queue.size;
  }

  /** Starts connecting; does nothing unless the client is `disconnected`. */
  connect(): void {
    if (this._state === State.Closed) throw new VigilClientError('client_closed');
    if (this._state !== State.Disconnected) return;
    this.attempt = 0;
    this.setState(State.Connecting, LocalCode.OK, 'connect called');
    void this.openSocket();
  }

  /** Closes for good: rejects what is pending or queued with `client_closed`. */
  close(): void {
    if (this._state === State.Closed) return;
    this.dropSocket(false);
    clearTimeout(this.tokenTimer);
    this.setState(State.Closed, LocalCode.CLOSE_CALLED, 'client closed');
    const err = new VigilClientError('client_closed');
    this.pending.rejectAll(err);
    this.queue.clear(err);
    this.subs.markPending();
  }

  subscribe<P extends string>(
    patterns: P | readonly P[],
    options: SubscribeOptions = {},
  ): Subscription<EventForPattern<P>> {
    if (this._state === State.Closed) throw new VigilClientError('client_closed');
    const list: string[] = typeof patterns === 'string' ? [patterns] : [...patterns];
    const sub = new Subscription<EventForPattern<P>>(this.host, list, options);
    this.subs.add(sub);
    if (this.ready) this.sendSubscribe(sub);
    return sub;
  }

  /** Publishes to a concrete channel. Queued while offline. */
  publish(channel: string, data: unknown, kind?: string): Promise<PublishResult> {
    const frame: Record<string, unknown> = { op: 'publish', channel, data };
    if (kind !== undefined) frame.kind = kind;
    return this.request(frame, `publish to '${channel}'`, true) as Promise<PublishResult>;
  }

  /** Calls a hub method. Queued while offline. */
  call<T = unknown>(method: string, params?: unknown): Promise<T> {
    const frame: Record<string, unknown> = { op: 'call', method };
    if (params !== undefined) frame.params = params;
    return this.request(frame, `call '${method}'`, true) as Promise<T>;
  }

  /** Measures a round trip with the `ping` op; rejects with `disconnected` when not connected. */
  async ping(): Promise<number> {
    const start = Date.now();
    await this.request({ op: 'ping' }, 'ping', false);
    return Date.now() - start;
  }

  /** Gets a new token and, when connected, sends it in-band with the `auth` op. Later connects use it. */
  async refreshToken(): Promise<void> {
    if (!this.options.getToken) return;
    this.token = await this.options.getToken();
    if (!this.ready) return;
    const result = (await this.request({ op: 'auth', token: this.token }, 'auth', false)) as { expires_at?: number };
    this.scheduleRefresh(result?.expires_at);
  }

  /** Refreshes the token shortly before `expiresAt` (from an `auth` reply or the welcome). */
  private scheduleRefresh(expiresAt: number | undefined): void {
    clearTimeout(this.tokenTimer);
    if (typeof expiresAt !== 'number' || !this.options.getToken || this._state === State.Closed) return;
    const wait = Math.max(5_000, expiresAt - Date.now() - TOKEN_REFRESH_MARGIN_MS);
    this.tokenTimer = setTimeout(() => {
      this.refreshToken().catch((err: unknown) => this.reportError('token_failed', err));
    }, wait);
  }

  // ---- connection lifecycle ----

  private setState(newState: State, code: number, reason: string): void {
    const oldState = this._state;
    if (oldState === newState) return;
    this._state = newState;
    this.emit('state', { oldState, newState, code, reason, attempt: this.reconnectAttempt });
  }

  private after(ms: number, fn: () => void): Timer {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
    return t;
  }

  /** Opens a connection: a WebSocket when allowed (else, or when `fallback`, the SSE transport). */
  private async openSocket(fallback = false): Promise<void> {
    const gen = ++this.generation;
    this.attemptTransport = undefined;
    let token: string | undefined;
    try {
      if (this.token === undefined && this.options.getToken) this.token = await this.options.getToken();
      token = this.token;
    } catch (err) {
      if (gen !== this.generation) return;
      this.reportError('token_failed', err);
      return this.connectionLost(LocalCode.TOKEN_FAILED, 'token provider failed');
    }
    if (gen !== this.generation) return;
    const transport = fallback || !this.options.transports.includes('websocket') ? 'sse' : 'websocket';
    this.attemptTransport = transport;
    let socket: SocketLike;
    try {
      if (transport === 'sse') {
        this.sseModule ??= import('./sse-link.js');
        const { SseLink } = await this.sseModule;
        if (gen !== this.generation) return;
        const fetch =
          this.options.fetch ??
          ((input, init) => (globalThis as unknown as { fetch: typeof globalThis.fetch }).fetch(input, init));
        socket = this.link = new SseLink(this.options.httpUrl, token, this.options.requestTimeoutMs, fetch);
      } else {
        this.wsPromise ??= resolveWebSocket(this.options.WebSocket);
        const resolved = await this.wsPromise;
        if (gen !== this.generation) return;
        const { url, encoding, tokenTransport } = this.options;
        socket = openWebSocket(resolved, url, encoding, token, tokenTransport);
      }
    } catch (err) {
      if (transport === 'sse') this.sseModule = undefined;
      else this.wsPromise = undefined;
      if (gen !== this.generation) return;
      this.reportError('connect_failed', err);
      return this.connectionLost(LocalCode.ABNORMAL, `${transport} transport failed to open`);
    }
    this.attach(socket, gen);
    this.after(this.options.connectTimeoutMs, () => {
      if (gen === this.generation && !this.ready) this.connectionLost(LocalCode.CONNECT_TIMEOUT, 'connect timeout');
    });
  }

  /** Makes `socket` the current one, for generation `gen`. */
  private attach(socket: SocketLike, gen: number): void {
    this.socket = socket;
    socket.onopen = () => {
      if (gen === this.generation) this.protocol = socket.protocol || SUBPROTOCOL_JSON;
    };
    socket.onmessage = (ev) => {
      if (gen === this.generation) this.onData(ev.data);
    };
    socket.onclose = (ev) => {
      if (gen === this.generation) this.connectionLost(ev.code, ev.reason || 'connection closed');
    };
    socket.onerror = () => {};
  }

  /** Detaches and closes the current socket; every callback of it becomes stale. */
  private dropSocket(abrupt: boolean): void {
    this.generation++;
    this.ready = false;
    this.heartbeat.stop();
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    clearTimeout(this.probeTimer);
    if (this.probeSocket) closeQuietly(this.probeSocket, true);
    this.probeSocket = undefined;
    const socket = this.socket;
    this.socket = undefined;
    this.link = undefined;
    if (socket) closeQuietly(socket, abrupt);
  }

  /**
   * The link is gone (close, `closing`, timeouts): retry unless told not to, or closed. A WebSocket that fails before
   * its welcome, with no `closing` from the hub, is followed at once by the SSE transport when that is allowed.
   */
  private connectionLost(code: number, reason: string): void {
    if (
      !this.ready &&
      this.attemptTransport === 'websocket' &&
      this.closingFrame === undefined &&
      this.options.transports.includes('sse') &&
      this._state !== State.Closed
    ) {
      this.dropSocket(true);
      void this.openSocket(true);
      return;
    }
    const closing = this.closingFrame;
    this.closingFrame = undefined;
    this.dropSocket(closing === undefined);
    this.pending.rejectAll(new VigilClientError('disconnected', `Connection lost: ${code} ${reason}`, { code }));
    this.subs.markPending();
    if (this._state === State.Closed) return;
    const effective = closing?.code ?? code;
    const refresh = effective === CloseCode.UNAUTHORIZED && this.options.getToken !== undefined;
    if (refresh) this.token = undefined;
    if (closing && !closing.reconnect && !refresh) {
      this.setState(State.Disconnected, effective, closing.reason);
      return;
    }
    if (this.attempt >= this.options.maxReconnectAttempts) {
      this.setState(State.Disconnected, effective, `gave up after ${this.attempt} reconnect attempts`);
      return;
    }
    this.attempt++;
    const why = closing?.reason ?? reason;
    this.setState(State.Reconnecting, effective, why);
    const delay = Math.max(closing?.retry_after_ms ?? 0, this.reconnectBackoff.next());
    this.emit('reconnecting', { attempt: this.attempt, delayMs: delay, code: effective, reason: why });
    this.after(delay, () => void this.openSocket());
  }

  private reportError(code: 'token_failed' | 'connect_failed', err: unknown): void {
    const error =
      err instanceof VigilClientError ? err : new VigilClientError(code, `${code}: ${(err as Error)?.message ?? err}`);
    this.emit('error', { error });
  }

  // ---- frames ----

  private onData(data: unknown): void {
    this.heartbeat.seen();
    let frame: Record<string, unknown>;
    try {
      const decoded = decodeFrame(this.protocol, data);
      if (decoded === null || typeof decoded !== 'object') return;
      frame = decoded as Record<string, unknown>;
    } catch (err) {
      this.emit('error', { error: err as VigilClientError });
      return;
    }
    switch (frame.type) {
      case 'event':
        this.subs.event(frame as unknown as EventFrame);
        return;
      case 'reply':
        if (frame.ok === true) this.pending.resolve(frame.id, frame.result);
        else this.pending.fail(frame.id, frame.error as ErrorBody);
        return;
      case 'snapshot':
        this.subs.snapshot(frame as unknown as SnapshotFrame);
        return;
      case 'gap':
        this.subs.gap(frame as unknown as GapFrame);
        return;
      case 'pong':
        if (frame.id !== undefined) this.pending.resolve(frame.id, frame);
        return;
      case 'welcome':
        this.onWelcome(frame as unknown as WelcomeFrame);
        return;
      case 'error':
        this.emit('error', { error: VigilClientError.fromBody(frame.error as ErrorBody) });
        return;
      case 'message':
        this.emit('message', { data: frame.data, ts: Number(frame.ts) });
        return;
      case 'closing':
        this.closingFrame = frame as unknown as ClosingFrame;
        this.connectionLost(this.closingFrame.code, this.closingFrame.reason);
        return;
    }
  }

  private onWelcome(welcome: WelcomeFrame): void {
    if (this.ready) return;
    this._welcome = welcome;
    this.ready = true;
    for (const t of this.timers) clearTimeout(t); // the connect timeout
    this.timers.clear();
    this.reconnectBackoff.reset();
    this.attempt = 0;
    const { intervalMs, timeoutMs } = heartbeatTimings(
      welcome,
      this.options.heartbeatIntervalMs,
      this.options.heartbeatTimeoutMs,
    );
    this.heartbeat.start(intervalMs, timeoutMs);
    this.scheduleRefresh(welcome.auth?.expires_at);
    for (const sub of this.subs) this.sendSubscribe(sub);
    for (const item of this.queue.drain()) this.sendRequest(item);
    const reconnected = this.connectedOnce;
    this.connectedOnce = true;
    const previous = this._transport;
    const transport = this.link ? 'sse' : 'websocket';
    this._transport = transport;
    if (transport === 'sse') this.scheduleProbe();
    this.setState(State.Connected, LocalCode.OK, 'connected');
    if (this.ready && previous !== transport) this.emit('transport', { transport, previous });
    if (this.ready) {
      this.emit('connected', { session: welcome.session, node: welcome.node, welcome, reconnected, transport });
    }
  }

  // ---- back to WebSocket ----

  /** While on SSE, tries a WebSocket after `websocketRetryMs` (when WebSocket is allowed). */
  private scheduleProbe(): void {
    const { transports, websocketRetryMs } = this.options;
    if (!this.link || !transports.includes('websocket') || websocketRetryMs <= 0) return;
    const gen = this.generation;
    clearTimeout(this.probeTimer);
    this.probeTimer = setTimeout(() => void this.probe(gen), websocketRetryMs);
  }

  /** Opens a WebSocket beside the SSE link; if it gets a welcome, the client moves onto it. */
  private async probe(gen: number): Promise<void> {
    let socket: SocketLike;
    let watch: typeof import('./sse-link.js')['watchProbe'];
    try {
      this.wsPromise ??= resolveWebSocket(this.options.WebSocket);
      const resolved = await this.wsPromise;
      watch = (await this.sseModule!).watchProbe;
      if (gen !== this.generation || !this.ready) return;
      const { url, encoding, tokenTransport } = this.options;
      socket = openWebSocket(resolved, url, encoding, this.token, tokenTransport);
    } catch {
      this.wsPromise = undefined;
      if (gen === this.generation) this.scheduleProbe();
      return;
    }
    this.probeSocket = socket;
    watch(socket, this.options.connectTimeoutMs, (welcome, protocol) => {
      if (this.probeSocket !== socket) return;
      this.probeSocket = undefined;
      if (!welcome || gen !== this.generation) {
        closeQuietly(socket, true);
        if (gen === this.generation) this.scheduleProbe();
        return;
      }
      // The SSE link stops (its requests in flight still settle); the subscriptions resume on the WebSocket from
      // the positions they had reached, as after a reconnect.
      this.dropSocket(false);
      this.subs.markPending();
      this.protocol = protocol;
      this.attemptTransport = 'websocket';
      this.attach(socket, this.generation);
      this.onWelcome(welcome);
    });
  }

  private sendFrame(frame: Record<string, unknown>): void {
    if (!this.socket || !this.ready) return;
    try {
      this.socket.send(encodeFrame(this.protocol, frame));
    } catch {
      // the close event follows
    }
  }

  // ---- requests and subscriptions ----

  private request(frame: Record<string, unknown>, what: string, queue: boolean): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const item: QueuedRequest = { frame, what, resolve, reject };
      if (this._state === State.Closed) reject(new VigilClientError('client_closed'));
      else if (this.ready) this.sendRequest(item);
      else if (queue) this.queue.push(item);
      else reject(new VigilClientError('disconnected', `Cannot ${what} while ${this._state}`));
    });
  }

  private sendRequest(item: QueuedRequest): void {
    const id = this.pending.add(this.options.requestTimeoutMs, item.resolve, item.reject, item.what);
    if (this.link) {
      this.link.request(item.frame).then(
        (result) => this.pending.resolve(id, result),
        (err: unknown) => this.pending.reject(id, err as VigilClientError),
      );
    } else this.sendFrame({ ...item.frame, id });
  }

  private sendSubscribe(sub: Subscription): void {
    const gen = this.generation;
    const frame = sub.buildFrame();
    const id = this.pending.add(
      this.options.requestTimeoutMs,
      (result) => {
        if (gen !== this.generation || sub.state === 'unsubscribed') return;
        const entries = (result as { subscriptions?: SubscribedEntry[] } | undefined)?.subscriptions ?? [];
        sub.handleSubscribed(entries);
      },
      (err) => {
        if (gen !== this.generation || sub.state === 'unsubscribed') return;
        const retry = !isPermanent(err);
        sub.handleError(err, retry);
        if (retry) this.scheduleResubscribe(sub);
      },
      `subscribe to ${frame.channels.join(',')}`,
    );
    this.sendFrame({ ...frame, id });
  }

  private scheduleResubscribe(sub: Subscription): void {
    const gen = this.generation;
    sub.scheduleRetry(() => {
      if (gen === this.generation && this.ready && this.subs.has(sub)) this.sendSubscribe(sub);
    });
  }

  private removeSubscription(sub: Subscription): void {
    const unused = this.subs.remove(sub);
    if (!unused) return;
    if (unused.length > 0 && this.ready) {
      this.request({ op: 'unsubscribe', channels: unused }, 'unsubscribe', false).catch(() => {});
    }
  }
}

/** Detaches a socket's handlers and closes it (`terminate()` when `abrupt` and the socket has it). */
function closeQuietly(socket: SocketLike, abrupt: boolean): void {
  const noop = () => {};
  socket.onopen = noop;
  socket.onmessage = noop;
  socket.onclose = noop;
  socket.onerror = noop;
  try {
    const terminate = (socket as { terminate?: () => void }).terminate;
    if (abrupt && typeof terminate === 'function') terminate.call(socket);
    else socket.close(1000, 'client closing');
  } catch {
    // already closed
  }
}
