/**
 * @module sse
 * Server-Sent Events fallback at `/api/v1/stream?channels=a,b.*[&filter=<json>]`. Each event's `id:` is
 * `<channel>@<epoch>:<offset>`; its `data:` is the same event frame JSON the WebSocket carries. `Last-Event-ID`
 * (header, or `last_event_id` query) resumes: the named channel exactly by offset, the other concrete channels of the
 * request by time (events newer than the one named). A stream whose client stops reading is ended once its buffer
 * passes `http.sse_max_queue_bytes`.
 */
import type { ServerResponse } from 'node:http';
import { Value } from '@sinclair/typebox/value';
import {
  compileFilter,
  type EventPredicate,
  FilterSchema,
  isValidPattern,
  isWildcard,
  matchChannel,
  VigilError,
} from '@vigil/protocol';
import type { FastifyInstance } from 'fastify';
import type { StoredEvent } from '../broker/broker.js';
import type { Hub } from '../hub.js';

interface SseClient {
  res: ServerResponse;
  patterns: string[];
  filter: EventPredicate | undefined;
  /** Events queued while the resume backlog is being written. */
  pending: StoredEvent[] | undefined;
}

const LAST_ID = /^(.+)@([^:@]+):(\d+)$/;

function eventText(e: StoredEvent): string {
  const frame = { type: 'event', channel: e.channel, offset: e.offset, ts: e.ts, kind: e.kind, data: e.data };
  return `id: ${e.channel}@${e.epoch}:${e.offset}\ndata: ${JSON.stringify(frame)}\n\n`;
}

export function sseRoutes(app: FastifyInstance, hub: Hub): void {
  const clients = new Set<SseClient>();
  const maxBytes = hub.config.http.sseMaxQueueBytes;

  const write = (client: SseClient, text: string): void => {
    if (client.res.writableLength > maxBytes) {
      hub.counters.queue.drops++;
      client.res.end();
      clients.delete(client);
      return;
    }
    client.res.write(text);
    hub.counters.countOut('sse');
  };

  const unlisten = hub.broker.onEvent((e) => {
    if (clients.size === 0) return;
    let text: string | undefined;
    for (const client of clients) {
      if (!client.patterns.some((p) => matchChannel(p, e.channel))) continue;
      if (client.filter && !client.filter(e)) continue;
      if (client.pending) {
        client.pending.push(e);
        continue;
      }
      text ??= eventText(e);
      write(client, text);
    }
  });

  const heartbeat = setInterval(() => {
    for (const c of clients) c.res.write(': ping\n\n');
  }, 15_000).unref();

  app.addHook('preClose', async () => {
    clearInterval(heartbeat);
    unlisten();
    for (const c of clients) c.res.end();
    clients.clear();
  });

  app.get<{ Querystring: { channels?: string; filter?: string; last_event_id?: string } }>(
    '/api/v1/stream',
    {
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
      const patterns = (req.query.channels ?? '').split(',').filter((c) => c.length > 0);
      if (patterns.length === 0) throw new VigilError('bad_request', '`channels` is empty');
      for (const p of patterns) {
        if (!isValidPattern(p))
          throw new VigilError('invalid_channel', `Invalid channel or pattern '${String(p).slice(0, 300)}'`);
      }
      let filter: EventPredicate | undefined;
      if (req.query.filter) {
        let parsed: unknown;
        try {
          parsed = JSON.parse(req.query.filter);
        } catch {
          throw new VigilError('bad_request', '`filter` is not JSON');
        }
        if (!Value.Check(FilterSchema, parsed)) {
          const first = Value.Errors(FilterSchema, parsed).First();
          throw new VigilError('bad_request', `filter${first?.path ?? ''} ${first?.message ?? 'is invalid'}`);
        }
        filter = compileFilter(parsed);
      }
      const lastId = (req.headers['last-event-id'] as string | undefined) ?? req.query.last_event_id;

      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-transform',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
      });
      res.write('retry: 2000\n\n');
      const client: SseClient = { res, patterns, filter, pending: lastId ? [] : undefined };
      clients.add(client);
      req.raw.on('close', () => clients.delete(client));
      if (lastId) await resume(client, lastId);
    },
  );

  async function resume(client: SseClient, lastId: string): Promise<void> {
    const m = LAST_ID.exec(lastId);
    const backlog: StoredEvent[] = [];
    if (m) {
      const [, channel, epoch, offsetText] = m as unknown as [string, string, string, string];
      const offset = Number(offsetText);
      if (client.patterns.some((p) => matchChannel(p, channel))) {
        const h = await hub.broker.history(channel, { since: { epoch, offset } });
        if (h.gap) {
          client.res.write(`event: gap\ndata: ${JSON.stringify({ type: 'gap', channel, ...h.gap })}\n\n`);
        }
        backlog.push(...h.events);
        const all = await hub.broker.history(channel, { since: { epoch, offset: Math.max(0, offset - 1) }, limit: 1 });
        const after = all.events[0]?.offset === offset ? all.events[0].ts : undefined;
        if (after !== undefined) {
          for (const p of client.patterns) {
            if (isWildcard(p) || p === channel) continue;
            const other = await hub.broker.history(p);
            backlog.push(...other.events.filter((e) => e.ts > after));
          }
        }
      }
    }
    const seen = new Set<string>();
    for (const e of backlog) {
      if (!client.filter || client.filter(e)) write(client, eventText(e));
      seen.add(`${e.channel}:${e.offset}`);
    }
    const pending = client.pending ?? [];
    client.pending = undefined;
    for (const e of pending) if (!seen.has(`${e.channel}:${e.offset}`)) write(client, eventText(e));
  }
}
