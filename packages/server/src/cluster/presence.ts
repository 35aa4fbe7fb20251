/**
 * @module presence
 * The nodes of a cluster and what each one holds: every node writes its figures (address, uptime, connections,
 * subscriptions, subscribers per channel) to Redis every `heartbeatMs`, with an expiry of three heartbeats, so a node
 * that dies leaves the list by itself. The same heartbeat renews a leader lease (`SET NX PX`): one node at a time
 * holds it, and when its holder stops renewing, another node takes it within the lease.
 *
 * A hub on the memory engine is a cluster of one: `LocalPresence` reports itself, always the leader.
 */
import { Redis } from 'ioredis';

/** One node's figures, as `GET /api/v1/cluster` and `cluster.nodes` report them. */
export interface NodeInfo {
  id: string;
  address: string;
  started_at: number;
  uptime_s: number;
  connections: number;
  subscriptions: number;
  leader: boolean;
  /** ms since the epoch of the node's last heartbeat. */
  last_heartbeat: number;
}

/** What a node tells the others about itself. */
export interface NodeFigures {
  address: string;
  connections: number;
  subscriptions: number;
  /** Local subscribers per exact channel (the busiest ones, at most `MAX_CHANNELS_REPORTED`). */
  subscribers: Record<string, number>;
}

export interface ClusterView {
  readonly nodeId: string;
  nodes(): Promise<NodeInfo[]>;
  /** Subscribers of `channel` on every live node. */
  subscribers(channel: string): Promise<number>;
  isLeader(): boolean;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export const MAX_CHANNELS_REPORTED = 1000;

export class LocalPresence implements ClusterView {
  private readonly startedAt = Date.now();

  constructor(
    readonly nodeId: string,
    private readonly figures: () => NodeFigures,
  ) {}

  async nodes(): Promise<NodeInfo[]> {
    const f = this.figures();
    const now = Date.now();
    return [
      {
        id: this.nodeId,
        address: f.address,
        started_at: this.startedAt,
        uptime_s: Math.round((now - this.startedAt) / 1000),
        connections: f.connections,
        subscriptions: f.subscriptions,
        leader: true,
        last_heartbeat: now,
      },
    ];
  }

  async subscribers(channel: string): Promise<number> {
    return this.figures().subscribers[channel] ?? 0;
  }

  isLeader(): boolean {
    return true;
  }

  async start(): Promise<void> {}

  async stop(): Promise<void> {}
}

interface StoredNode extends Omit<NodeInfo, 'leader' | 'uptime_s'> {
  subscribers: Record<string, number>;
}

/** Renews the lease only while this node holds it; frees it only if this node holds it. */
const RENEW = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0`;
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;

export interface RedisPresenceOptions {
  url: string;
  prefix: string;
  nodeId: string;
  figures: () => NodeFigures;
  /** Default 2 s; a node is gone after three missed heartbeats. */
  heartbeatMs?: number;
  /** How long the leader lease lasts without renewal. Default 5 s. */
  leaseMs?: number;
  onLeadership?: (leader: boolean) => void;
  log?: (level: 'warn' | 'info', msg: string, extra?: Record<string, unknown>) => void;
}

export class RedisPresence implements ClusterView {
  readonly nodeId: string;
  private readonly redis: Redis;
  private readonly heartbeatMs: number;
  private readonly leaseMs: number;
  private readonly startedAt = Date.now();
  private timer: NodeJS.Timeout | undefined;
  private leader = false;

  constructor(private readonly o: RedisPresenceOptions) {
    this.nodeId = o.nodeId;
    this.heartbeatMs = o.heartbeatMs ?? 2000;
    this.leaseMs = o.leaseMs ?? 5000;
    this.redis = new Redis(o.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
    this.redis.on('error', (err: Error) => o.log?.('warn', 'redis (presence)', { err: err.message }));
  }

  private key(name: string): string {
    return `${this.o.prefix}${name}`;
  }

  async start(): Promise<void> {
    await this.redis.connect();
    await this.beat();
    this.timer = setInterval(() => {
      this.beat().catch((err: unknown) => {
        this.o.log?.('warn', 'heartbeat failed', { err: String(err) });
        this.setLeader(false);
      });
    }, this.heartbeatMs).unref();
  }

  /** Writes this node's figures and takes or renews the leader lease. */
  private async beat(): Promise<void> {
    const now = Date.now();
    const f = this.o.figures();
    const node: StoredNode = {
      id: this.nodeId,
      address: f.address,
      started_at: this.startedAt,
      connections: f.connections,
      subscriptions: f.subscriptions,
      last_heartbeat: now,
      subscribers: f.subscribers,
    };
    const expiry = 3 * this.heartbeatMs;
    const lease = this.key('leader');
    const [, , , taken, renewed] = (await this.redis
      .multi()
      .set(this.key(`node:${this.nodeId}`), JSON.stringify(node), 'PX', expiry)
      .zadd(this.key('nodes'), now, this.nodeId)
      .zremrangebyscore(this.key('nodes'), '-inf', now - expiry)
      .set(lease, this.nodeId, 'PX', this.leaseMs, 'NX')
      .eval(RENEW, 1, lease, this.nodeId, this.leaseMs)
      .exec()) as [Error | null, unknown][];
    this.setLeader(taken?.[1] === 'OK' || renewed?.[1] === 1);
  }

  private setLeader(leader: boolean): void {
    if (leader === this.leader) return;
    this.leader = leader;
    this.o.log?.('info', leader ? 'this node is the leader' : 'this node is no longer the leader', {});
    this.o.onLeadership?.(leader);
  }

  isLeader(): boolean {
    return this.leader;
  }

  private async stored(): Promise<StoredNode[]> {
    const ids = await this.redis.zrangebyscore(this.key('nodes'), Date.now() - 3 * this.heartbeatMs, '+inf');
    if (ids.length === 0) return [];
    const raw = await this.redis.mget(...ids.map((id) => this.key(`node:${id}`)));
    const out: StoredNode[] = [];
    for (const r of raw) if (r) out.push(JSON.parse(r) as StoredNode);
    return out;
  }

  async nodes(): Promise<NodeInfo[]> {
    const [nodes, leader] = await Promise.all([this.stored(), this.redis.get(this.key('leader'))]);
    const now = Date.now();
    return nodes
      .map(({ subscribers: _s, ...n }) => ({
        ...n,
        uptime_s: Math.round((now - n.started_at) / 1000),
        leader: n.id === leader,
      }))
      .sort((a, b) => a.id.localeCompare(b.id));
  }

  async subscribers(channel: string): Promise<number> {
    let n = 0;
    for (const node of await this.stored()) n += node.subscribers[channel] ?? 0;
    return n;
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    try {
      await this.redis
        .multi()
        .del(this.key(`node:${this.nodeId}`))
        .zrem(this.key('nodes'), this.nodeId)
        .eval(RELEASE, 1, this.key('leader'), this.nodeId)
        .exec();
    } catch {
      // Redis is gone: the entries expire by themselves.
    }
    this.setLeader(false);
    this.redis.disconnect();
  }
}
