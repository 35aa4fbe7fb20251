/**
 * @module sse
 * Server-Sent Events fallback at `/api/v1/stream?channels=a,b.*[&filter=<json>]`, through the gateway's subscription
 * manager (the same subscribe, recovery and fan-out as WebSocket; see gateway/subscriptions.ts). The stream opens with
 * `event: subscribed` (the subscribe result: each pattern's epoch and offset). Each event's `id:` is
 * `<channel>@<epoch>:<offset>`; its `data:` is the same event frame JSON the WebSocket carries. `Last-Event-ID`
 * (header, or `last_event_id` query) resumes: the named channel exactly by offset, the other concrete channels of the
 * request by time (events newer than the one named). `recover` (JSON, as in the WebSocket subscribe) resumes any
 * number of concrete channels exactly by offset; `snapshot=true` asks for snapshots (`event: snapshot`). A stream
 * whose client stops reading is ended once its buffer passes `http.sse_max_queue_bytes`.
 */
import { Value } from '@sinclair/typebox/value';
import {
  FilterSchema,
  isValidChannel,
  isValidPattern,
  isWildcard,
  matchChannel,
  type SubscribeFrame,
  VigilError,
} from '@vigil/protocol';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { bearerToken } from '../auth/credentials.js';
import { access, named } from '../auth/route-access.js';
import { revokedSubscriptions } from '../auth/ws.js';
import type { Broker, StreamPosition } from '../broker/broker.js';
import type { Gateway } from '../gateway/gateway.js';
import type { ConnectionLimits, Refusal } from '../limits/connection-limits.js';
import type { HubCounters } from '../observability/hub-counters.js';
import { SseStream } from './sse-stream.js';

/** What the SSE route needs from the hub. */
export interface SseHost {
  readonly broker: Broker;
  readonly gateway: Gateway;
  readonly counters: HubCounters;
  readonly limits: ConnectionLimits;
  readonly maxQueueBytes: number;
}

const LAST_ID = /^(.+)@([^:@]+):(\d+)$/;

interface StreamQuery {
  channels?: string;
  filter?: string;
  last_event_id?: string;
  recover?: string;
  snapshot?: 'true' | 'false';
  token?: string;
}

export function sseRoutes(app: FastifyInstance, host: SseHost): void {
  const streams = new Set<SseStream>();
  const { gateway, counters } = host;

  const heartbeat = setInterval(() => {
    for (const s of streams) s.ping();
  }, 15_000).unref();

  /** The token each authenticated stream was opened with, and its patterns, for `recheckCredentials`. */
  const credentials = new Map<SseStream, { token: string; patterns: string[] }>();
  gateway.onRecheck(async (auth) => {
    const total = { checked: 0, closed: 0 };
    await Promise.all(
      [...credentials].map(async ([stream, held]) => {
        total.checked++;
        const principal = await auth.verify(held.token).catch(() => undefined);
        if (!streams.has(stream)) return;
        if (principal === undefined || revokedSubscriptions(principal, held.patterns).length > 0) {
          close(stream);
          total.closed++;
        }
      }),
    );
    return total;
  });

  const close = (stream: SseStream) => {
    credentials.delete(stream);
    if (!streams.delete(stream)) return;
    gateway.subscriptions.removeAll(stream);
    stream.end();
  };

  app.addHook('preClose', async () => {
    clearInterval(heartbeat);
    for (const s of [...streams]) close(s);
  });

  app.get<{ Querystring: StreamQuery }>(
    '/api/v1/stream',
    {
      config: access('read', named('query', 'channels')),
      schema: {
        summary: 'Server-Sent Events stream of one or more channels (resumable with Last-Event-ID)',
        tags: ['stream'],
        querystring: {
          type: 'object',
          properties: {
            channels: { type: 'string', description: 'Comma-separated channel names or patterns.' },
            filter: { type: 'string', description: 'URL-encoded JSON subscription filter.' },
            last_event_id: { type: 'string', description: 'Same as the Last-Event-ID header.' },
            recover: {
              type: 'string',
              description: 'URL-encoded JSON {channel: {epoch, offset}}: resume these channels after these offsets.',
            },
            snapshot: {
              type: 'string',
              enum: ['true', 'false'],
              description: 'true: send the snapshot of each stateful channel first (event: snapshot).',
            },
          },
          required: ['channels'],
        },
      },
    },
    async (req, reply) => {
      const patterns = [...new Set((req.query.channels ?? '').split(',').filter((c) => c.length > 0))];
      if (patterns.length === 0) throw new VigilError('bad_request', '`channels` is empty');
      for (const p of patterns) {
        if (!isValidPattern(p))
          throw new VigilError('invalid_channel', `Invalid channel or pattern '${String(p).slice(0, 300)}'`);
      }
      let filter: unknown;
      if (req.query.filter) {
        try {
          filter = JSON.parse(req.query.filter);
        } catch {
          throw new VigilError('bad_request', '`filter` is not JSON');
        }
        if (!Value.Check(FilterSchema, filter)) {
          const first = Value.Errors(FilterSchema, filter).First();
          throw new VigilError('bad_request', `filter${first?.path ?? ''} ${first?.message ?? 'is invalid'}`);
        }
      }
      const explicit = req.query.recover === undefined ? undefined : parseRecover(req.query.recover, patterns);
      const lastId = (req.headers['last-event-id'] as string | undefined) ?? req.query.last_event_id;
      const recover = lastId ? await resumePositions(host.broker, patterns, lastId) : undefined;
      const { limits } = host;
      const credential = req.principal?.name;
      // A stream's patterns are charged to its client's subscription budget, as a WebSocket subscribe is.
      const waitMs = limits.chargeSubscriptions(
        credential === undefined ? `ip:${req.ip}` : `credential:${credential}`,
        patterns.length,
      );
      if (waitMs > 0) {
        reply.header('retry-after', String(Math.ceil(waitMs / 1000)));
        throw new VigilError(
          'rate_limited',
          `Subscription changes of this client, over all its connections, are past limits.subscription_changes_per_s; ${patterns.length} patterns refused`,
          { retry_after_ms: waitMs },
        );
      }
      const refused = limits.admit(req.ip);
      if (refused) overLimit(reply, refused);
      if (credential !== undefined) {
        const over = limits.claim(credential);
        if (over) {
          limits.release(req.ip);
          overLimit(reply, over);
        }
      }
      req.raw.once('close', () => {
        limits.release(req.ip);
        if (credential !== undefined) limits.unclaim(credential);
      });

      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-transform',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
      });
      res.write('retry: 2000\n\n');
      const stream = new SseStream(res, host.maxQueueBytes, () => {
        counters.queue.drops++;
        close(stream);
      });
      streams.add(stream);
      const token = req.principal ? bearerToken(req.headers.authorization, req.query.token) : null;
      if (token !== null) credentials.set(stream, { token, patterns });
      req.raw.on('close', () => close(stream));
      const frame: SubscribeFrame = { op: 'subscribe', channels: patterns, snapshot: false };
      if (req.query.snapshot === 'true') frame.snapshot = true;
      if (filter !== undefined) frame.filter = filter as SubscribeFrame['filter'];
      const positions = { ...recover, ...explicit };
      if (Object.keys(positions).length > 0) frame.recover = positions;
      try {
        await gateway.subscriptions.subscribe(stream, frame, (result) =>
          gateway.sendControl(stream, { type: 'subscribed', ...result }, 'reply'),
        );
        gateway.schedule(stream);
      } catch (err) {
        req.log.warn({ err }, 'SSE subscribe failed');
        const error =
          err instanceof VigilError
            ? err.toBody()
            : { code: 'internal', message: 'The subscribe failed inside the hub' };
        stream.enqueueControl({ type: 'error', error });
        stream.flush();
        close(stream);
      }
    },
  );
}

