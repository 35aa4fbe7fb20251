/**
 * @module hub
 * Wires the parts of one Vigil node together: configuration, broker, gateway, HTTP app, call methods and metrics.
 * `Hub.create()` builds it, `listen()` starts serving, `stop()` drains and closes.
 */
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { CloseCode, type ClusterNode, type HubStats, isValidChannel, matchChannel, VigilError } from '@vigil/protocol';
import type { FastifyInstance } from 'fastify';
import pino, { type Logger } from 'pino';
import type { AlertEngine } from './alerts/engine.js';
import { createAlertsPart } from './alerts/index.js';
import { Authenticator } from './auth/credentials.js';
import type { Broker, HistoryPolicy, StoredEvent } from './broker/broker.js';
import { type HistoryBudget, HistoryPolicies, type HistoryRule } from './broker/history-policy.js';
import { MemoryBroker } from './broker/memory-broker.js';
import { RedisBroker } from './broker/redis-broker.js';
import { FleetRelay } from './cluster/fleet-relay.js';
import {
  type ClusterView,
  LocalPresence,
  MAX_CHANNELS_REPORTED,
  type NodeFigures,
  RedisPresence,
} from './cluster/presence.js';
import { SampleRelay } from './cluster/sample-relay.js';
import { prepareDataDir } from './config/data-dir.js';
import { type Config, ConfigError, isLoopback } from './config/load.js';
import { createDashboardPart } from './dashboard/index.js';
import { createDialects } from './dialects/index.js';
import type { DialectServer } from './dialects/server.js';
import { createFleetPart, type FleetService } from './fleet/index.js';
import { Gateway, type PublishRequest } from './gateway/gateway.js';
import { MethodRegistry } from './gateway/methods.js';
import { SnapshotRegistry } from './gateway/snapshots.js';
import { buildHttpApp } from './http/app.js';
import { reloadTls, TlsFileError } from './http/tls.js';
import { createIncidentsPart } from './incidents/index.js';
import type { IncidentService } from './incidents/service.js';
import { ConnectionLimits } from './limits/connection-limits.js';
import { createMetricsPart } from './metrics/index.js';
import type { MetricsService } from './metrics/service.js';
import { createNotifiers, type Notifications } from './notify/index.js';
import { httpSamples } from './observability/http-figures.js';
import { HubCounters } from './observability/hub-counters.js';
import { createHubMetrics, type HubMetrics } from './observability/prometheus.js';
import type { HubPart, PartContext, PublishHandler } from './part.js';
import type { MetricStore } from './storage/metric-store.js';
import { PostgresMetricStore } from './storage/postgres-metric-store.js';
import { PostgresStateStore } from './storage/postgres-state-store.js';
import { SqliteStateStore } from './storage/sqlite-state-store.js';
import { SqliteMetricStore } from './storage/sqlite-store.js';
import type { StateStore } from './storage/state-store.js';
import { createTasksPart, type TaskService } from './tasks/index.js';

/** The version of this hub, from its package. */
export const VERSION = (createRequire(import.meta.url)('../package.json') as { version: string }).version;

/** Channels written only by the hub itself; clients may not publish to them unless a part claims them. */
export const RESERVED_PATTERNS = [
  'alerts',
  'incidents',
  'tasks',
  'system.>',
  'metrics.>',
  'hosts.>',
  'nodes',
  'resources',
  'topology',
];

/** The publish route of a channel written by the hub only. */
const RESERVED = Symbol('reserved');
/** Most channels whose publish route is remembered at once; past it the memory starts again empty. */
const ROUTE_CACHE_MAX = 10_000;

export interface HubOptions {
  logger?: Logger;
  broker?: Broker;
  store?: MetricStore;
  /** Where alerts, incidents, tasks and the like are kept; by default from `store:` in the config. */
  stateStore?: StateStore;
  /** Clock of the alert, incident and task logic (tests drive it); default Date.now. */
  clock?: () => number;
  /**
   * Reads the configuration again from where it came from (file, environment, flags), for `reload()` (SIGHUP and
   * `POST /api/v1/reload`). Without it the hub cannot reload.
   */
  loadConfig?: () => Config;
}

