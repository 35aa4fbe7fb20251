/**
 * @module fleet
 * The fleet part: the host registry fed by `vigil agent` (publishes to `hosts.<id>`) and by the hub's own
 * collector, the `nodes`, `resources` and `topology` channels with their snapshots, the `hosts.list` and
 * `hosts.get` calls and the `/api/v1/hosts` routes. See fleet/service.ts.
 */
import type { ClusterNode } from '@vigil/protocol';
import type { AlertBus } from '../alerts/types.js';
import type { MetricsService } from '../metrics/service.js';
import type { HubPart, PartContext } from '../part.js';
import { type HostRecord, StateHostStore } from './host-store.js';
import { fleetRoutes } from './routes.js';
import { checked, HostIdParams, ListHostsQuery, parseLabelFilter } from './schemas.js';
import { FleetService, HOSTS_PREFIX, NODES_CHANNEL, RESOURCES_CHANNEL, TOPOLOGY_CHANNEL } from './service.js';

export { FleetService, HOST_DOWN_ALERT, hostIdFromName } from './service.js';

export interface FleetPartDeps {
  metrics: MetricsService;
  alerts?: AlertBus | undefined;
  clusterNodes: () => Promise<ClusterNode[]>;
  /** Whether this node leads its cluster (publishes the fleet channels, raises `host_down`); default always. */
  isLeader?: (() => boolean) | undefined;
  /** Tells the cluster's other nodes of hosts reporting to this one, and of removed hosts (cluster/fleet-relay.ts). */
  share?: ((records: HostRecord[]) => void) | undefined;
  shareRemoval?: ((ids: string[]) => void) | undefined;
  version: string;
  now?: (() => number) | undefined;
}

export function createFleetPart(ctx: PartContext, deps: FleetPartDeps): { part: HubPart; service: FleetService } {
  const log = ctx.log.child({ part: 'fleet' });
  const service = new FleetService({
    config: ctx.config.fleet,
    nodeId: ctx.config.nodeId,
    store: new StateHostStore(ctx.state, (msg, extra) => log.warn(extra, msg)),
    metrics: deps.metrics,
    alerts: deps.alerts,
    emit: (channel, kind, data) => ctx.emit(channel, kind, data),
    clusterNodes: deps.clusterNodes,
    isLeader: deps.isLeader,
    share: deps.share,
    shareRemoval: deps.shareRemoval,
    now: deps.now,
    version: deps.version,
    shared: ctx.config.store.engine === 'postgres',
    log: (level, msg, extra) => log[level](extra ?? {}, msg),
  });
  ctx.claimPublish(`${HOSTS_PREFIX}>`, (req) => service.publish(req));
  ctx.methods.register('hosts.list', (params) => {
    const p = checked('hosts.list', ListHostsQuery, params ?? {});
    return { hosts: service.list({ status: p.status, labels: parseLabelFilter(p.label) }) };
  });
  ctx.methods.register('hosts.get', (params) => service.get(checked('hosts.get', HostIdParams, params).id));
  ctx.snapshots.register(NODES_CHANNEL, () => service.nodesSummary());
  ctx.snapshots.register(RESOURCES_CHANNEL, () => service.currentResources());
  ctx.snapshots.register(TOPOLOGY_CHANNEL, () => service.currentTopology());
  return {
    service,
    part: {
      name: 'fleet',
      start: () => service.start(),
      routes: (app) => fleetRoutes(app, service),
      stop: () => service.stop(),
      lead: (leader) => service.lead(leader),
    },
  };
}
