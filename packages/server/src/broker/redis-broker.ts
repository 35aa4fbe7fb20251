/**
 * @module redis-broker
 * The Redis engine: several hub nodes share channel offsets, epochs and history through Redis, and each node
 * receives, through pub/sub, only the channels its own clients watch.
 *
 * - `publish` is one round trip: a Lua script (redis-scripts.ts) raises the channel's offset, appends to its Redis
 *   Stream (trimmed by the same HistoryPolicies as the memory engine: count and age), and publishes the event.
 *   Publishes made in one turn of the event loop share it: consecutive events of one channel go in one script call
 *   and one pub/sub message, in publish order.
 * - Each channel keeps an epoch in Redis. If Redis loses the channel (a flush, a restart without persistence) the
 *   next publish starts a new epoch, and clients that resume get `epoch_changed` instead of silent loss.
 * - `watch(pattern)` subscribes this node once per pattern (SUBSCRIBE for a channel, PSUBSCRIBE for a wildcard) and
 *   resolves when Redis has confirmed it. Listeners receive events in offset order per channel, each once.
 * - After a reconnect to Redis, every channel this node was delivering is read again from its stream from the last
 *   offset delivered, and channels created meanwhile under a watched wildcard are found in `p:channels`, so what was
 *   published while the node was cut off still arrives (the gateway's live feed then orders it for clients).
 */
import { isWildcard, matchChannel, VigilError } from '@vigil/protocol';
import { Redis, type RedisOptions } from 'ioredis';
import type {
  Broker,
  ChannelInfo,
  EventListener,
  HistoryQuery,
  HistoryResult,
  PublishInput,
  StoredEvent,
  StreamPosition,
} from './broker.js';
import { newEpoch } from './broker.js';
import { BUDGET_LOW_WATER, channelOverhead, eventBytes, type HistoryPolicies } from './history-policy.js';
import { POSITION, PUBLISH } from './redis-scripts.js';

export interface RedisBrokerOptions {
  /** `redis://[user:password@]host:port[/db]`. */
  url: string;
  policies: HistoryPolicies;
  /** Prefix of every key and pub/sub channel; nodes of one cluster share it. Default `vigil:`. */
  prefix?: string;
  now?: () => number;
  /** How long a channel's offset and epoch outlive its last event. Default 7 days. */
  channelTtlMs?: number;
  log?: (level: 'info' | 'warn' | 'error', msg: string, extra?: Record<string, unknown>) => void;
}

type StreamEntry = [id: string, fields: string[]];

interface Delivered {
  epoch: string;
  offset: number;
  seenAt: number;
}

/** A publish waiting for the next flush. */
interface Queued {
  channel: string;
  kind: string;
  data: unknown;
  json: string;
  ts: number;
  bytes: number;
  resolve: (event: StoredEvent) => void;
  reject: (err: unknown) => void;
}

/** The pub/sub message of one publish script call: channel, epoch, first offset, then [ts, kind, data] per event. */
interface PublishedBatch {
  c: string;
  e: string;
  o: number;
  v: [ts: number, kind: string, data: unknown][];
}

interface RedisCommands {
  vigilPublish(...args: (string | number)[]): Promise<[string, number]>;
  vigilPosition(...args: (string | number)[]): Promise<[string, number]>;
}

const DEFAULT_TTL_MS = 7 * 24 * 3_600_000;
/** The most events, and bytes of their data, one publish script call carries. */
const BATCH_EVENTS = 256;
const BATCH_BYTES = 1_048_576;
/** Channels created up to this long before a disconnect are re-read after it (clock skew between nodes). */
const RESYNC_MARGIN_MS = 5_000;

function fromEntry(channel: string, epoch: string, [id, f]: StreamEntry): StoredEvent {
  // Fields come in the order the script wrote them: t, k, d.
  return {
    channel,
    epoch,
    offset: Number(id.slice(0, id.indexOf('-'))),
    ts: Number(f[1]),
    kind: JSON.parse(f[3]!) as string,
    data: JSON.parse(f[5]!) as unknown,
  };
}

export class RedisBroker implements Broker {
  readonly engine = 'redis';
  readonly prefix: string;
  private readonly cmd: Redis & RedisCommands;
  private readonly sub: Redis;
  private readonly policies: HistoryPolicies;
  private readonly now: () => number;
  private readonly ttlMs: number;
  private readonly listeners: EventListener[] = [];
  /** Publishes waiting for the next flush. */
  private queue: Queued[] = [];
  /** Watched patterns with their local count, and the Redis subscription each needs. */
  private readonly patterns = new Map<string, number>();
  /** Per channel this node has delivered: the last position handed to listeners. */
  private readonly delivered = new Map<string, Delivered>();
  private connectedOnce = false;
  private disconnectedAt = 0;
  private resyncing: Promise<void> | undefined;
  private closed = false;
  private readonly pruneTimer: NodeJS.Timeout;

