/**
 * @module sample-relay
 * What followers take in reaches the leader, once, even across a leader handover. A follower appends what it took
 * in to the Redis Stream `<prefix>relay` (samples batched per event-loop turn, at most `maxBatch` a message; alert
 * actions one a message). The leader reads the stream from where the leader before it stopped: it removes what it
 * has handled (`XTRIM MINID`), so a node that takes the lease starts at the oldest entry left, which is exactly what
 * no leader handled yet (what arrived while no node held the lease, and what the dead leader took but had not
 * finished). Relayed samples are ingested as if posted to the leader (evaluated, never relayed again); a node that
 * becomes leader skips its own entries (it evaluates its registry when it takes the lease).
 *
 * Actions: an acknowledgement, a changed rule or silence (`tell`, the follower stored what it could), and an external
 * alert (`ask`: `POST /api/v1/alerts`, `task_stalled`, `host_down` raised on a follower), which only the leader's
 * engine raises; its answer (the alert) comes back on the follower's reply channel `<prefix>relay:reply:<node>`.
 * An external alert is idempotent on the leader (same name and labels, same alert), so an entry handled twice across
 * a handover still makes one alert and one notification.
 *
 * The stream is capped at `maxLength` entries (about): with no leader for long, the oldest are dropped first.
 */
import { randomBytes } from 'node:crypto';
import { VigilError } from '@vigil/protocol';
import { Redis } from 'ioredis';
import type { ExternalAlertInput } from '../alerts/types.js';
import type { Sample } from '../metrics/sample.js';

export interface SampleRelayOptions {
  url: string;
  prefix: string;
  nodeId: string;
  /** Whether this node leads now. */
  isLeader: () => boolean;
  /** Ingests relayed samples (on the leader). */
  ingest: (samples: Sample[]) => void;
  /** Applies an action a follower relayed (on the leader); the value is the answer to `ask`. */
  apply?: (action: LeaderAction) => Promise<unknown> | undefined;
  /** Most samples in one message; default 5,000. */
  maxBatch?: number;
  /** Most entries the stream keeps (approximately); default 100,000. */
  maxLength?: number;
  /** How long `ask` waits for a leader's answer, ms; default 20,000 (longer than a handover). */
  askTimeoutMs?: number;
  log?: (level: 'warn' | 'error', msg: string, extra?: Record<string, unknown>) => void;
}

/** What a follower asks of the leader's alert engine and incidents. */
export type LeaderAction =
  | { op: 'ack'; id: string; by: string; comment?: string | undefined }
  | { op: 'reload' }
  | { op: 'incident'; id: string }
  | { op: 'external'; input: ExternalAlertInput };

interface RelayMessage {
  from: string;
  samples?: Sample[];
  action?: LeaderAction;
  /** Set by `ask`: the token the leader's answer carries. */
  ask?: string;
}

interface Reply {
  token: string;
  ok: boolean;
  value?: unknown;
  error?: string;
}

const SEVERITIES = new Set(['critical', 'error', 'warning', 'info']);

function isStringRecord(v: unknown): v is Record<string, string> {
  return (
    v !== null && typeof v === 'object' && !Array.isArray(v) && Object.values(v).every((x) => typeof x === 'string')
  );
}

function isExternal(v: unknown): v is ExternalAlertInput {
  if (v === null || typeof v !== 'object') return false;
  const a = v as Record<string, unknown>;
  return (
    typeof a.name === 'string' &&
    (a.status === 'firing' || a.status === 'resolved') &&
    (a.severity === undefined || (typeof a.severity === 'string' && SEVERITIES.has(a.severity))) &&
    (a.labels === undefined || isStringRecord(a.labels)) &&
    (a.annotations === undefined || isStringRecord(a.annotations)) &&
    (a.starts_at === undefined || typeof a.starts_at === 'number') &&
    (a.ends_at === undefined || typeof a.ends_at === 'number') &&
    (a.value === undefined || a.value === null || typeof a.value === 'number')
  );
}

