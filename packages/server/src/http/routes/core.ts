/**
 * @module core-routes
 * `/api/v1/stats`, `/api/v1/whoami`, `/api/v1/channels`, `/api/v1/channels/:channel/history` and
 * `POST /api/v1/publish`.
 */
import { type Static, Type } from '@sinclair/typebox';
import type { WhoAmI } from '@vigil/protocol';
import type { FastifyInstance } from 'fastify';
import type { Authenticator } from '../../auth/credentials.js';
import { grantsPattern, SCOPES } from '../../auth/permissions.js';
import { access, named } from '../../auth/route-access.js';
import type { Broker, StoredEvent } from '../../broker/broker.js';
import type { PublishRequest } from '../../gateway/gateway.js';
import { ErrorResponse } from '../error-handler.js';

const ClusterNode = Type.Object({
  id: Type.String(),
  address: Type.String({ description: 'host:port the node listens on.' }),
  started_at: Type.Number(),
  uptime_s: Type.Integer(),
  connections: Type.Integer(),
  subscriptions: Type.Integer(),
  leader: Type.Boolean({ description: 'Whether the node holds the leader lease.' }),
  last_heartbeat: Type.Number({ description: 'ms since the epoch.' }),
});

const ClusterReply = Type.Object({
  node: Type.String({ description: 'The node that answered.' }),
  host: Type.String({
    description:
      "The `host` label of the answering node's own collector series: its fleet host id on a cluster node, empty on a single node (unlabelled series).",
  }),
  nodes: Type.Array(ClusterNode),
});

const Stats = Type.Object({
  node: Type.String(),
  version: Type.String(),
  uptime_s: Type.Integer(),
  broker: Type.String(),
  connections: Type.Integer(),
  connections_total: Type.Integer(),
  subscriptions: Type.Integer(),
  channels: Type.Integer(),
  messages_in: Type.Integer(),
  messages_out: Type.Integer(),
  events_published: Type.Integer(),
  queue_drops: Type.Integer(),
  gaps: Type.Integer(),
  slow_consumer_closes: Type.Integer(),
  cluster: Type.Object({
    nodes: Type.Integer(),
    connections: Type.Integer(),
    subscriptions: Type.Integer(),
    per_node: Type.Array(ClusterNode),
  }),
});

const WhoAmIReply = Type.Object({
  auth: Type.Boolean({ description: 'Whether the hub checks credentials.' }),
  principal: Type.Union([Type.String(), Type.Null()]),
  kind: Type.Union([Type.Literal('api_key'), Type.Literal('jwt'), Type.Null()]),
  scopes: Type.Array(Type.Union(SCOPES.map((s) => Type.Literal(s)))),
  channels: Type.Union([Type.Array(Type.String()), Type.Null()], { description: 'null grants every channel.' }),
  expires_at: Type.Optional(Type.Number()),
});

const ChannelRow = Type.Object({
  channel: Type.String(),
  epoch: Type.String(),
  offset: Type.Integer(),
  subscribers: Type.Integer(),
  history_size: Type.Integer(),
  history_bytes: Type.Integer(),
  last_ts: Type.Number(),
});

const EventRow = Type.Object({
  channel: Type.String(),
  offset: Type.Integer(),
  ts: Type.Number(),
  kind: Type.String(),
  data: Type.Unknown(),
});

const HistoryQuery = Type.Object({
  since: Type.Optional(Type.Integer({ minimum: 0, description: 'Return events after this offset.' })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000, default: 100 })),
});

const PublishBody = Type.Object(
  {
    channel: Type.String({ maxLength: 512 }),
    data: Type.Unknown(),
    kind: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_.:-]{1,64}$' })),
  },
  { additionalProperties: false },
);

const PublishResult = Type.Object({ channel: Type.String(), offset: Type.Integer(), epoch: Type.String() });

/** What the core routes need from the hub. */
export interface CoreHost {
  readonly config: { readonly http: { readonly publishBodyLimit: number } };
  readonly auth: Authenticator | undefined;
  readonly broker: Pick<Broker, 'channels'>;
  stats(): Promise<Static<typeof Stats>>;
  clusterNodes(): Promise<Static<typeof ClusterReply>>;
  subscriberCount(channel: string): number;
  channelHistory(channel: string, since?: number, limit?: number): Promise<unknown>;
  publish(req: PublishRequest, source: string): Promise<StoredEvent>;
  reload(): Promise<Static<typeof ReloadReply>>;
}