  constructor(private readonly options: RedisBrokerOptions) {
    this.prefix = options.prefix ?? 'vigil:';
    this.policies = options.policies;
    this.now = options.now ?? Date.now;
    this.ttlMs = options.channelTtlMs ?? DEFAULT_TTL_MS;
    const redisOptions: RedisOptions = { lazyConnect: true, maxRetriesPerRequest: 2, enableReadyCheck: true };
    this.cmd = new Redis(options.url, redisOptions) as Redis & RedisCommands;
    this.cmd.defineCommand('vigilPublish', { numberOfKeys: 5, lua: PUBLISH });
    this.cmd.defineCommand('vigilPosition', { numberOfKeys: 1, lua: POSITION });
    this.sub = new Redis(options.url, { ...redisOptions, maxRetriesPerRequest: null });
    this.sub.on('message', (_rc: string, message: string) => this.onMessage(message));
    this.sub.on('pmessage', (_p: string, _rc: string, message: string) => this.onMessage(message));
    this.sub.on('ready', () => this.onReady());
    this.sub.on('close', () => {
      if (this.connectedOnce && this.disconnectedAt === 0) this.disconnectedAt = this.now();
    });
    for (const client of [this.cmd, this.sub]) {
      client.on('error', (err: Error) => this.options.log?.('warn', 'redis', { err: err.message }));
    }
    this.pruneTimer = setInterval(() => this.prune(), 60_000).unref();
  }

  async start(): Promise<void> {
    await Promise.all([this.cmd.connect(), this.sub.connect()]);
  }

  private metaKey(channel: string): string {
    return `${this.prefix}{${channel}}:m`;
  }

  private streamKey(channel: string): string {
    return `${this.prefix}{${channel}}:s`;
  }

  private get channelsKey(): string {
    return `${this.prefix}channels`;
  }

  private get sizesKey(): string {
    return `${this.prefix}sizes`;
  }

  private get totalsKey(): string {
    return `${this.prefix}totals`;
  }

  /** The pub/sub channel of a channel, or the glob of a pattern (`*` and `>` both become `*`; matched exactly here). */
  private redisName(pattern: string): string {
    return `${this.prefix}ev:${isWildcard(pattern) ? pattern.replaceAll('>', '*') : pattern}`;
  }

  /**
   * Queues the event; publishes queued in one turn of the event loop go to Redis together (see `flush`), so a burst
   * costs Redis one script call and one pub/sub message per channel instead of one per event.
   */
  publish(input: PublishInput): Promise<StoredEvent> {
    return new Promise<StoredEvent>((resolve, reject) => {
      const data = input.data ?? null;
      let json: string;
      try {
        json = JSON.stringify(data);
      } catch (err) {
        reject(err);
        return;
      }
      const ts = input.ts ?? this.now();
      const bytes = eventBytes({ channel: input.channel, kind: input.kind, data });
      this.queue.push({ channel: input.channel, kind: input.kind, data, json, ts, bytes, resolve, reject });
      if (this.queue.length === 1) setImmediate(() => this.flush());
    });
  }

  /**
   * Sends the queued publishes: each run of consecutive events of one channel (at most `BATCH_EVENTS` events and
   * `BATCH_BYTES` of data) is one script call, so the order of publishes is the order Redis applies them in.
   */
  private flush(): void {
    const queue = this.queue;
    this.queue = [];
    let start = 0;
    let bytes = 0;
    for (let i = 0; i < queue.length; i++) {
      const q = queue[i]!;
      if (
        i > start &&
        (q.channel !== queue[start]!.channel || i - start >= BATCH_EVENTS || bytes + q.json.length > BATCH_BYTES)
      ) {
        this.send(queue.slice(start, i));
        start = i;
        bytes = 0;
      }
      bytes += q.json.length;
    }
    if (queue.length > start) this.send(start === 0 ? queue : queue.slice(start));
  }

  /** Runs one script call for a batch; whatever fails rejects the batch's publishes (it never escapes the flush). */
  private send(batch: Queued[]): void {
    try {
      this.call(batch);
    } catch (err) {
      for (const q of batch) q.reject(err);
    }
  }