/** What a configuration reload did. */
export interface ReloadResult {
  /**
   * The reloadable sections whose new values took effect: `auth`, `limits`, `gateway.rate_limit`, `history` (when
   * the hub made its own broker), `alerts.rules`, and `tls` (the files named at start, read again) whenever TLS is on.
   */
  applied: string[];
  /** Options that changed in the file but take effect only at the next start. */
  restart_required: string[];
  /** Config-file alert rules added, changed (started over) and removed. */
  rules: { added: string[]; changed: string[]; removed: string[] };
  /** Sessions (WebSocket, SSE, dialects) whose credential was verified again, and those closed. */
  sessions: { checked: number; closed: number };
}

/** Keys of `Config` that a reload applies; every other key needs a restart. */
const RELOADABLE = new Set(['auth', 'limits', 'alerts', 'source']);

export type { HubStats };

const HistoryParams = Type.Object({
  channel: Type.String(),
  since: Type.Optional(Type.Integer({ minimum: 0 })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000 })),
});

/** The history limits of a configuration, as `HistoryPolicies` takes them. */
export function historyLimits(config: Config): [HistoryPolicy, readonly HistoryRule[], HistoryBudget] {
  const h = config.history;
  return [
    { max_events: h.maxEvents, max_age_ms: h.maxAgeMs, max_bytes: h.maxBytes },
    h.channels,
    { max_total_bytes: h.maxTotalBytes, max_channels: h.maxChannels },
  ];
}

export class Hub {
  readonly counters = new HubCounters();
  readonly methods = new MethodRegistry();
  readonly snapshots = new SnapshotRegistry();
  readonly broker: Broker;
  readonly gateway: Gateway;
  readonly metrics: HubMetrics;
  readonly metricsService: MetricsService;
  readonly alerts: AlertEngine;
  readonly tasks: TaskService;
  readonly incidents: IncidentService;
  readonly fleet: FleetService;
  readonly notifications: Notifications;
  readonly app: FastifyInstance;
  readonly log: Logger;
  /** Verifies credentials when `auth` is configured; undefined when auth is off. */
  readonly auth: Authenticator | undefined;
  /** Bounds on WebSocket sessions and SSE streams (limits.*). */
  readonly connectionLimits: ConnectionLimits;
  readonly state: StateStore;
  readonly parts: HubPart[] = [];
  /** The dialect paths (docs/dialects.md): other wire languages over the same gateway and parts. */
  readonly dialects: DialectServer;
  private readonly publishHandlers: { pattern: string; handle: PublishHandler }[] = [];
  /**
   * Where a client's publish to a channel goes, by channel: a part's handler, `RESERVED` (refused) or null (the
   * broker). Matching every pattern on every publish cost a share of the hot path; a claim clears it, and it is
   * cleared when it grows past `ROUTE_CACHE_MAX` channels.
   */
  private readonly publishRoutes = new Map<string, PublishHandler | typeof RESERVED | null>();
  private ready = false;
  private stopping: Promise<void> | undefined;
  /** host:port once listening. */
  private address: string;
  /** The nodes of this hub's cluster (one node on the memory engine). */
  readonly cluster: ClusterView;
  /** Relays samples to the leader's evaluator (broker engine redis only). */
  readonly sampleRelay: SampleRelay | undefined;
  /** The host registry across the cluster's nodes (Redis engine only). */
  readonly fleetRelay: FleetRelay | undefined;
  /** Set once every part has started: leadership changes reach the parts from then on. */
  private partsStarted = false;
  private leadership: Promise<void> = Promise.resolve();
  private leadingParts = true;

  /** The configuration in effect: the one loaded at start with the reloadable sections of the last reload. */
  config: Config;
  private readonly loadConfig: (() => Config) | undefined;
  private reloading: Promise<unknown> = Promise.resolve();
  /** The history limits of the broker the hub made from its configuration (none for an injected broker). */
  private historyPolicies: HistoryPolicies | undefined;

