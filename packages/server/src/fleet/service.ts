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
 * - In a cluster each agent reports to one node, which tells the others (`share`, cluster/fleet-relay.ts): at once
 *   for a new host, a registration or a status change, once per check for hosts that only reported. Every node
 *   merges what it hears (`absorb`), so each lists the whole fleet, each host with the node it reports to. Statuses
 *   follow silence on every node alike; the leader alone publishes on `nodes`, `resources` and `topology` (one
 *   broker for all nodes: one event per change, not one per node); `host_down` goes to the leader's alert engine
 *   from whichever node raises it, one alert. A node stores the hosts
 *   that report to it; the leader also stores the status changes of hosts whose node is gone.
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
import { type FleetConfig, hostIdFromName } from './config.js';
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
  /** Whether this node publishes the fleet channels and raises alerts (default: always, a single node). */
  isLeader?: (() => boolean) | undefined;
  /** Tells the cluster's other nodes of hosts that report to this one (none on a single node). */
  share?: ((records: HostRecord[]) => void) | undefined;
  /** Tells the cluster's other nodes that hosts were removed. */
  shareRemoval?: ((ids: string[]) => void) | undefined;
}

export { hostIdFromName };

export class FleetService {
  private readonly hosts = new Map<string, HostRecord>();
  private readonly dirty = new Set<string>();
  /** Hosts reporting here that the other nodes have not heard of since they last reported. */
  private readonly unshared = new Set<string>();
  private shareScheduled = false;
  /** When hosts were removed: a record another node sent before it heard of the removal does not bring one back. */
  private readonly removedAt = new Map<string, number>();
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
    this.unshared.delete(id);
    this.d.store.delete(id);
    this.resources = undefined;
    if (this.d.shareRemoval) {
      this.tombstone([id], this.now());
      this.d.shareRemoval([id]);
    }
  }

  // ---- the other nodes of a cluster ----

  private leading(): boolean {
    return this.d.isLeader?.() ?? true;
  }

  /** Stores a host if it reports to this node, or if this node leads (it then stands in for a node that is gone). */
  private save(record: HostRecord): void {
    if (record.host.node === this.d.nodeId || this.leading()) this.d.store.save(record);
  }

  /** Queues a host reporting here for the other nodes; `now` sends within this turn of the event loop. */
  private share(record: HostRecord, now: boolean): void {
    if (!this.d.share || record.host.node !== this.d.nodeId) return;
    this.unshared.add(record.host.id);
    if (now && !this.shareScheduled) {
      this.shareScheduled = true;
      setImmediate(() => this.sendShared());
    }
  }

  private sendShared(): void {
    this.shareScheduled = false;
    if (!this.d.share || this.unshared.size === 0) return;
    const out: HostRecord[] = [];
    for (const id of this.unshared) {
      const r = this.hosts.get(id);
      if (r && r.host.node === this.d.nodeId) out.push({ host: copy(r.host), lastBatchTs: r.lastBatchTs });
    }
    this.unshared.clear();
    if (out.length > 0) this.d.share(out);
  }

  /**
   * Hosts another node told of: a host this node has not heard from more recently takes the record (its node,
   * description, labels, summary, last seen), and its status moves as it did there.
   */
  absorb(records: readonly HostRecord[]): void {
    const now = this.now();
    for (const incoming of records) {
      const id = incoming.host.id;
      if (!isHostId(id) || (this.d.config.self && id === this.selfId)) continue;
      const removed = this.removedAt.get(id);
      if (removed !== undefined) {
        if (incoming.host.last_seen <= removed) continue;
        this.removedAt.delete(id);
      }
      let record = this.hosts.get(id);
      if (record) {
        record.lastBatchTs = Math.max(record.lastBatchTs, incoming.lastBatchTs);
        if (incoming.host.last_seen < record.host.last_seen) continue;
      } else {
        if (this.hosts.size >= this.d.config.maxHosts) {
          this.d.log?.('warn', 'a host of another node is not listed: the registry is full', { host: id });
          continue;
        }
        record = { host: { ...copy(incoming.host) }, lastBatchTs: incoming.lastBatchTs };
        this.hosts.set(id, record);
        this.resources = undefined;
        this.save(record);
        this.announce(record, null);
        continue;
      }
      const { status } = incoming.host;
      record.host = { ...copy(incoming.host), status: record.host.status, status_since: record.host.status_since };
      this.resources = undefined;
      if (status !== record.host.status) this.transition(record, status, now);
      else void this.publishTopology();
    }
  }

  /** Hosts another node removed. */
  forget(ids: readonly string[]): void {
    this.tombstone(ids, this.now());
    for (const id of ids) {
      if (!this.hosts.delete(id)) continue;
      this.dirty.delete(id);
      this.unshared.delete(id);
      this.resources = undefined;
    }
    void this.publishTopology();
  }

  /**
   * Records removals (see `removedAt`), at most `max_hosts`. Removals older than `down_after` are dropped first: a
   * record another node sent before it heard of a removal arrives long before that.
   */
  private tombstone(ids: readonly string[], now: number): void {
    for (const [id, at] of this.removedAt) if (now - at >= this.d.config.downAfterMs) this.removedAt.delete(id);
    for (const id of ids) if (this.removedAt.size < this.d.config.maxHosts) this.removedAt.set(id, now);
  }

  /** Leadership moved: the new leader publishes the topology as it sees it. */
  lead(leader: boolean): void {
    if (!leader) return;
    this.lastTopology = '';
    void this.publishTopology();
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
    this.save(record);
    this.resources = undefined;
    this.share(record, true);
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
    this.save(record);
    this.dirty.delete(id);
    this.share(record, true);
  }

  private seen(record: HostRecord, now: number): void {
    record.host.last_seen = now;
    const moved = record.host.node !== this.d.nodeId;
    record.host.node = this.d.nodeId;
    this.dirty.add(record.host.id);
    this.share(record, moved);
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
    this.save(record);
  }

  private ensureSelf(now: number): HostRecord | undefined {
    try {
      return this.ensure(this.selfId, now);
    } catch (err) {
      this.d.log?.('warn', "the hub's own host is not listed", { err: String(err) });
      return undefined;
    }
  }

  /** The hub's own host: a heartbeat with the summary of its newest collector samples (`host` = `ownHost`). */
  private selfHeartbeat(now: number): void {
    const record = this.hosts.get(this.selfId);
    if (record?.host.source !== 'hub') return;
    const own = this.d.metrics.current({ prefix: 'system.', labels: { host: this.d.metrics.ownHost } });
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
    this.sendShared();
    if (ask) void this.reconcile();
    void this.publishTopology();
  }

  /** Whether the store was read recently enough (within a summary interval) to judge other nodes' hosts. */
  private fresh(now: number): boolean {
    return now - this.lastReconcile < this.d.config.summaryIntervalMs;
  }

  /** Reads the shared store: newer `last_seen` values (and hosts registered on other nodes), then checks again. */
  private async reconcile(): Promise<void> {
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
      // From when the read ended: a read slower than a summary interval is not started again at once.
      this.lastReconcile = this.now();
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
    this.save(record);
    this.dirty.delete(record.host.id);
    this.resources = undefined;
    this.share(record, true);
    this.announce(record, previous);
    if (status === 'down') this.alert(record, 'firing');
    else if (previous === 'down') this.alert(record, 'resolved');
  }

  private announce(record: HostRecord, previous: HostStatus | null): void {
    void this.publishTopology();
    if (!this.leading()) return;
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
    this.resources = this.buildResources();
    if (!this.leading()) return;
    const log = (what: string) => (err: unknown) =>
      this.d.log?.('error', `could not publish ${what}`, { err: String(err) });
    this.d.emit(NODES_CHANNEL, FleetKind.NODES_SUMMARY, this.nodesSummary()).catch(log('nodes_summary'));
    this.d.emit(RESOURCES_CHANNEL, FleetKind.RESOURCES, this.resources).catch(log('resources'));
  }

  private flush(): void {
    for (const id of this.dirty) {
      const r = this.hosts.get(id);
      if (r) this.save(r);
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
    if (!this.leading()) return;
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