  private call(batch: Queued[]): void {
    const channel = batch[0]!.channel;
    const policy = this.policies.for(channel);
    const budget = this.policies.budget;
    const limit = (n: number) => (Number.isFinite(n) ? n : -1);
    const args: (string | number)[] = [
      this.metaKey(channel),
      this.streamKey(channel),
      this.channelsKey,
      this.sizesKey,
      this.totalsKey,
      channel,
      JSON.stringify(channel),
      newEpoch(),
      this.redisName(channel),
      this.now(),
      Math.max(this.ttlMs, policy.max_age_ms),
      policy.max_events,
      Math.max(1, policy.max_age_ms),
      limit(policy.max_bytes),
      limit(budget.max_channels),
      limit(budget.max_total_bytes),
      channelOverhead(channel),
      BUDGET_LOW_WATER,
      this.prefix,
    ];
    for (const q of batch) args.push(JSON.stringify(q.kind), q.json, q.ts, q.bytes);
    this.cmd.vigilPublish(...args).then(
      ([epoch, first]) => {
        if (epoch === 'channel_limit') {
          const err = new VigilError(
            'channel_limit',
            `The hub holds ${first} channels (the limit); '${channel}' is new`,
            {
              channel,
              limit: budget.max_channels,
            },
          );
          for (const q of batch) q.reject(err);
          return;
        }
        const offset = Number(first);
        for (let i = 0; i < batch.length; i++) {
          const q = batch[i]!;
          q.resolve({ channel, epoch, offset: offset + i, ts: q.ts, kind: q.kind, data: q.data });
        }
      },
      (err: unknown) => {
        for (const q of batch) q.reject(err);
      },
    );
  }

  async position(channel: string): Promise<StreamPosition> {
    const [epoch, offset] = await this.cmd.vigilPosition(this.metaKey(channel), newEpoch(), this.ttlMs);
    return { epoch, offset: Number(offset) };
  }

  async history(channel: string, query: HistoryQuery = {}): Promise<HistoryResult> {
    const pos = await this.position(channel);
    const stream = this.streamKey(channel);
    const since = query.since;
    const fromOffset = since && since.epoch === pos.epoch ? since.offset : 0;
    let entries: StreamEntry[];
    if (since || query.limit === undefined) {
      const args: (string | number)[] = [stream, fromOffset > 0 ? `(${fromOffset}-0` : '-', '+'];
      if (since && query.limit !== undefined) args.push('COUNT', query.limit);
      entries = (await this.cmd.call('XRANGE', ...args)) as StreamEntry[];
    } else {
      entries = ((await this.cmd.call('XREVRANGE', stream, '+', '-', 'COUNT', query.limit)) as StreamEntry[]).reverse();
    }
    const cutoff = this.now() - this.policies.for(channel).max_age_ms;
    const events: StoredEvent[] = [];
    for (const entry of entries) {
      const e = fromEntry(channel, pos.epoch, entry);
      if (e.ts >= cutoff) events.push(e);
    }
    const offset = Math.max(pos.offset, events.at(-1)?.offset ?? 0);
    const result: HistoryResult = { epoch: pos.epoch, offset, events };
    if (since) {
      if (since.epoch !== pos.epoch) {
        result.gap = { from: since.offset + 1, to: Number.MAX_SAFE_INTEGER, reason: 'epoch_changed' };
      } else {
        const first = events[0]?.offset ?? offset + 1;
        if (since.offset + 1 < first) result.gap = { from: since.offset + 1, to: first - 1, reason: 'history_expired' };
      }
    }
    return result;
  }

  async channels(): Promise<ChannelInfo[]> {
    const names = (await this.cmd.zrevrange(this.channelsKey, 0, 9_999)) as string[];
    const pipe = this.cmd.pipeline();
    for (const c of names) {
      pipe.hmget(this.metaKey(c), 'e', 'o', 't', 'b');
      pipe.xlen(this.streamKey(c));
    }
    const replies = (await pipe.exec()) ?? [];
    const out: ChannelInfo[] = [];
    const gone: string[] = [];
    names.forEach((channel, i) => {
      const [e, o, t, b] = (replies[2 * i]?.[1] ?? []) as (string | null)[];
      if (!e) {
        gone.push(channel);
        return;
      }
      out.push({
        channel,
        epoch: e,
        offset: Number(o ?? 0),
        history_size: Number(replies[2 * i + 1]?.[1] ?? 0),
        history_bytes: Number(b ?? 0),
        last_ts: Number(t ?? 0),
      });
    });
    if (gone.length > 0) await this.forget(gone);
    return out;
  }

  /** Channels whose keys expired (idle past the channel ttl): they leave the listing and the totals. */
  private async forget(channels: string[]): Promise<void> {
    const pipe = this.cmd.pipeline();
    for (const c of channels) pipe.zscore(this.sizesKey, c);
    const sizes = ((await pipe.exec()) ?? []).map((r) => Number(r[1] ?? 0));
    const tx = this.cmd.multi();
    channels.forEach((c, i) => {
      tx.zrem(this.channelsKey, c);
      tx.zrem(this.sizesKey, c);
      tx.hincrby(this.totalsKey, 'b', -sizes[i]!);
      tx.hincrby(this.totalsKey, 'h', -channelOverhead(c));
    });
    await tx.exec();
  }