  private constructor(config: Config, options: HubOptions) {
    this.config = config;
    this.loadConfig = options.loadConfig;
    this.log = options.logger ?? pino({ level: config.logLevel, base: { node: config.nodeId } });
    this.broker = options.broker ?? this.brokerFromConfig();
    this.address = `${config.host}:${config.port}`;
    this.cluster = this.presenceFromConfig();
    this.auth = config.auth ? new Authenticator(config.auth) : undefined;
    this.connectionLimits = new ConnectionLimits(config.limits);
    this.gateway = new Gateway(config.gateway, {
      auth: this.auth,
      limits: this.connectionLimits,
      broker: this.broker,
      nodeId: config.nodeId,
      methods: this.methods,
      snapshots: this.snapshots,
      counters: this.counters,
      publish: (req, session) => this.publish(req, session),
      observeFanout: (s) => this.metrics.fanoutLatency.observe(s),
      log: (level, msg, extra) => this.log[level](extra ?? {}, msg),
    });
    this.metrics = createHubMetrics({
      counters: this.counters,
      subscriptions: () => this.gateway.subscriptions.count,
      history: async () => {
        let events = 0;
        let bytes = 0;
        for (const c of await this.broker.channels()) {
          events += c.history_size;
          bytes += c.history_bytes;
        }
        return { events, bytes };
      },
      storeStats: () => this.metricsService.storeStats(),
      hot: () => this.metricsService.hotFigures(),
    });
    this.state = options.stateStore ?? this.stateStoreFromConfig();
    const store = options.store ?? this.metricStoreFromConfig();
    this.registerBuiltinMethods();
    const ctx: PartContext = {
      config,
      log: this.log,
      methods: this.methods,
      snapshots: this.snapshots,
      state: this.state,
      emit: (channel, kind, data, ts) => this.emit(channel, kind, data, ts),
      claimPublish: (pattern, handle) => this.claimPublish(pattern, handle),
    };
    const metrics = createMetricsPart(ctx, {
      store,
      hubFigures: () => ({
        connections: this.counters.connectionsActive,
        messages_total: this.counters.totalIn() + this.counters.totalOut(),
      }),
      hubSamples: httpSamples(this.counters),
    });
    this.metricsService = metrics.service;
    if (config.broker.engine === 'redis') {
      const log = this.log.child({ part: 'cluster' });
      this.sampleRelay = new SampleRelay({
        url: config.broker.url,
        prefix: config.broker.prefix,
        nodeId: config.nodeId,
        // Leads once the lease is held and the alert engine has taken it up (its state loads behind `lead`), so an
        // entry read from the relay stream is never handled by an engine that does not lead yet.
        isLeader: () => this.cluster.isLeader() && this.alerts.isLeading(),
        // On a shared (PostgreSQL) metric store the follower has stored them: the leader evaluates them only.
        ingest: (samples) =>
          this.metricsService.ingest(samples, undefined, undefined, {
            relayed: true,
            persist: config.store.engine !== 'postgres',
          }),
        apply: (action) =>
          action.op === 'incident' ? this.incidents.refresh(action.id) : this.alerts.applyFromFollower(action),
        log: (level, msg, extra) => log[level](extra ?? {}, msg),
      });
      const relay = this.sampleRelay;
      // Samples are relayed as they were taken in: the node's own host series already carry its host label
      // (`fleet.ownHost`), what clients post is left as it came.
      this.metricsService.relay = (samples) => relay.relay(samples);
    }
    this.parts.push(metrics.part);
    const alerts = createAlertsPart(ctx, this.metricsService, {
      now: options.clock,
      tellLeader: (action) => this.sampleRelay?.tell(action),
      askLeader: this.sampleRelay ? (action) => this.sampleRelay!.ask(action) : undefined,
    });
    this.alerts = alerts.engine;
    this.parts.push(alerts.part);
    const notifications = createNotifiers(ctx, this.alerts);
    this.notifications = notifications;
    this.parts.push(notifications.part);
    const incidents = createIncidentsPart(ctx, this.alerts, {
      now: options.clock,
      tellLeader: (id) => this.sampleRelay?.tell({ op: 'incident', id }),
    });
    this.incidents = incidents.service;
    this.parts.push(incidents.part);
    const tasks = createTasksPart(ctx, { alerts: this.alerts, now: options.clock });
    this.tasks = tasks.service;
    this.parts.push(tasks.part);
    if (config.broker.engine === 'redis') {
      const log = this.log.child({ part: 'cluster' });
      this.fleetRelay = new FleetRelay({
        url: config.broker.url,
        prefix: config.broker.prefix,
        nodeId: config.nodeId,
        log: (level, msg, extra) => log[level](extra ?? {}, msg),
      });
    }
    const fleetRelay = this.fleetRelay;
    const fleet = createFleetPart(ctx, {
      metrics: this.metricsService,
      alerts: this.alerts,
      clusterNodes: () => this.cluster.nodes(),
      isLeader: () => this.cluster.isLeader(),
      share: fleetRelay && ((records) => fleetRelay.share(records)),
      shareRemoval: fleetRelay && ((ids) => fleetRelay.remove(ids)),
      version: VERSION,
      now: options.clock,
    });
    this.fleet = fleet.service;
    fleetRelay?.onMessage((msg) => {
      if (msg.hosts && msg.hosts.length > 0) fleet.service.absorb(msg.hosts);
      if (msg.removed && msg.removed.length > 0) fleet.service.forget(msg.removed);
    });
    this.parts.push(fleet.part);
    this.dialects = createDialects(this);
    this.parts.push({
      name: 'dialects',
      routes: (scope) => this.dialects.routes(scope),
      start: () => this.dialects.start(),
    });
    if (config.dashboard.enabled) this.parts.push(createDashboardPart(config));
    this.app = buildHttpApp(this);
    this.gateway.attach(this.app.server);
  }

