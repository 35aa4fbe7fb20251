/**
 * @module fleet-relay
 * The host registry across the nodes of a cluster. An agent holds one WebSocket to one node; that node (the host's
 * `node`) takes its publishes and tells the others on the Redis channel `<prefix>fleet`: at once when a host appears,
 * registers or changes status, and once per status check for hosts that only reported. Every node merges what it
 * hears into its own registry (fleet/service.ts `absorb`), so `hosts.list`, `/api/v1/hosts` and the snapshots of
 * `nodes`, `resources` and `topology` list every agent of the cluster, each with the hub node it is connected to.
 * A host removed on one node is removed on all.
 */
import { Redis } from 'ioredis';
import type { HostRecord } from '../fleet/host-store.js';

export interface FleetRelayOptions {
  url: string;
  prefix: string;
  nodeId: string;
  log?: (level: 'warn' | 'error', msg: string, extra?: Record<string, unknown>) => void;
}

/** What a node tells the others. */
export interface FleetMessage {
  from: string;
  hosts?: HostRecord[];
  removed?: string[];
}

/** Most host records in one message. */
const MAX_PER_MESSAGE = 500;

function isRecord(v: unknown): v is HostRecord {
  if (v === null || typeof v !== 'object') return false;
  const r = v as { host?: unknown; lastBatchTs?: unknown };
  if (typeof r.lastBatchTs !== 'number' || r.host === null || typeof r.host !== 'object') return false;
  const h = r.host as Record<string, unknown>;
  return (
    typeof h.id === 'string' &&
    (h.source === 'agent' || h.source === 'hub') &&
    (h.status === 'up' || h.status === 'stale' || h.status === 'down') &&
    h.labels !== null &&
    typeof h.labels === 'object' &&
    typeof h.first_seen === 'number' &&
    typeof h.last_seen === 'number' &&
    typeof h.status_since === 'number' &&
    typeof h.node === 'string' &&
    (h.info === null || typeof h.info === 'object') &&
    (h.summary === null || typeof h.summary === 'object')
  );
}

export class FleetRelay {
  private readonly pub: Redis;
  private readonly sub: Redis;
  private readonly channel: string;
  private handler: ((msg: FleetMessage) => void) | undefined;
  sent = 0;
  received = 0;

  constructor(private readonly o: FleetRelayOptions) {
    this.channel = `${o.prefix}fleet`;
    this.pub = new Redis(o.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
    this.sub = new Redis(o.url, { lazyConnect: true });
    for (const r of [this.pub, this.sub]) {
      r.on('error', (err: Error) => o.log?.('warn', 'redis (fleet relay)', { err: err.message }));
    }
  }

  /** Where the other nodes' messages go (set before `start`). */
  onMessage(handler: (msg: FleetMessage) => void): void {
    this.handler = handler;
  }

  async start(): Promise<void> {
    await Promise.all([this.pub, this.sub].map((r) => (r.status === 'wait' ? r.connect() : undefined)));
    this.sub.on('message', (_channel: string, text: string) => this.receive(text));
    await this.sub.subscribe(this.channel);
  }

  /** Tells the other nodes of these hosts (their current records). */
  share(hosts: readonly HostRecord[]): void {
    for (let i = 0; i < hosts.length; i += MAX_PER_MESSAGE) {
      this.send({ from: this.o.nodeId, hosts: hosts.slice(i, i + MAX_PER_MESSAGE) });
    }
  }

  /** Tells the other nodes that these hosts left the registry. */
  remove(ids: readonly string[]): void {
    if (ids.length > 0) this.send({ from: this.o.nodeId, removed: [...ids] });
  }

  private send(msg: FleetMessage): void {
    this.sent++;
    this.pub.publish(this.channel, JSON.stringify(msg)).catch((err: unknown) => {
      this.o.log?.('warn', 'could not tell the other nodes of hosts', { err: String(err) });
    });
  }

  private receive(text: string): void {
    let msg: unknown;
    try {
      msg = JSON.parse(text);
    } catch {
      this.o.log?.('warn', 'fleet relay: a message that is not JSON; dropped', {});
      return;
    }
    const m = msg as Partial<FleetMessage>;
    if (typeof m.from !== 'string' || m.from === this.o.nodeId) return;
    const hosts = Array.isArray(m.hosts) ? m.hosts.filter(isRecord) : [];
    const removed = Array.isArray(m.removed) ? m.removed.filter((x): x is string => typeof x === 'string') : [];
    if (hosts.length + removed.length === 0) return;
    this.received++;
    this.handler?.({ from: m.from, hosts, removed });
  }

  async stop(): Promise<void> {
    await Promise.allSettled([this.pub.quit(), this.sub.quit()]);
  }
}
