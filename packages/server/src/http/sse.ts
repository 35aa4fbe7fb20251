/**
 * @module sse
 * Server-Sent Events fallback at `/api/v1/stream?channels=a,b.*[&filter=<json>]`, through the gateway's subscription
 * manager (the same subscribe, recovery and fan-out as WebSocket; see gateway/subscriptions.ts). Each event's `id:` is
 * `<channel>@<epoch>:<offset>`; its `data:` is the same event frame JSON the WebSocket carries. `Last-Event-ID`
 * (header, or `last_event_id` query) resumes: the named channel exactly by offset, the other concrete channels of the
 * request by time (events newer than the one named). A stream whose client stops reading is ended once its buffer
 * passes `http.sse_max_queue_bytes`.
 */
import { Value } from '@sinclair/typebox/value';
import {
  FilterSchema,
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

  app.get<{ Querystring: { channels?: string; filter?: string; last_event_id?: string; token?: string } }>(
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
      const lastId = (req.headers['last-event-id'] as string | undefined) ?? req.query.last_event_id;
      const recover = lastId ? await resumePositions(host.broker, patterns, lastId) : undefined;
      const { limits } = host;
      const refused = limits.admit(req.ip);
      if (refused) overLimit(reply, refused);
      const credential = req.principal?.name;
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
      if (filter !== undefined) frame.filter = filter as SubscribeFrame['filter'];
      if (recover && Object.keys(recover).length > 0) frame.recover = recover;
      try {
        await gateway.subscriptions.subscribe(stream, frame, () => {});
        gateway.schedule(stream);
      } catch (err) {
        req.log.warn({ err }, 'SSE subscribe failed');
        close(stream);
      }
    },
  );
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