  private brokerFromConfig(): Broker {
    const config = this.config;
    const policies = new HistoryPolicies(...historyLimits(config));
    this.historyPolicies = policies;
    if (config.broker.engine === 'memory') return new MemoryBroker({ policies });
    const log = this.log.child({ part: 'broker' });
    return new RedisBroker({
      url: config.broker.url,
      prefix: config.broker.prefix,
      policies,
      log: (level, msg, extra) => log[level](extra ?? {}, msg),
    });
  }

  private metricStoreFromConfig(): MetricStore {
    const { store, metrics, dataDir, nodeId } = this.config;
    if (store.engine === 'postgres') {
      return new PostgresMetricStore({
        url: store.url,
        schema: store.schema,
        poolSize: store.poolSize,
        node: nodeId,
        flushIntervalMs: metrics.flushIntervalMs,
        checkpointIntervalMs: metrics.checkpointIntervalMs,
      });
    }
    return new SqliteMetricStore({
      path: join(dataDir, 'vigil.db'),
      synchronous: metrics.synchronous,
      flushIntervalMs: metrics.flushIntervalMs,
      checkpointIntervalMs: metrics.checkpointIntervalMs,
    });
  }

  private stateStoreFromConfig(): StateStore {
    const { store, dataDir } = this.config;
    if (store.engine === 'sqlite') {
      return new SqliteStateStore({ path: join(dataDir, 'state.db'), maxFailures: store.maxFailures });
    }
    return new PostgresStateStore({
      url: store.url,
      schema: store.schema,
      poolSize: store.poolSize,
      maxFailures: store.maxFailures,
    });
  }

  private presenceFromConfig(): ClusterView {
    const figures = (): NodeFigures => ({
      address: this.address,
      connections: this.counters.connectionsActive,
      subscriptions: this.gateway.subscriptions.count,
      subscribers: this.gateway.subscriptions.busiestChannels(MAX_CHANNELS_REPORTED),
    });
    const { broker, nodeId } = this.config;
    if (broker.engine === 'memory') return new LocalPresence(nodeId, figures);
    const log = this.log.child({ part: 'cluster' });
    return new RedisPresence({
      url: broker.url,
      prefix: broker.prefix,
      nodeId,
      figures,
      log: (level, msg, extra) => log[level](extra ?? {}, msg),
      onLeadership: (leader) => this.leadershipChanged(leader),
    });
  }

