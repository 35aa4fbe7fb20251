/**
 * @module agent/agent
 * `Agent`: collects this host's metrics with the hub's own system collector every interval and streams them to the
 * hub over one WebSocket through `@vigil/client` (MessagePack, on the lean socket of agent/socket.ts), as
 * `agent_samples` publishes to `hosts.<id>`.
 *
 * - On each (re)connect it sends `agent_register` first, then the batches that waited, oldest first, one at a
 *   time: a batch leaves the buffer only once the hub has acknowledged it (the hub drops a batch it already took),
 *   so every batch is stored once and in order.
 * - While the hub is unreachable the batches wait in the SampleBuffer (memory, then disk, bounded by size and age).
 * - A batch the hub refuses for good (`bad_request`, `forbidden`, `host_limit`...) is dropped and reported; any
 *   other failure (disconnect, timeout) leaves it at the head for the next connection.
 * - Sent batches count as heartbeats; `agent_heartbeat` goes out only after `heartbeatMs` with nothing sent.
 */
import { VigilClient, type VigilClientError } from '@vigil/client';
import { SystemCollector } from '@vigil/server/collector';
import type { Batch, SampleBuffer } from './buffer.js';
import { registration } from './identity.js';
import { LeanWebSocket } from './socket.js';

export interface AgentOptions {
  url: string;
  token: string | undefined;
  hostId: string;
  intervalMs: number;
  heartbeatMs: number;
  labels: Record<string, string>;
  buffer: SampleBuffer;
  version: string;
  log: (line: string) => void;
}

/** Hub codes after which sending the same batch again cannot succeed. */
const REFUSED = new Set([
  'bad_request',
  'forbidden',
  'invalid_channel',
  'payload_too_large',
  'host_limit',
  'cardinality_limit',
  'unknown_method',
]);

export class Agent {
  private readonly client: VigilClient;
  private readonly collector = new SystemCollector({ includeProcess: false });
  private readonly channel: string;
  private timers: NodeJS.Timeout[] = [];
  private registered = false;
  /** The send loop under way, if any. */
  private pumping: Promise<void> | undefined;
  private lastSent = 0;
  private stopped = false;
  /** Batches the hub acknowledged, and batches it refused. */
  sent = 0;
  refused = 0;
  /** Acknowledged batches the hub had already taken (re-sent after a lost reply). */
  alreadyTaken = 0;

  constructor(private readonly o: AgentOptions) {
    this.channel = `hosts.${o.hostId}`;
    this.client = new VigilClient({
      url: o.url,
      encoding: 'msgpack',
      // Node's http/https/zlib layers that the `ws` package loads cost the agent about 8 MB of RSS: it speaks
      // WebSocket over node:net itself (agent/socket.ts), the token in the Authorization header.
      WebSocket: LeanWebSocket,
      tokenTransport: 'header',
      // WebSocket only: the SSE fallback would load Node's HTTP stack (fetch) that the lean socket keeps out.
      transports: ['websocket'],
      getToken: o.token === undefined ? undefined : () => o.token!,
      // The agent keeps its own buffer: nothing waits in the SDK's offline queue.
      offlineQueue: { maxItems: 0 },
      requestTimeoutMs: 15_000,
      // Back within 5 s of the hub's return, whatever the length of the outage.
      backoff: { minDelayMs: 250, maxDelayMs: 5_000 },
    });
    this.client.on('state', (s) => {
      if (s.newState === 'connected') return;
      this.registered = false;
      if (s.newState === 'reconnecting' && s.oldState !== 'reconnecting') {
        this.o.log(`hub unreachable (${s.code} ${s.reason}); buffering samples`);
      }
    });
    this.client.on('connected', () => {
      this.o.log(`connected to ${o.url} as host ${o.hostId}`);
      void this.pump();
    });
  }

  start(): void {
    this.client.connect();
    this.collect();
    this.timers.push(setInterval(() => this.collect(), this.o.intervalMs));
    this.timers.push(setInterval(() => this.heartbeat(), Math.max(100, Math.floor(this.o.heartbeatMs / 2))));
  }

  /**
   * Stops collecting, lets the batch in flight get its reply (for up to `graceMs`), and closes; what was not sent
   * stays on disk for the next run.
   */
  async stop(graceMs = 5_000): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.pumping, new Promise<void>((r) => (timer = setTimeout(r, graceMs)))]);
    clearTimeout(timer);
    this.o.buffer.spill();
    this.client.close();
    this.collector.close();
  }

  private collect(): void {
    const now = Date.now();
    const batch: Batch = {
      ts: now,
      samples: this.collector
        .collect(now)
        .map((s) =>
          Object.keys(s.labels).length === 0
            ? { name: s.name, value: s.value }
            : { name: s.name, value: s.value, labels: s.labels },
        ),
    };
    this.o.buffer.push(batch);
    void this.pump();
  }

  private heartbeat(): void {
    if (!this.registered || this.pumping || Date.now() - this.lastSent < this.o.heartbeatMs) return;
    this.client
      .publish(this.channel, null, 'agent_heartbeat')
      .then(() => {
        this.lastSent = Date.now();
      })
      .catch(() => {});
  }

  private pump(): Promise<void> {
    if (this.pumping || this.stopped) return this.pumping ?? Promise.resolve();
    this.pumping = this.sendAll().finally(() => {
      this.pumping = undefined;
    });
    return this.pumping;
  }

  private async sendAll(): Promise<void> {
    try {
      while (this.client.state === 'connected' && !this.stopped) {
        if (!this.registered) {
          await this.client.publish(
            this.channel,
            registration(this.o.version, this.o.intervalMs, this.o.labels),
            'agent_register',
          );
          this.registered = true;
          this.lastSent = Date.now();
        }
        const batch = this.o.buffer.peek();
        if (batch === undefined) break;
        try {
          const reply = await this.client.publish(this.channel, batch, 'agent_samples');
          this.sent++;
          if (reply.offset === 0 && batch.samples.length > 0) this.alreadyTaken++;
        } catch (err) {
          const code = (err as VigilClientError).code;
          if (!REFUSED.has(code)) throw err;
          this.refused++;
          this.o.log(`the hub refused a batch of ${batch.samples.length} samples: ${code}: ${(err as Error).message}`);
        }
        this.o.buffer.shift();
        this.lastSent = Date.now();
      }
    } catch (err) {
      const code = (err as VigilClientError).code;
      if (REFUSED.has(code)) this.o.log(`registration refused: ${code}: ${(err as Error).message}`);
      // Otherwise the connection dropped: the next 'connected' resumes from the same batch.
    }
  }
}
