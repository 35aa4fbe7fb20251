/**
 * @module fleet-service
 * The host registry and the fleet channels.
 *
 * - Agents publish to `hosts.<id>`: `agent_register` (the host's description and labels), `agent_samples` (one
 *   collect, stored as metrics labelled `host=<id>` plus the host's labels) and `agent_heartbeat`. Any of them
 *   counts as a heartbeat. A batch at or before the newest batch taken from that host is acknowledged and dropped,
 *   so a batch re-sent after a lost reply is stored once.
 * - Every `check_interval` each host's status follows its silence: `up`, `stale` after `stale_after`, `down` after
 *   `down_after` (raising the `host_down` alert, resolved when it reports again). After a hub restart, silence is
 *   counted from the restart, so agents have time to reconnect.
 * - The hub's own machine is a host too (`source: hub`): its summary comes from the hub's own collector samples
 *   through the same summary function, and it heartbeats every check while the hub runs.
 * - `nodes` carries `host_status` on every status change and `nodes_summary` every `summary_interval`; `resources`
 *   the per-host utilisation and top lists every `summary_interval`; `topology` the hub nodes, hosts and client
 *   count whenever they change. Each has a snapshot.
 * - The registry is bounded by `max_hosts`; it is kept in the state store (fleet/host-store.ts), written on
 *   registration, status change and every `summary_interval` for hosts that reported.
 */
import { arch, cpus, hostname, release, totalmem, type } from 'node:os';
import {
  type AgentRegistration,
  type AgentSamplesBatch,
  type ClusterNode,
  FleetKind,
  type HostData,
  type HostStatus,
  type NodesSummaryData,
  type ResourcesData,
  type TopologyData,
  VigilError,
} from '@vigil/protocol';
import type { AlertBus } from '../alerts/types.js';
import type { StoredEvent } from '../broker/broker.js';
import type { PublishRequest } from '../gateway/gateway.js';
import type { Sample } from '../metrics/sample.js';
import { normalizeSample } from '../metrics/sample.js';
import type { MetricsService } from '../metrics/service.js';
import type { FleetConfig } from './config.js';
import type { HostRecord, HostStore } from './host-store.js';
import { BatchSchema, checked, HeartbeatSchema, isHostId, RegistrationSchema } from './schemas.js';
import { mergeSummary, summarize } from './summary.js';

export const HOSTS_PREFIX = 'hosts.';
export const NODES_CHANNEL = 'nodes';
export const RESOURCES_CHANNEL = 'resources';
export const TOPOLOGY_CHANNEL = 'topology';
/** The absence alert of a host that went `down`. */
export const HOST_DOWN_ALERT = 'host_down';

export interface FleetServiceDeps {
  config: FleetConfig;
  nodeId: string;
  store: HostStore;
  metrics: MetricsService;
  alerts?: AlertBus | undefined;
  emit: (channel: string, kind: string, data: unknown) => Promise<StoredEvent>;
  /** The live hub nodes of the cluster. */
  clusterNodes: () => Promise<ClusterNode[]>;
  now?: (() => number) | undefined;
  log?: (level: 'warn' | 'error', msg: string, extra?: Record<string, unknown>) => void;
  /** The hub's version, reported as the agent version of its own host. */
  version: string;
  /**
   * The host store is shared by the nodes of a cluster (PostgreSQL): an agent reports to one node, the others learn
   * of it through the store. Before a host turns stale or down here (and while it is), this node reads the store
   * again (at most once per `summary_interval`) and takes the newer `last_seen` another node wrote.
   */
  shared?: boolean | undefined;
}

/** The hub's own host id from its hostname: characters outside [A-Za-z0-9_:-] become `-`, at most 64. */
export function hostIdFromName(name: string): string {
  const id = name.replace(/[^A-Za-z0-9_:-]/g, '-').slice(0, 64);
  return id === '' ? 'host' : id;
}

export class FleetService {
  private readonly hosts = new Map<string, HostRecord>();
  private readonly dirty = new Set<string>();
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly now: () => number;
  private startedAt = 0;
  private lastTopology = '';
  private topology: TopologyData | undefined;
  private resources: ResourcesData | undefined;
  private reconciling = false;
  private lastReconcile = Number.NEGATIVE_INFINITY;
  readonly selfId: string;
  /** Samples of agents' batches stored so far, and rejected by the metrics pipeline. */
  samplesIn = 0;
  samplesRejected = 0;

  constructor(private readonly d: FleetServiceDeps) {
    this.now = d.now ?? Date.now;
    this.selfId = d.config.selfId || hostIdFromName(hostname());
  }