  /** Hands a leadership change to the parts, one change after another, once they have started. */
  private leadershipChanged(leader: boolean): void {
    if (!this.partsStarted || this.stopping !== undefined) return;
    this.leadership = this.leadership.then(async () => {
      if (leader === this.leadingParts || this.stopping !== undefined) return;
      this.leadingParts = leader;
      for (const part of this.parts) {
        try {
          await part.lead?.(leader);
        } catch (err) {
          this.log.error({ err, part: part.name, leader }, 'a part failed to change leadership');
        }
      }
    });
  }

  /** Whether this node's parts run the cluster-wide duties (alert evaluation, escalation, task checks, scrapes). */
  isLeading(): boolean {
    return this.leadingParts;
  }

  static async create(config: Config, options: HubOptions = {}): Promise<Hub> {
    prepareDataDir(config.dataDir);
    const hub = new Hub(config, options);
    await hub.broker.start();
    try {
      await hub.state.open();
    } catch (err) {
      await hub.broker.close();
      throw err;
    }
    await hub.cluster.start();
    for (const part of hub.parts) await part.start?.();
    await hub.sampleRelay?.start();
    await hub.fleetRelay?.start();
    hub.partsStarted = true;
    // Parts start leading; a node that is not the lease holder hands the duties back at once.
    hub.leadershipChanged(hub.cluster.isLeader());
    await hub.leadership;
    return hub;
  }

  /** Starts listening; resolves with the bound address. */
  async listen(): Promise<{ host: string; port: number; url: string }> {
    await this.app.listen({ host: this.config.host, port: this.config.port });
    const addr = this.app.server.address();
    const port = typeof addr === 'object' && addr ? addr.port : this.config.port;
    this.ready = true;
    this.address = `${this.config.host}:${port}`;
    const host = this.config.host.includes(':') ? `[${this.config.host}]` : this.config.host;
    if (!isLoopback(this.config.host) && this.config.tls === undefined) {
      this.log.warn(
        { host: this.config.host },
        'serving plain HTTP on a non-loopback address: credentials and data cross the network in clear unless a TLS proxy is in front; configure tls.cert and tls.key to serve HTTPS',
      );
    }
    return { host: this.config.host, port, url: `${this.config.tls ? 'https' : 'http'}://${host}:${port}` };
  }

  /**
   * Reads `tls.cert` and `tls.key` again and serves new connections with them (a renewed certificate); open
   * connections keep theirs. Throws a ConfigError naming the file when the new pair cannot be used, and the
   * certificate in use stays. Does nothing without TLS.
   */
  reloadTls(): void {
    const tls = this.config.tls;
    if (tls === undefined) return;
    try {
      reloadTls(this.app.server, tls);
    } catch (err) {
      if (err instanceof TlsFileError) throw new ConfigError(err.key, err.message);
      throw err;
    }
    this.log.info({ cert: tls.cert }, 'TLS certificate reloaded');
  }

  isReady(): boolean {
    return this.ready && this.stopping === undefined;
  }

  /** Lets a part of the hub (metrics ingest, say) take publishes to channels matching `pattern`. */
  claimPublish(pattern: string, handle: PublishHandler): void {
    this.publishHandlers.push({ pattern, handle });
    this.publishRoutes.clear();
  }

  /** Where a publish to `channel`, a valid channel name, goes (see `publishRoutes`). */
  private publishRoute(channel: string): PublishHandler | typeof RESERVED | null {
    let route: PublishHandler | typeof RESERVED | null =
      this.publishHandlers.find((h) => matchChannel(h.pattern, channel))?.handle ?? null;
    if (route === null && RESERVED_PATTERNS.some((p) => matchChannel(p, channel))) route = RESERVED;
    if (this.publishRoutes.size >= ROUTE_CACHE_MAX) this.publishRoutes.clear();
    this.publishRoutes.set(channel, route);
    return route;
  }