function isAction(v: unknown): v is LeaderAction {
  if (v === null || typeof v !== 'object') return false;
  const a = v as Record<string, unknown>;
  if (a.op === 'reload') return true;
  if (a.op === 'incident') return typeof a.id === 'string';
  if (a.op === 'external') return isExternal(a.input);
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

/** The stream id just after `id` (`ms-seq`), for `XTRIM MINID` to drop `id` itself. */
function nextId(id: string): string {
  const dash = id.indexOf('-');
  return `${id.slice(0, dash)}-${BigInt(id.slice(dash + 1)) + 1n}`;
}

type StreamReply = [key: string, entries: [id: string, fields: string[]][]][] | null;

export class SampleRelay {
  private readonly pub: Redis;
  private readonly sub: Redis;
  private readonly reader: Redis;
  private readonly stream: string;
  private readonly replyChannel: string;
  private readonly maxBatch: number;
  private readonly maxLength: number;
  private readonly askTimeoutMs: number;
  private pending: Sample[] = [];
  private scheduled = false;
  private readonly asks = new Map<string, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private stopped = false;
  private consuming: Promise<void> | undefined;
  relayed = 0;
  received = 0;
  /** Entries the leader handled (samples messages and actions). */
  handled = 0;

  constructor(private readonly o: SampleRelayOptions) {
    this.stream = `${o.prefix}relay`;
    this.replyChannel = `${o.prefix}relay:reply:${o.nodeId}`;
    this.maxBatch = o.maxBatch ?? 5000;
    this.maxLength = o.maxLength ?? 100_000;
    this.askTimeoutMs = o.askTimeoutMs ?? 20_000;
    this.pub = new Redis(o.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
    this.sub = new Redis(o.url, { lazyConnect: true });
    this.reader = new Redis(o.url, { lazyConnect: true });
    for (const r of [this.pub, this.sub, this.reader]) {
      r.on('error', (err: Error) => o.log?.('warn', 'redis (sample relay)', { err: err.message }));
    }
  }

  async start(): Promise<void> {
    // A relay before start (a sample taken in while the parts start) has already begun connecting `pub`.
    await Promise.all([this.pub, this.sub, this.reader].map((r) => (r.status === 'wait' ? r.connect() : undefined)));
    this.sub.on('message', (_channel: string, text: string) => this.answered(text));
    await this.sub.subscribe(this.replyChannel);
    this.consuming = this.consume();
  }

  /** Relays samples this node took in, unless it leads (then it evaluated them itself). */
  relay(samples: readonly Sample[]): void {
    if (this.o.isLeader()) return;
    for (const s of samples) this.pending.push(s);
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.send());
  }

  private append(msg: RelayMessage): Promise<unknown> {
    return this.pub.xadd(this.stream, 'MAXLEN', '~', String(this.maxLength), '*', 'm', JSON.stringify(msg));
  }

  private send(): void {
    this.scheduled = false;
    const all = this.pending;
    this.pending = [];
    for (let i = 0; i < all.length; i += this.maxBatch) {
      const samples = all.slice(i, i + this.maxBatch);
      this.relayed += samples.length;
      this.append({ from: this.o.nodeId, samples }).catch((err: unknown) => {
        this.o.log?.('warn', 'could not relay samples to the leader', { err: String(err), samples: samples.length });
      });
    }
  }

  /** Tells the leader of an action taken on this node (a no-op on the leader, which took it itself). */
  tell(action: LeaderAction): void {
    if (this.o.isLeader()) return;
    this.append({ from: this.o.nodeId, action }).catch((err: unknown) => {
      this.o.log?.('warn', 'could not relay an alert action to the leader', { err: String(err), op: action.op });
    });
  }

  /**
   * Hands an action to the leader and resolves with its answer. Waits through a handover (the entry stays in the
   * stream until a leader handles it); fails with `unavailable` after `askTimeoutMs`.
   */
  async ask(action: LeaderAction): Promise<unknown> {
    const token = randomBytes(8).toString('hex');
    const answer = new Promise<unknown>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.asks.delete(token);
        reject(new VigilError('unavailable', 'No cluster leader answered in time; retry'));
      }, this.askTimeoutMs);
      timer.unref();
      this.asks.set(token, {
        resolve: (v) => {
          clearTimeout(timer);
          resolve(v);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
    });
    try {
      await this.append({ from: this.o.nodeId, action, ask: token });
    } catch (err) {
      this.asks.get(token)?.reject(new VigilError('unavailable', `Could not reach the cluster leader: ${String(err)}`));
      this.asks.delete(token);
    }
    return answer;
  }

  private answered(text: string): void {
    let reply: Partial<Reply>;
    try {
      reply = JSON.parse(text) as Partial<Reply>;
    } catch {
      return;
    }
    if (typeof reply.token !== 'string') return;
    const waiting = this.asks.get(reply.token);
    if (waiting === undefined) return;
    this.asks.delete(reply.token);
    if (reply.ok === true) waiting.resolve(reply.value);
    else waiting.reject(new VigilError('internal', `The cluster leader could not do it: ${String(reply.error)}`));
  }

  /** The leader's loop: reads what followers appended, from the oldest entry left, and trims what it handled. */
  private async consume(): Promise<void> {
    let cursor: string | undefined;
    while (!this.stopped) {
      try {
        if (!this.o.isLeader()) {
          cursor = undefined;
          await new Promise((r) => setTimeout(r, 200));
          continue;
        }
        cursor ??= '0';
        const res = (await this.reader.xread(
          'COUNT',
          '500',
          'BLOCK',
          '500',
          'STREAMS',
          this.stream,
          cursor,
        )) as StreamReply;
        if (res === null || this.stopped) continue;
        const applying: Promise<unknown>[] = [];
        for (const [, entries] of res) {
          for (const [id, fields] of entries) {
            // Leadership may have passed while the read blocked: leave the rest to the new leader.
            if (!this.o.isLeader()) break;
            const applied = this.handle(fields[1] ?? '');
            if (applied) applying.push(applied);
            cursor = id;
          }
        }
        // An action leaves the stream once applied: the next leader handles those this one did not finish.
        await Promise.allSettled(applying);
        if (cursor !== '0') await this.pub.xtrim(this.stream, 'MINID', nextId(cursor));
      } catch (err) {
        if (this.stopped) return;
        this.o.log?.('warn', 'could not read the relay stream', { err: String(err) });
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  }

  /** Handles one entry; for an action, resolves once it is applied (and answered). */
  private handle(text: string): Promise<unknown> | undefined {
    let msg: unknown;
    try {
      msg = JSON.parse(text);
    } catch {
      this.o.log?.('warn', 'relayed entry: not JSON; dropped', {});
      return;
    }
    const m = msg as Partial<RelayMessage>;
    if (typeof m.from !== 'string') return;
    this.handled++;
    if (isAction(m.action)) {
      const from = m.from;
      const token = typeof m.ask === 'string' ? m.ask : undefined;
      // An action this node took as a follower is applied too: no leader had done it.
      let result: Promise<unknown> | undefined;
      try {
        result = this.o.apply?.(m.action);
      } catch (err) {
        result = Promise.reject(err);
      }
      return Promise.resolve(result).then(
        (value) => token && this.reply(from, { token, ok: true, value }),
        (err: unknown) => {
          this.o.log?.('warn', 'could not apply an action relayed by a follower', { err: String(err) });
          if (token) this.reply(from, { token, ok: false, error: String(err) });
        },
      );
    }
    // Samples this node relayed before it led are in its registry already (evaluated when it took the lease).
    if (m.from === this.o.nodeId || !Array.isArray(m.samples)) return;
    const samples = m.samples.filter(isSample);
    if (samples.length === 0) return;
    this.received += samples.length;
    this.o.ingest(samples);
  }

  private reply(node: string, reply: Reply): void {
    this.pub.publish(`${this.o.prefix}relay:reply:${node}`, JSON.stringify(reply)).catch((err: unknown) => {
      this.o.log?.('warn', 'could not answer a follower', { err: String(err) });
    });
  }

  async stop(): Promise<void> {
    if (this.pending.length > 0) this.send();
    this.stopped = true;
    for (const [token, waiting] of this.asks) {
      this.asks.delete(token);
      waiting.reject(new VigilError('unavailable', 'The node is stopping'));
    }
    this.reader.disconnect();
    await this.consuming;
    this.sub.disconnect();
    await this.pub.quit().catch(() => this.pub.disconnect());
  }
}