const ReloadReply = Type.Object({
  applied: Type.Array(Type.String(), { description: 'Sections whose new values took effect.' }),
  restart_required: Type.Array(Type.String(), { description: 'Changed options that take effect at the next start.' }),
  rules: Type.Object({
    added: Type.Array(Type.String()),
    changed: Type.Array(Type.String()),
    removed: Type.Array(Type.String()),
  }),
  sessions: Type.Object({
    checked: Type.Integer({ description: 'Sessions whose credential was verified again.' }),
    closed: Type.Integer({ description: 'Sessions closed (4001) because their credential was removed or narrowed.' }),
  }),
});

export function coreRoutes(app: FastifyInstance, hub: CoreHost): void {
  app.post(
    '/api/v1/reload',
    {
      // The whole hub's configuration: an admin key limited to some channels may not reload it.
      config: access('admin', ['>']),
      schema: {
        summary:
          'Reload the configuration (as SIGHUP does): auth keys and secrets, limits, config-file alert rules. ' +
          'A configuration that does not load is refused with invalid_config and the running one stays.',
        tags: ['hub'],
        response: { 200: ReloadReply, 400: ErrorResponse },
      },
    },
    () => hub.reload(),
  );

  app.get(
    '/api/v1/stats',
    {
      config: access('read', 'none'),
      schema: { summary: "The hub's statistics", tags: ['hub'], response: { 200: Stats } },
    },
    () => hub.stats(),
  );

  app.get(
    '/api/v1/cluster',
    {
      schema: {
        summary: "The cluster's live nodes: id, address, uptime, connections, leader flag and last heartbeat",
        tags: ['hub'],
        response: { 200: ClusterReply },
      },
      config: access('read', 'none'),
    },
    () => hub.clusterNodes(),
  );

  app.get(
    '/api/v1/whoami',
    {
      config: access('authenticated'),
      schema: {
        summary: 'What the credential of the request may do (any valid credential may ask)',
        tags: ['hub'],
        response: { 200: WhoAmIReply },
      },
    },
    (req): WhoAmI => {
      const p = hub.auth ? req.principal : null;
      if (!p) return { auth: false, principal: null, kind: null, scopes: [...SCOPES], channels: null };
      const reply: WhoAmI = {
        auth: true,
        principal: p.name,
        kind: p.kind,
        scopes: SCOPES.filter((s) => p.scopes.has(s) || p.scopes.has('admin')),
        channels: p.channels === undefined ? null : [...p.channels],
      };
      if (p.exp !== undefined) reply.expires_at = p.exp;
      return reply;
    },
  );

  app.get(
    '/api/v1/channels',
    {
      config: access('read', 'filtered'),
      schema: {
        summary:
          'Channels with history, their positions and subscriber counts on this node (those the credential may read)',
        tags: ['channels'],
        response: { 200: Type.Object({ channels: Type.Array(ChannelRow) }) },
      },
    },
    async (req) => {
      const principal = req.principal;
      const channels = (await hub.broker.channels()).filter((c) => !principal || grantsPattern(principal, c.channel));
      return {
        channels: channels
          .map((c) => ({ ...c, subscribers: hub.subscriberCount(c.channel) }))
          .sort((a, b) => a.channel.localeCompare(b.channel)),
      };
    },
  );

  app.get<{ Params: { channel: string }; Querystring: Static<typeof HistoryQuery> }>(
    '/api/v1/channels/:channel/history',
    {
      config: access('read', named('params', 'channel')),
      schema: {
        summary: 'Events held in the history of one channel, oldest first',
        tags: ['channels'],
        params: Type.Object({ channel: Type.String() }),
        querystring: HistoryQuery,
        response: {
          200: Type.Object({
            channel: Type.String(),
            epoch: Type.String(),
            offset: Type.Integer(),
            events: Type.Array(EventRow),
          }),
          400: ErrorResponse,
        },
      },
    },
    (req) => hub.channelHistory(req.params.channel, req.query.since, req.query.limit),
  );

  app.post<{ Body: Static<typeof PublishBody> }>(
    '/api/v1/publish',
    {
      config: access('publish', named('body', 'channel')),
      bodyLimit: hub.config.http.publishBodyLimit,
      schema: {
        summary: 'Publish an event to an application channel',
        tags: ['channels'],
        body: PublishBody,
        response: { 200: PublishResult, 400: ErrorResponse, 403: ErrorResponse, 413: ErrorResponse },
      },
    },
    async (req) => {
      const ev = await hub.publish({ channel: req.body.channel, kind: req.body.kind, data: req.body.data }, 'http');
      return { channel: ev.channel, offset: ev.offset, epoch: ev.epoch };
    },
  );
}