  onEvent(listener: EventListener): () => void {
    this.listeners.push(listener);
    return () => {
      const i = this.listeners.indexOf(listener);
      if (i >= 0) this.listeners.splice(i, 1);
    };
  }

  async watch(pattern: string): Promise<void> {
    const n = this.patterns.get(pattern) ?? 0;
    this.patterns.set(pattern, n + 1);
    const name = this.redisName(pattern);
    if (isWildcard(pattern)) await this.sub.psubscribe(name);
    else {
      await this.sub.subscribe(name);
      // From here on every event of the channel reaches this node; remember where that starts, for a resync.
      if (!this.delivered.has(pattern)) {
        const pos = await this.position(pattern);
        if (!this.delivered.has(pattern)) this.delivered.set(pattern, { ...pos, seenAt: this.now() });
      }
    }
  }

  async unwatch(pattern: string): Promise<void> {
    const n = this.patterns.get(pattern) ?? 0;
    if (n > 1) {
      this.patterns.set(pattern, n - 1);
      return;
    }
    this.patterns.delete(pattern);
    // Two patterns may share a glob (`a.*`, `a.>`): keep the Redis subscription while another one needs it.
    const name = this.redisName(pattern);
    if ([...this.patterns.keys()].some((p) => this.redisName(p) === name)) return;
    if (isWildcard(pattern)) await this.sub.punsubscribe(name);
    else await this.sub.unsubscribe(name);
  }

  private watching(channel: string): boolean {
    if (this.patterns.has(channel)) return true;
    for (const p of this.patterns.keys()) if (isWildcard(p) && matchChannel(p, channel)) return true;
    return false;
  }

  /** A pub/sub message: the events of one publish script call (see PUBLISH in redis-scripts.ts). */
  private onMessage(message: string): void {
    let batch: PublishedBatch;
    try {
      batch = JSON.parse(message) as PublishedBatch;
    } catch {
      return;
    }
    const { c: channel, e: epoch, o: first, v: events } = batch;
    if (typeof channel !== 'string' || !Array.isArray(events)) return;
    for (let i = 0; i < events.length; i++) {
      const [ts, kind, data] = events[i]!;
      this.deliver({ channel, epoch, offset: first + i, ts, kind, data });
    }
  }

  /** Hands an event to the listeners unless this node already delivered it (an exact and a wildcard match, a resync). */
  private deliver(event: StoredEvent): void {
    if (!this.watching(event.channel)) return;
    const d = this.delivered.get(event.channel);
    if (d && d.epoch === event.epoch && event.offset <= d.offset) return;
    if (d) {
      d.epoch = event.epoch;
      d.offset = event.offset;
      d.seenAt = this.now();
    } else this.delivered.set(event.channel, { epoch: event.epoch, offset: event.offset, seenAt: this.now() });
    for (const l of this.listeners) l(event);
  }

  private onReady(): void {
    if (!this.connectedOnce) {
      this.connectedOnce = true;
      return;
    }
    const since = this.disconnectedAt || this.now();
    this.disconnectedAt = 0;
    this.options.log?.('info', 'reconnected to redis; re-reading watched channels', {});
    this.resyncing ??= this.resync(since)
      .catch((err: unknown) => this.options.log?.('error', 'resync failed', { err: String(err) }))
      .finally(() => {
        this.resyncing = undefined;
      });
  }

  /** Re-reads what this node may have missed while it was cut off from Redis. */
  private async resync(disconnectedAt: number): Promise<void> {
    const known = [...this.delivered].filter(([channel]) => this.watching(channel));
    for (const [channel, d] of known) {
      const h = await this.history(channel, { since: { epoch: d.epoch, offset: d.offset } });
      for (const e of h.events) this.deliver(e);
    }
    const wild = [...this.patterns.keys()].filter((p) => isWildcard(p));
    if (wild.length === 0) return;
    const recent = (await this.cmd.zrangebyscore(
      this.channelsKey,
      disconnectedAt - RESYNC_MARGIN_MS,
      '+inf',
    )) as string[];
    for (const channel of recent) {
      if (this.delivered.has(channel) || !wild.some((p) => matchChannel(p, channel))) continue;
      const h = await this.history(channel);
      for (const e of h.events) if (e.ts >= disconnectedAt - RESYNC_MARGIN_MS) this.deliver(e);
    }
  }

  /** Forgets delivery positions of channels this node no longer watches, or that were idle for 10 minutes. */
  private prune(): void {
    const idle = this.now() - 600_000;
    for (const [channel, d] of this.delivered) {
      if (!this.watching(channel) || (d.seenAt < idle && !this.patterns.has(channel))) this.delivered.delete(channel);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.pruneTimer);
    this.listeners.length = 0;
    await Promise.allSettled([this.sub.quit(), this.cmd.quit()]);
  }
}
