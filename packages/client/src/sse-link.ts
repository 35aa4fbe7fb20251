/**
 * @module sse-link
 * The fallback transport: protocol v1 carried by Server-Sent Events (`GET /api/v1/stream`) and the REST API, for when
 * a WebSocket cannot connect. It has the shape of a WebSocket (`SocketLike`), so the client's state machine, resume
 * and heartbeat are the same on both transports:
 * - opening checks the hub and the credential (`GET /api/v1/whoami`) and then delivers a welcome of its own;
 * - `subscribe` frames sent in the same tick with the same filter and snapshot choice share one stream, which carries
 *   their `recover` positions; its `subscribed` event becomes each frame's reply, and its events, snapshots and gaps
 *   are passed on as the same frames the WebSocket carries;
 * - requests (`publish`, `call`, `ping`, `auth`, `unsubscribe`) go to `request()`, which answers them over REST;
 *   a `call` method with no REST route rejects with `transport_unsupported`;
 * - the heartbeat's `ping` is `GET /health`, answered with a `pong` frame; a failure, a stream that ends, or one that
 *   has been silent past the hub's 15 s pings closes the link, and the client reconnects as after a lost WebSocket.
 * The client loads this module only when it falls back, so a bundle that never does pays a small separate chunk.
 */
import type { WelcomeFrame } from '@vigil/protocol';
import { matchChannel, SUBPROTOCOL_JSON } from '@vigil/protocol/wire';
import { VigilClientError } from './errors.js';
import { type FetchLike, VigilHttp } from './http.js';
import { type CloseEventLike, decodeFrame, type MessageEventLike, type SocketLike } from './transport.js';

type Frame = Record<string, unknown>;

interface SubscribeOp {
  id: unknown;
  channels: string[];
  filter?: unknown;
  snapshot?: boolean;
  recover?: Record<string, { epoch: string; offset: number }>;
}

type Position = { epoch: string; offset: number };

interface Stream {
  /** Its filter and snapshot choice: streams of one key can be merged. */
  key: string;
  /** Patterns still wanted; the stream is aborted when none is left. */
  channels: Set<string>;
  /** Streams this one takes over once subscribed. */
  replaces: Stream[];
  /** Subscribe frames waiting for the stream's `subscribed` event. */
  ops: SubscribeOp[];
  abort: AbortController;
  lastData: number;
}

/**
 * Streams open at once before a new subscribe merges with the open streams of its key: a browser keeps six HTTP/1.1
 * connections per origin, and REST requests need some.
 */
const MAX_STREAMS = 3;

/** A stream with no bytes (the hub writes `: ping` every 15 s) for this long is dead. */
const SILENT_MS = 40_000;

/** The welcome's heartbeat: the hub's own values for WebSocket, which the client caps the same way. */
const HEARTBEAT = { interval_ms: 15_000, timeout_ms: 10_000 };

/** Which REST route answers each `call` method, with the method's result shape. */
function callOverRest(http: VigilHttp, method: string, params: Frame): Promise<unknown> | undefined {
  const str = (k: string) => (typeof params[k] === 'string' ? (params[k] as string) : undefined);
  const p = params as never;
  switch (method) {
    case 'stats':
      return http.stats();
    case 'cluster.nodes':
      return http.get('/api/v1/cluster');
    case 'channels.history':
      return http.history(str('channel') ?? '', { since: params.since as number, limit: params.limit as number });
    case 'metrics.summary':
      return http.get('/api/v1/metrics/summary');
    case 'metrics.current':
      return http.current(p);
    case 'metrics.query':
      return http.query(str('metric') ?? '', p);
    case 'alerts.list':
      return http.alerts(Object.keys(params).length === 0 ? { active: true } : p);
    case 'alerts.ack': {
      const id = str('id');
      if (id === undefined) return undefined;
      return http.ackAlert(id, str('by'), str('comment')).then((alert) => ({ alerts: [alert] }));
    }
    case 'tasks.list':
      return http.tasks(p);
    case 'incidents.list':
      return http.incidents(p);
    case 'hosts.list':
      return http.get('/api/v1/hosts', p);
    case 'hosts.get':
      return http.get(`/api/v1/hosts/${encodeURIComponent(str('id') ?? '')}`);
  }
  return undefined;
}