  /** Publishes on behalf of a client (WS or HTTP): validates the channel and applies claims and reservations. */
  async publish(req: PublishRequest, source: string): Promise<StoredEvent> {
    // A channel with a remembered route was valid when it was remembered.
    let route = this.publishRoutes.get(req.channel);
    if (route === undefined) {
      if (!isValidChannel(req.channel)) {
        throw new VigilError('invalid_channel', `Invalid channel '${String(req.channel).slice(0, 300)}'`, {
          channel: req.channel,
        });
      }
      route = this.publishRoute(req.channel);
    }
    if (route === RESERVED) {
      throw new VigilError('forbidden', `Channel '${req.channel}' is written by the hub only`, {
        channel: req.channel,
      });
    }
    if (route !== null) return route(req, source);
    return this.emit(req.channel, req.kind ?? 'message', req.data);
  }

  /** Publishes an event from inside the hub. */
  emit(channel: string, kind: string, data: unknown, ts?: number): Promise<StoredEvent> {
    this.counters.published++;
    return this.broker.publish(ts === undefined ? { channel, kind, data } : { channel, kind, data, ts });
  }

  async stats(): Promise<HubStats> {
    const c = this.counters;
    let gaps = c.queue.gaps;
    for (const n of c.gapsByReason.values()) gaps += n;
    const nodes = await this.cluster.nodes();
    return {
      node: this.config.nodeId,
      version: VERSION,
      uptime_s: Math.round((Date.now() - c.startedAt) / 1000),
      broker: this.broker.engine,
      connections: c.connectionsActive,
      connections_total: c.connectionsTotal,
      subscriptions: this.gateway.subscriptions.count,
      channels: (await this.broker.channels()).length,
      messages_in: c.totalIn(),
      messages_out: c.totalOut(),
      events_published: c.published,
      queue_drops: c.queue.drops,
      gaps,
      slow_consumer_closes: c.disconnects.get(CloseCode.SLOW_CONSUMER) ?? 0,
      cluster: {
        nodes: nodes.length,
        connections: nodes.reduce((n, x) => n + x.connections, 0),
        subscriptions: nodes.reduce((n, x) => n + x.subscriptions, 0),
        per_node: nodes,
      },
    };
  }

  /**
   * `GET /api/v1/cluster` and `cluster.nodes`: the live nodes of this hub's cluster, and the `host` label of this
   * node's own series ('' on a single node: unlabelled).
   */
  async clusterNodes(): Promise<{ node: string; host: string; nodes: ClusterNode[] }> {
    return { node: this.config.nodeId, host: this.config.fleet.ownHost, nodes: await this.cluster.nodes() };
  }

  /** Subscribers on this node whose pattern matches `channel`. */
  subscriberCount(channel: string): number {
    return this.gateway.subscriptions.subscriberCount(channel);
  }

  async channelHistory(channel: string, since?: number, limit = 100) {
    if (!isValidChannel(channel))
      throw new VigilError('invalid_channel', `Invalid channel '${String(channel).slice(0, 300)}'`);
    const position = await this.broker.position(channel);
    const history = await this.broker.history(
      channel,
      since === undefined ? { limit } : { since: { epoch: position.epoch, offset: since }, limit },
    );
    return {
      channel,
      epoch: history.epoch,
      offset: history.offset,
      events: history.events.map((e) => ({
        channel: e.channel,
        offset: e.offset,
        ts: e.ts,
        kind: e.kind,
        data: e.data,
      })),
    };
  }

  private registerBuiltinMethods(): void {
    this.methods.register('stats', () => this.stats());
    this.methods.register('cluster.nodes', () => this.clusterNodes());
    this.methods.register('channels.history', (params) => {
      if (!Value.Check(HistoryParams, params)) {
        const first = Value.Errors(HistoryParams, params).First();
        throw new VigilError('bad_request', `channels.history: ${first?.path || '/'} ${first?.message ?? 'invalid'}`, {
          path: first?.path ?? '',
        });
      }
      return this.channelHistory(params.channel, params.since, params.limit);
    });
  }

  /**
   * Loads the configuration again and applies what can change while running: auth keys and secrets (every open
   * session's credential is then verified again; see `Gateway.recheckCredentials`), `limits.*`, the config-file
   * alert rules, and the TLS certificate and key (read again from the files named at start). A configuration that does not load, turns auth on or off, or names a rule like an API rule is
   * refused with `invalid_config` naming the key, and the running configuration stays. Reloads run one at a time.
   */
  reload(): Promise<ReloadResult> {
    const run = this.reloading.then(() => this.applyReload());
    this.reloading = run.catch(() => undefined);
    return run;
  }

