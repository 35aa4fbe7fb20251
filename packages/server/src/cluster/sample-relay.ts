/**
 * @module sample-relay
 * Samples ingested on any node reach the leader's alert evaluator. A node that follows publishes what it took in on
 * the Redis channel `<prefix>samples` (batched per event-loop turn, at most `maxBatch` samples a message); the leader
 * listens and ingests them as if posted to it (stored in its metric store, evaluated, never relayed again). A node
 * keeps and serves its own samples either way. Samples relayed while no node holds the lease (at most one lease
 * after the leader dies) are stored on the node that took them in but evaluated by no one.
 *
 * The same path carries the alert actions a follower takes (an acknowledgement, a changed rule or silence): the
 * follower stores what it can and tells the leader, whose engine applies it.
 */
import { Redis } from 'ioredis';
import type { Sample } from '../metrics/sample.js';

export interface SampleRelayOptions {
  url: string;
  prefix: string;
  nodeId: string;
  /** Whether this node leads now. */
  isLeader: () => boolean;
  /** Ingests relayed samples (on the leader). */
  ingest: (samples: Sample[]) => void;
  /** Applies an action a follower relayed (on the leader). */
  apply?: (action: LeaderAction) => void;
  /** Most samples in one message; default 5,000. */
  maxBatch?: number;
  log?: (level: 'warn' | 'error', msg: string, extra?: Record<string, unknown>) => void;
}

/** What a follower asks of the leader's alert engine and incidents. */
export type LeaderAction =
  | { op: 'ack'; id: string; by: string; comment?: string | undefined }
  | { op: 'reload' }
  | { op: 'incident'; id: string };

interface RelayMessage {
  from: string;
  samples?: Sample[];
  action?: LeaderAction;
}

function isAction(v: unknown): v is LeaderAction {
  if (v === null || typeof v !== 'object') return false;
  const a = v as Record<string, unknown>;
  if (a.op === 'reload') return true;
  if (a.op === 'incident') return typeof a.id === 'string';
  return (
    a.op === 'ack' &&
    typeof a.id === 'string' &&
    typeof a.by === 'string' &&
    (a.comment === undefined || typeof a.comment === 'string')
  );
}

function isSample(v: unknown): v is Sample {
  if (v === null || typeof v !== 'object') return false;
  const s = v as Record<string, unknown>;
  return (
    typeof s.name === 'string' &&
    typeof s.value === 'number' &&
    typeof s.ts === 'number' &&
    s.labels !== null &&
    typeof s.labels === 'object'
  );
}

export class SampleRelay {
  private readonly pub: Redis;
  private readonly sub: Redis;
  private readonly channel: string;
  private readonly maxBatch: number;
  private pending: Sample[] = [];
  private scheduled = false;
  relayed = 0;
  received = 0;

  constructor(private readonly o: SampleRelayOptions) {
    this.channel = `${o.prefix}samples`;
    this.maxBatch = o.maxBatch ?? 5000;
    this.pub = new Redis(o.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
    this.sub = new Redis(o.url, { lazyConnect: true });
    for (const r of [this.pub, this.sub]) {
      r.on('error', (err: Error) => o.log?.('warn', 'redis (sample relay)', { err: err.message }));
    }
  }

  async start(): Promise<void> {
    // A relay before start (a sample taken in while the parts start) has already begun connecting `pub`.
    await Promise.all([this.pub, this.sub].map((r) => (r.status === 'wait' ? r.connect() : undefined)));
    this.sub.on('message', (_channel: string, text: string) => this.receive(text));
    await this.sub.subscribe(this.channel);
  }

  /** Relays samples this node took in, unless it leads (then it evaluated them itself). */
  relay(samples: readonly Sample[]): void {
    if (this.o.isLeader()) return;
    for (const s of samples) this.pending.push(s);
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.send());
  }

  private send(): void {
    this.scheduled = false;
    const all = this.pending;
    this.pending = [];
    for (let i = 0; i < all.length; i += this.maxBatch) {
      const samples = all.slice(i, i + this.maxBatch);
      const msg: RelayMessage = { from: this.o.nodeId, samples };
      this.relayed += samples.length;
      this.pub.publish(this.channel, JSON.stringify(msg)).catch((err: unknown) => {
        this.o.log?.('warn', 'could not relay samples to the leader', { err: String(err), samples: samples.length });
      });
    }
  }

  /** Tells the leader of an action taken on this node (a no-op on the leader, which took it itself). */
  tell(action: LeaderAction): void {
    if (this.o.isLeader()) return;
    const msg: RelayMessage = { from: this.o.nodeId, action };
    this.pub.publish(this.channel, JSON.stringify(msg)).catch((err: unknown) => {
      this.o.log?.('warn', 'could not relay an alert action to the leader', { err: String(err), op: action.op });
    });
  }

  private receive(text: string): void {
    if (!this.o.isLeader()) return;
    let msg: unknown;
    try {
      msg = JSON.parse(text);
    } catch {
      this.o.log?.('warn', 'relayed samples: not JSON; dropped', {});
      return;
    }
    const m = msg as Partial<RelayMessage>;
    if (m.from === this.o.nodeId) return;
    if (isAction(m.action)) {
      this.o.apply?.(m.action);
      return;
    }
    if (!Array.isArray(m.samples)) return;
    const samples = m.samples.filter(isSample);
    if (samples.length === 0) return;
    this.received += samples.length;
    this.o.ingest(samples);
  }

  async stop(): Promise<void> {
    if (this.pending.length > 0) this.send();
    this.sub.disconnect();
    await this.pub.quit().catch(() => this.pub.disconnect());
  }
}