/**
 * Watches a WebSocket opened to move back from SSE: `done` gets its welcome and subprotocol when the first frame is
 * a welcome within `timeoutMs`; undefined when it closes, times out or sends anything else first.
 */
export function watchProbe(
  socket: SocketLike,
  timeoutMs: number,
  done: (welcome: WelcomeFrame | undefined, protocol: string) => void,
): void {
  let protocol = SUBPROTOCOL_JSON;
  const finish = (welcome?: WelcomeFrame) => {
    clearTimeout(timer);
    socket.onmessage = socket.onclose = null;
    done(welcome, protocol);
  };
  const timer = setTimeout(finish, timeoutMs);
  socket.onopen = () => {
    protocol = socket.protocol || SUBPROTOCOL_JSON;
  };
  socket.onerror = () => {};
  socket.onclose = () => finish();
  socket.onmessage = (ev) => {
    let frame: { type?: unknown } | undefined;
    try {
      frame = decodeFrame(protocol, ev.data) as { type?: unknown } | undefined;
    } catch {
      // not a welcome
    }
    finish(frame?.type === 'welcome' ? (frame as WelcomeFrame) : undefined);
  };
}

export class SseLink implements SocketLike {
  binaryType = 'arraybuffer';
  readonly protocol = SUBPROTOCOL_JSON;
  readyState = 0;
  onopen: ((event: unknown) => void) | null = null;
  onmessage: ((event: MessageEventLike) => void) | null = null;
  onclose: ((event: CloseEventLike) => void) | null = null;
  onerror: ((event: unknown) => void) | null = null;
  private readonly http: VigilHttp;
  private readonly streams = new Set<Stream>();
  private batch: SubscribeOp[] | undefined;
  /** The last event passed on per channel (from the `id:` lines), to resume merged streams. */
  private readonly positions = new Map<string, Position>();

  constructor(
    /** The hub's HTTP base: `http://host:4280`, or a prefix the REST API lives under. */
    private readonly base: string,
    private token: string | undefined,
    timeoutMs: number,
    private readonly fetchImpl: FetchLike,
  ) {
    this.http = new VigilHttp({ url: base, getToken: () => this.token, timeoutMs, fetch: fetchImpl });
    void this.open();
  }

  private async open(): Promise<void> {
    let who: { principal?: string | null; expires_at?: number };
    try {
      who = await this.http.whoami();
    } catch (err) {
      const e = err as VigilClientError;
      return this.end(e.code === 'unauthorized' ? 4001 : 1006, `SSE: ${e.message}`);
    }
    if (this.readyState !== 0) return;
    this.readyState = 1;
    this.onopen?.({});
    const welcome: Frame = {
      type: 'welcome',
      session: 'sse',
      node: '',
      protocol: 1,
      server_time: Date.now(),
      heartbeat: HEARTBEAT,
      limits: { max_payload: 0, max_subscriptions: 0 },
    };
    if (typeof who.principal === 'string') welcome.auth = { principal: who.principal, expires_at: who.expires_at };
    this.emit(welcome);
  }

  /** Frames without a reply of their own: `subscribe` (answered from its stream) and the heartbeat's `ping`. */
  send(data: string | Uint8Array): void {
    if (this.readyState !== 1) return;
    const frame = JSON.parse(typeof data === 'string' ? data : new TextDecoder().decode(data)) as Frame;
    if (frame.op === 'ping') void this.heartbeat();
    else if (frame.op === 'subscribe') {
      if (!this.batch) {
        this.batch = [];
        queueMicrotask(() => this.flushBatch());
      }
      this.batch.push(frame as unknown as SubscribeOp);
    }
  }