  async start(): Promise<void> {
    this.startedAt = this.now();
    for (const r of await this.d.store.load()) this.hosts.set(r.host.id, r);
    // The newest stored sample of each host, so a batch re-sent across a hub restart is still dropped.
    for (const s of this.d.metrics.registry.all()) {
      const id = s.labels.host;
      const r = id === undefined ? undefined : this.hosts.get(id);
      if (r && s.lastTs > r.lastBatchTs) r.lastBatchTs = s.lastTs;
    }
    if (this.d.config.self) this.registerSelf();
    this.check();
    const { checkIntervalMs, summaryIntervalMs } = this.d.config;
    this.timers.push(setInterval(() => this.check(), checkIntervalMs).unref());
    this.timers.push(setInterval(() => this.publishSummaries(), summaryIntervalMs).unref());
  }

  async stop(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    this.flush();
    await this.d.store.settled();
  }

  // ---- reads ----

  list(filter: { status?: HostStatus; labels?: Record<string, string> } = {}): HostData[] {
    const out: HostData[] = [];
    for (const { host } of this.hosts.values()) {
      if (filter.status && host.status !== filter.status) continue;
      if (filter.labels && Object.entries(filter.labels).some(([k, v]) => host.labels[k] !== v)) continue;
      out.push(copy(host));
    }
    return out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  get(id: string): HostData {
    const r = this.hosts.get(id);
    if (!r) throw new VigilError('not_found', `No host '${id.slice(0, 100)}'`, { id: id.slice(0, 100) });
    return copy(r.host);
  }

  get size(): number {
    return this.hosts.size;
  }

  nodesSummary(): NodesSummaryData {
    const counts: Record<HostStatus, number> = { up: 0, stale: 0, down: 0 };
    for (const { host } of this.hosts.values()) counts[host.status]++;
    return { ts: this.now(), counts, hosts: this.list() };
  }

  currentResources(): ResourcesData {
    this.resources ??= this.buildResources();
    return this.resources;
  }

  currentTopology(): TopologyData | undefined {
    return this.topology;
  }

  /** Removes a host from the registry (its stored metrics stay); `not_found` when unknown. */
  remove(id: string): void {
    if (!this.hosts.delete(id)) throw new VigilError('not_found', `No host '${id.slice(0, 100)}'`);
    this.dirty.delete(id);
    this.d.store.delete(id);
    this.resources = undefined;
  }

  // ---- agents ----

  /** A client's publish to `hosts.<id>`. */
  async publish(req: PublishRequest): Promise<StoredEvent> {
    const id = req.channel.slice(HOSTS_PREFIX.length);
    if (!isHostId(id)) {
      throw new VigilError('invalid_channel', `'${req.channel.slice(0, 300)}' is not hosts.<host id>`, {
        channel: req.channel.slice(0, 300),
      });
    }
    const now = this.now();
    let stored = 0;
    switch (req.kind) {
      case 'agent_register':
        this.register(id, checked('agent_register', RegistrationSchema, req.data), now);
        break;
      case 'agent_samples': {
        const batch = checked('agent_samples', BatchSchema(this.d.config.maxBatchSamples), req.data);
        stored = await this.samples(id, batch, now);
        break;
      }
      case 'agent_heartbeat':
        checked('agent_heartbeat', HeartbeatSchema, req.data ?? null);
        this.seen(this.ensure(id, now), now);
        break;
      default:
        throw new VigilError(
          'bad_request',
          `hosts.<id> takes the kinds agent_register, agent_samples and agent_heartbeat (got '${String(req.kind).slice(0, 100)}')`,
          { path: '/kind' },
        );
    }
    return { channel: req.channel, epoch: 'fleet', offset: stored, ts: now, kind: req.kind, data: null };
  }

  private ensure(id: string, now: number): HostRecord {
    const known = this.hosts.get(id);
    if (known) return known;
    if (this.hosts.size >= this.d.config.maxHosts) {
      throw new VigilError('host_limit', `The registry holds fleet.max_hosts (${this.d.config.maxHosts}) hosts`, {
        max_hosts: this.d.config.maxHosts,
      });
    }
    const record: HostRecord = {
      host: {
        id,
        source: 'agent',
        status: 'up',
        labels: {},
        info: null,
        first_seen: now,
        last_seen: now,
        status_since: now,
        node: this.d.nodeId,
        summary: null,
      },
      lastBatchTs: 0,
    };
    this.hosts.set(id, record);
    this.d.store.save(record);
    this.resources = undefined;
    this.announce(record, null);
    return record;
  }

  private register(id: string, reg: AgentRegistration, now: number): void {
    const record = this.ensure(id, now);
    const { labels, ...info } = reg;
    record.host.info = info;
    record.host.labels = { ...(labels ?? {}) };
    record.host.source = id === this.selfId && this.d.config.self ? 'hub' : 'agent';
    this.seen(record, now);
    this.d.store.save(record);
    this.dirty.delete(id);
  }

  private seen(record: HostRecord, now: number): void {
    record.host.last_seen = now;
    record.host.node = this.d.nodeId;
    this.dirty.add(record.host.id);
    if (record.host.status !== 'up') this.transition(record, 'up', now);
  }

  private async samples(id: string, batch: AgentSamplesBatch, now: number): Promise<number> {
    const record = this.ensure(id, now);
    this.seen(record, now);
    if (batch.ts <= record.lastBatchTs) return 0;
    const extra = { ...record.host.labels, host: id };
    const samples: Sample[] = [];
    let rejected = 0;
    for (const s of batch.samples) {
      const r = normalizeSample({ name: s.name, value: s.value, ts: batch.ts, labels: { ...s.labels, ...extra } }, now);
      if (r.ok) samples.push(r.sample);
      else rejected++;
    }
    record.lastBatchTs = batch.ts;
    if (batch.ts >= (record.host.summary?.ts ?? 0)) {
      record.host.summary = mergeSummary(record.host.summary, summarize(batch.ts, batch.samples));
    }
    const outcome = this.d.metrics.ingest(samples);
    this.samplesIn += outcome.accepted;
    this.samplesRejected += rejected + outcome.rejected;
    if (rejected + outcome.rejected > 0) {
      this.d.log?.('warn', 'agent samples rejected', {
        host: id,
        rejected: rejected + outcome.rejected,
        first: outcome.errors[0]?.message,
      });
    }
    await outcome.durable;
    return outcome.accepted;
  }

  // ---- the hub's own host ----

  private registerSelf(): void {
    const now = this.now();
    const record = this.ensureSelf(now);
    if (!record) return;
    record.host.info = {
      hostname: hostname(),
      machine_id: '',
      os: type(),
      kernel: release(),
      arch: arch(),
      cores: cpus().length,
      memory_bytes: totalmem(),
      boot_time: 0,
      agent_version: this.d.version,
      interval_ms: 0,
    };
    record.host.source = 'hub';
    this.seen(record, now);
    this.d.store.save(record);
  }

  private ensureSelf(now: number): HostRecord | undefined {
    try {
      return this.ensure(this.selfId, now);
    } catch (err) {
      this.d.log?.('warn', "the hub's own host is not listed", { err: String(err) });
      return undefined;
    }
  }

  /** The hub's own host: a heartbeat with the summary of its newest collector samples (those with no `host`). */
  private selfHeartbeat(now: number): void {
    const record = this.hosts.get(this.selfId);
    if (record?.host.source !== 'hub') return;
    const own = this.d.metrics.current({ prefix: 'system.', labels: { host: '' } });
    if (own.length > 0) {
      const ts = Math.max(...own.map((c) => c.ts));
      record.host.summary = mergeSummary(
        record.host.summary,
        summarize(
          ts,
          own.map((c) => ({ name: c.metric, value: c.value, labels: c.labels })),
        ),
      );
    }
    this.seen(record, now);
  }

  // ---- statuses and channels ----

  /** Moves each host to the status its silence calls for; publishes the topology when it changed. */
  check(): void {
    const now = this.now();
    if (this.d.config.self) this.selfHeartbeat(now);
    const { staleAfterMs, downAfterMs } = this.d.config;
    let ask = false;
    for (const record of this.hosts.values()) {
      if (record.host.source === 'hub' && record.host.id === this.selfId) continue;
      const silent = now - Math.max(record.host.last_seen, this.startedAt);
      const status: HostStatus = silent >= downAfterMs ? 'down' : silent >= staleAfterMs ? 'stale' : 'up';
      // Another node may hear from this host now (it may have moved there): the store knows (see `shared`).
      if (this.d.shared && (status !== 'up' || record.host.status !== 'up')) {
        if (!this.fresh(now)) {
          ask = true;
          continue;
        }
      }
      if (status !== record.host.status) this.transition(record, status, now);
    }
    if (ask) void this.reconcile(now);
    void this.publishTopology();
  }

  /** Whether the store was read recently enough (within a summary interval) to judge other nodes' hosts. */
  private fresh(now: number): boolean {
    return now - this.lastReconcile < this.d.config.summaryIntervalMs;
  }

  /** Reads the shared store: newer `last_seen` values (and hosts registered on other nodes), then checks again. */
  private async reconcile(now: number): Promise<void> {
    if (this.reconciling) return;
    this.reconciling = true;
    try {
      const stored = await this.d.store.load();
      for (const r of stored) {
        const mine = this.hosts.get(r.host.id);
        if (mine === undefined) {
          if (this.hosts.size < this.d.config.maxHosts) this.hosts.set(r.host.id, r);
          continue;
        }
        if (r.host.last_seen > mine.host.last_seen) {
          mine.host.last_seen = r.host.last_seen;
          mine.host.node = r.host.node;
        }
      }
      this.lastReconcile = now;
    } catch (err) {
      this.d.log?.('warn', 'could not read the shared host registry', { err: String(err) });
      return;
    } finally {
      this.reconciling = false;
    }
    this.check();
  }

  private transition(record: HostRecord, status: HostStatus, now: number): void {
    const previous = record.host.status;
    record.host.status = status;
    record.host.status_since = now;
    this.d.store.save(record);
    this.dirty.delete(record.host.id);
    this.resources = undefined;
    this.announce(record, previous);
    if (status === 'down') this.alert(record, 'firing');
    else if (previous === 'down') this.alert(record, 'resolved');
  }

  private announce(record: HostRecord, previous: HostStatus | null): void {
    void this.publishTopology();
    this.d
      .emit(NODES_CHANNEL, FleetKind.HOST_STATUS, { host: copy(record.host), previous })
      .catch((err: unknown) => this.d.log?.('error', 'could not publish host_status', { err: String(err) }));
  }

  private alert(record: HostRecord, status: 'firing' | 'resolved'): void {
    const { alerts, config } = this.d;
    if (!alerts || !config.alertOnDown) return;
    const silentFor = Math.round(config.downAfterMs / 1000);
    // Raised on the leader's engine (in a cluster); a failure is logged.
    alerts
      .raise({
        name: HOST_DOWN_ALERT,
        status,
        severity: 'error',
        labels: { ...record.host.labels, host: record.host.id },
        annotations: {
          summary:
            status === 'firing'
              ? `Host '${record.host.id}' has sent nothing for ${silentFor}s`
              : `Host '${record.host.id}' is up again`,
        },
      })
      .catch((err: unknown) => {
        this.d.log?.('error', 'could not raise the host_down alert', { host: record.host.id, err: String(err) });
      });
  }

  private buildResources(): ResourcesData {
    const hosts = this.list().map((h) => ({ id: h.id, status: h.status, labels: h.labels, summary: h.summary }));
    const top = (pick: (h: (typeof hosts)[number]) => number | null | undefined) =>
      hosts
        .filter((h) => h.status !== 'down' && typeof pick(h) === 'number')
        .sort((a, b) => (pick(b) as number) - (pick(a) as number) || (a.id < b.id ? -1 : 1))
        .slice(0, this.d.config.top)
        .map((h) => h.id);
    return {
      ts: this.now(),
      hosts,
      top: {
        cpu: top((h) => h.summary?.cpu_percent),
        memory: top((h) => h.summary?.memory_used_percent),
        disk: top((h) => h.summary?.disk_used_percent),
      },
    };
  }

  /** Every `summary_interval`: stores what changed, publishes `nodes_summary` and `resources`. */
  publishSummaries(): void {
    this.flush();
    const log = (what: string) => (err: unknown) =>
      this.d.log?.('error', `could not publish ${what}`, { err: String(err) });
    this.d.emit(NODES_CHANNEL, FleetKind.NODES_SUMMARY, this.nodesSummary()).catch(log('nodes_summary'));
    this.resources = this.buildResources();
    this.d.emit(RESOURCES_CHANNEL, FleetKind.RESOURCES, this.resources).catch(log('resources'));
  }

  private flush(): void {
    for (const id of this.dirty) {
      const r = this.hosts.get(id);
      if (r) this.d.store.save(r);
    }
    this.dirty.clear();
  }

  private async publishTopology(): Promise<void> {
    let nodes: ClusterNode[];
    try {
      nodes = await this.d.clusterNodes();
    } catch {
      return;
    }
    const data: Omit<TopologyData, 'ts'> = {
      nodes: nodes.map((n) => ({ id: n.id, address: n.address, connections: n.connections })),
      agents: this.list().map((h) => ({ host: h.id, node: h.node, status: h.status, source: h.source })),
      clients: nodes.reduce((n, x) => n + x.connections, 0),
    };
    const key = JSON.stringify(data);
    if (key === this.lastTopology) return;
    this.lastTopology = key;
    this.topology = { ts: this.now(), ...data };
    await this.d
      .emit(TOPOLOGY_CHANNEL, FleetKind.TOPOLOGY, this.topology)
      .catch((err: unknown) => this.d.log?.('error', 'could not publish topology', { err: String(err) }));
  }
}

function copy(h: HostData): HostData {
  return {
    ...h,
    labels: { ...h.labels },
    info: h.info && { ...h.info },
    summary: h.summary && { ...h.summary },
  };
}