/** The `recover` query: `{channel: {epoch, offset}}` of concrete channels that `patterns` match; 400 otherwise. */
function parseRecover(text: string, patterns: string[]): Record<string, StreamPosition> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new VigilError('bad_request', '`recover` is not JSON');
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new VigilError('bad_request', '`recover` must be an object of {epoch, offset} by channel');
  }
  const out: Record<string, StreamPosition> = {};
  for (const [channel, pos] of Object.entries(value)) {
    if (!isValidChannel(channel)) {
      throw new VigilError('invalid_channel', `Cannot recover '${String(channel).slice(0, 300)}': not a channel name`, {
        channel: String(channel).slice(0, 300),
      });
    }
    if (!patterns.some((p) => matchChannel(p, channel))) {
      throw new VigilError('bad_request', `recover names '${channel}', which none of the channels matches`, {
        path: `/recover/${channel}`,
      });
    }
    const { epoch, offset } = (pos ?? {}) as { epoch?: unknown; offset?: unknown };
    if (typeof epoch !== 'string' || typeof offset !== 'number' || !Number.isSafeInteger(offset) || offset < 0) {
      throw new VigilError('bad_request', `recover/${channel} must be {epoch: string, offset: integer >= 0}`, {
        path: `/recover/${channel}`,
      });
    }
    out[channel] = { epoch, offset };
  }
  return out;
}

/** Refuses a stream over the connection limits: 429 (503 when the hub is full) with `Retry-After`. */
function overLimit(reply: FastifyReply, refusal: Refusal): never {
  reply.header('retry-after', String(refusal.retryAfterS));
  throw new VigilError(refusal.status === 503 ? 'unavailable' : 'connection_limit', refusal.message, refusal.details);
}

/**
 * Recovery positions for a `Last-Event-ID`: the channel it names from its offset; the other concrete channels of
 * the request from the first event newer than the named one.
 */
async function resumePositions(
  broker: Broker,
  patterns: string[],
  lastId: string,
): Promise<Record<string, StreamPosition> | undefined> {
  const m = LAST_ID.exec(lastId);
  if (!m) return undefined;
  const [, channel, epoch, offsetText] = m as unknown as [string, string, string, string];
  const offset = Number(offsetText);
  if (!patterns.some((p) => matchChannel(p, channel))) return undefined;
  const recover: Record<string, StreamPosition> = { [channel]: { epoch, offset } };
  const named = await broker.history(channel, { since: { epoch, offset: Math.max(0, offset - 1) }, limit: 1 });
  const after = named.gap === undefined && named.events[0]?.offset === offset ? named.events[0].ts : undefined;
  if (after === undefined) return recover;
  for (const p of patterns) {
    if (isWildcard(p) || p === channel) continue;
    const other = await broker.history(p);
    const newer = other.events.find((e) => e.ts > after);
    recover[p] = { epoch: other.epoch, offset: newer ? newer.offset - 1 : other.offset };
  }
  return recover;
}