  /** A request answered over REST: resolves with the result a WebSocket reply would carry. */
  request(frame: Frame): Promise<unknown> {
    switch (frame.op) {
      case 'publish':
        return this.http.publish(String(frame.channel), frame.data, frame.kind as string | undefined);
      case 'ping':
        return this.http.get('/health').then(() => ({ type: 'pong' }));
      case 'auth':
        this.token = String(frame.token);
        return this.http.whoami();
      case 'unsubscribe':
        for (const s of this.streams) {
          for (const c of frame.channels as string[]) s.channels.delete(c);
          if (s.channels.size === 0) this.drop(s);
        }
        return Promise.resolve({});
      case 'call': {
        const params = (frame.params ?? {}) as Frame;
        const method = String(frame.method);
        const reply = callOverRest(this.http, method, params);
        if (reply) return reply;
        return Promise.reject(
          new VigilClientError(
            'transport_unsupported',
            `call '${method}'${method === 'alerts.ack' ? ' by rule' : ''} is not available over the SSE transport`,
            { method, transport: 'sse' },
          ),
        );
      }
    }
    return Promise.reject(new VigilClientError('transport_unsupported', `'${String(frame.op)}' over SSE`));
  }

  close(): void {
    if (this.readyState === 3) return;
    this.readyState = 3;
    for (const s of this.streams) this.drop(s);
  }

  // ---- internals ----

  private emit(frame: Frame | string): void {
    if (this.readyState === 1) this.onmessage?.({ data: typeof frame === 'string' ? frame : JSON.stringify(frame) });
  }

  /** Closes the link as a WebSocket would close: the client then reconnects. */
  private end(code: number, reason: string): void {
    if (this.readyState === 3) return;
    this.close();
    this.onclose?.({ code, reason });
  }

  private drop(s: Stream): void {
    this.streams.delete(s);
    s.abort.abort();
  }

  private async heartbeat(): Promise<void> {
    try {
      await this.http.get('/health');
    } catch (err) {
      return this.end(1006, `SSE: ${(err as Error).message}`);
    }
    const now = Date.now();
    for (const s of this.streams) if (now - s.lastData > SILENT_MS) return this.end(1006, 'SSE: stream silent');
    this.emit({ type: 'pong' });
  }

  private flushBatch(): void {
    const batch = this.batch ?? [];
    this.batch = undefined;
    const groups = new Map<string, SubscribeOp[]>();
    for (const op of batch) {
      const key = JSON.stringify([op.filter ?? null, op.snapshot !== false]);
      groups.set(key, [...(groups.get(key) ?? []), op]);
    }
    for (const [key, ops] of groups) {
      const same = [...this.streams].filter((s) => s.key === key && s.ops.length === 0);
      void this.openStream(key, ops, this.streams.size >= MAX_STREAMS ? same : []);
    }
  }