  private async applyReload(): Promise<ReloadResult> {
    if (this.loadConfig === undefined) {
      throw new VigilError('invalid_config', 'This hub was started without a configuration source to reload');
    }
    let next: Config;
    try {
      next = this.loadConfig();
    } catch (err) {
      if (err instanceof ConfigError) throw new VigilError('invalid_config', err.message, { key: err.key });
      throw err;
    }
    const old = this.config;
    if ((old.auth === undefined) !== (next.auth === undefined)) {
      throw new VigilError(
        'invalid_config',
        `auth: turning authentication ${next.auth ? 'on' : 'off'} takes a restart; the hub keeps running as it was`,
        { key: 'auth' },
      );
    }
    const problem = this.alerts.configRulesProblem(next.alerts.rules);
    if (problem) throw new VigilError('invalid_config', `${problem.key}: ${problem.reason}`, { key: problem.key });

    const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
    const applied: string[] = [];
    if (!same(old.auth, next.auth)) applied.push('auth');
    if (!same(old.limits, next.limits)) applied.push('limits');
    const specs = (c: Config) => c.alerts.rules.map((r) => r.spec);
    if (!same(specs(old), specs(next))) applied.push('alerts.rules');
    const policies = this.historyPolicies;
    if (!same(old.gateway.rateLimit, next.gateway.rateLimit)) applied.push('gateway.rate_limit');
    if (policies && !same(old.history, next.history)) applied.push('history');
    const restart: string[] = [];
    for (const key of Object.keys(next) as (keyof Config)[]) {
      if (RELOADABLE.has(key) || same(old[key], next[key])) continue;
      if (key === 'history' && policies) continue;
      if (key === 'gateway' && same({ ...old.gateway, rateLimit: 0 }, { ...next.gateway, rateLimit: 0 })) continue;
      restart.push(key);
    }
    const { rules: _old, ...oldAlerts } = old.alerts;
    const { rules: _next, ...nextAlerts } = next.alerts;
    if (!same(oldAlerts, nextAlerts)) restart.push('alerts');

    // The certificate files are read again (a renewed certificate); a pair that cannot be used refuses the reload
    // before anything else changes.
    if (old.tls !== undefined) {
      try {
        this.reloadTls();
      } catch (err) {
        if (err instanceof ConfigError) throw new VigilError('invalid_config', err.message, { key: err.key });
        throw err;
      }
      applied.push('tls');
    }
    if (next.auth && this.auth) this.auth.replace(next.auth);
    this.connectionLimits.update(next.limits);
    this.gateway.setRateLimit(next.gateway.rateLimit);
    policies?.replace(...historyLimits(next));
    const rules = this.alerts.replaceConfigRules(next.alerts.rules);
    this.config = Object.freeze({
      ...old,
      auth: next.auth,
      limits: next.limits,
      gateway: Object.freeze({ ...old.gateway, rateLimit: next.gateway.rateLimit }),
      history: policies ? next.history : old.history,
      alerts: Object.freeze({ ...old.alerts, rules: next.alerts.rules }),
      source: next.source,
    });
    const sessions = await this.gateway.recheckCredentials();
    const result: ReloadResult = { applied, restart_required: restart, rules, sessions };
    this.log.info(result, 'configuration reloaded');
    return result;
  }

  /** Graceful stop: no new connections, `closing` (1001) to every client, flush, close. Idempotent. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.ready = false;
      const timeout = this.config.shutdownTimeoutMs;
      await Promise.all([
        this.gateway.shutdown(Math.max(100, timeout - 1500)),
        this.dialects.stop(Math.max(100, timeout - 1500)),
      ]);
      await this.app.close();
      await this.leadership;
      await this.sampleRelay?.stop();
      await this.fleetRelay?.stop();
      for (const part of [...this.parts].reverse()) await part.stop?.();
      await this.cluster.stop();
      await this.state.close();
      await this.broker.close();
    })();
    return this.stopping;
  }
}