  /**
   * Opens a stream for `ops`. With `replaces`, it carries their patterns too, resumed from the last event passed on
   * for each channel, and they are dropped once it is subscribed (events seen on both are dropped by the client).
   */
  private async openStream(key: string, ops: SubscribeOp[], replaces: Stream[]): Promise<void> {
    const taken = replaces.flatMap((s) => [...s.channels]);
    const channels = new Set([...taken, ...ops.flatMap((op) => op.channels)]);
    const recover: Record<string, Position> = {};
    for (const op of ops) {
      for (const [channel, pos] of Object.entries(op.recover ?? {})) {
        const held = recover[channel];
        if (!held || (held.epoch === pos.epoch && pos.offset < held.offset)) recover[channel] = pos;
      }
    }
    for (const [channel, pos] of this.positions) {
      if (!recover[channel] && taken.some((p) => matchChannel(p, channel))) recover[channel] = pos;
    }
    // A pattern moved to this stream leaves the older one (its events there would only be duplicates).
    for (const s of this.streams) {
      if (replaces.includes(s)) continue;
      for (const c of channels) s.channels.delete(c);
      if (s.channels.size === 0 && s.ops.length === 0) this.drop(s);
    }
    const q = new URLSearchParams({ channels: [...channels].join(',') });
    if (ops[0]?.filter !== undefined) q.set('filter', JSON.stringify(ops[0].filter));
    if (Object.keys(recover).length > 0) q.set('recover', JSON.stringify(recover));
    if (ops[0]?.snapshot !== false) q.set('snapshot', 'true');
    const stream: Stream = { key, channels, replaces, ops, abort: new AbortController(), lastData: Date.now() };
    this.streams.add(stream);
    const headers: Record<string, string> = { accept: 'text/event-stream' };
    if (this.token !== undefined) headers.authorization = `Bearer ${this.token}`;
    let res: Response;
    try {
      res = await this.fetchImpl(`${this.base}/api/v1/stream?${q}`, { headers, signal: stream.abort.signal });
    } catch (err) {
      if (!stream.abort.signal.aborted) this.end(1006, `SSE: ${(err as Error).message}`);
      return;
    }
    if (!res.ok || !res.body) {
      const body = (await res.json().catch(() => undefined)) as { error?: Frame } | undefined;
      this.streams.delete(stream);
      if (res.status === 401) return this.end(4001, 'SSE: unauthorized');
      const error = body?.error ?? { code: 'unavailable', message: `SSE stream: HTTP ${res.status}` };
      for (const op of ops) this.emit({ type: 'reply', id: op.id, ok: false, error });
      return;
    }
    await this.read(stream, res.body);
  }

  /** Reads `text/event-stream` messages until the stream ends; an end we did not ask for closes the link. */
  private async read(stream: Stream, body: ReadableStream<Uint8Array>): Promise<void> {
    const reader = body.getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    let failed = false;
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        stream.lastData = Date.now();
        buffer += decoder.decode(value, { stream: true }).replace(/\r\n?/g, '\n');
        let end = buffer.indexOf('\n\n');
        while (end >= 0) {
          failed = this.message(stream, buffer.slice(0, end)) || failed;
          buffer = buffer.slice(end + 2);
          end = buffer.indexOf('\n\n');
        }
      }
    } catch {
      // aborted, or the connection broke
    }
    if (stream.abort.signal.aborted || !this.streams.has(stream)) return;
    this.streams.delete(stream);
    if (!failed) this.end(1006, 'SSE: stream ended');
  }

  /** One message: passes its frame on. Returns true for an `error` event (the hub ends the stream after it). */
  private message(stream: Stream, block: string): boolean {
    let event = 'message';
    let id: string | undefined;
    const data: string[] = [];
    for (const line of block.split('\n')) {
      if (line.startsWith('data:')) data.push(line.slice(line[5] === ' ' ? 6 : 5));
      else if (line.startsWith('event:')) event = line.slice(6).trim();
      else if (line.startsWith('id:')) id = line.slice(3).trim();
    }
    if (data.length === 0) return false;
    const text = data.join('\n');
    if (id !== undefined) {
      // `<channel>@<epoch>:<offset>`
      const at = id.lastIndexOf('@');
      const colon = id.lastIndexOf(':');
      this.positions.set(id.slice(0, at), { epoch: id.slice(at + 1, colon), offset: Number(id.slice(colon + 1)) });
    } else if (event === 'gap' && text.includes('"epoch_changed"')) {
      this.positions.delete((JSON.parse(text) as { channel: string }).channel);
    }
    if (event === 'subscribed' || event === 'error') {
      const frame = JSON.parse(text) as { subscriptions?: { channel: string }[]; error?: unknown };
      const ops = stream.ops.splice(0);
      if (event === 'subscribed') for (const old of stream.replaces.splice(0)) this.drop(old);
      for (const op of ops) {
        const reply: Frame = { type: 'reply', id: op.id, ok: event === 'subscribed' };
        if (event === 'error') reply.error = frame.error;
        else reply.result = { subscriptions: frame.subscriptions?.filter((e) => op.channels.includes(e.channel)) };
        this.emit(reply);
      }
      if (event === 'error' && ops.length === 0) this.emit(frame as Frame);
      return event === 'error';
    }
    this.emit(text);
    return false;
  }
}
