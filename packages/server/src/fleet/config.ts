/**
 * @module fleet-config
 * Configuration of the fleet part (`fleet:` in the config file): the host registry's bound, the heartbeat timeouts
 * that move a host to `stale` and `down`, and how often the fleet channels are published.
 */
import { hostname } from 'node:os';
import { type Static, Type } from '@sinclair/typebox';
import { DurationSchema as Duration, parseDuration } from '../config/duration.js';

export const FleetConfigSchema = Type.Object(
  {
    max_hosts: Type.Integer({
      minimum: 1,
      maximum: 100_000,
      default: 1000,
      description: 'Most hosts the registry holds; a new host past it is refused with `too_many_hosts`.',
    }),
    stale_after: Duration('10s', 'A host that has sent nothing for this long becomes `stale`.'),
    down_after: Duration('30s', 'A host that has sent nothing for this long becomes `down` (and raises `host_down`).'),
    check_interval: Duration('1s', 'How often host statuses are checked.'),
    summary_interval: Duration('10s', 'How often `nodes` carries a summary and `resources` the utilisation.'),
    top: Type.Integer({ minimum: 1, maximum: 100, default: 5, description: 'Hosts in each top list of `resources`.' }),
    self: Type.Boolean({ default: true, description: "List the hub's own machine as a host." }),
    self_id: Type.String({
      default: '',
      pattern: '^([A-Za-z0-9_:-]{1,64})?$',
      description:
        "The hub's own host id; empty: on a cluster node its `node_id`, else (or with no `node_id` set) its hostname (characters outside [A-Za-z0-9_:-] become `-`).",
    }),
    alert_on_down: Type.Boolean({ default: true, description: 'Raise a `host_down` alert when a host goes `down`.' }),
    max_batch_samples: Type.Integer({
      minimum: 1,
      maximum: 100_000,
      default: 5000,
      description: 'Most samples in one `agent_samples` publish.',
    }),
  },
  { additionalProperties: false, default: {} },
);

export interface FleetConfig {
  readonly maxHosts: number;
  readonly staleAfterMs: number;
  readonly downAfterMs: number;
  readonly checkIntervalMs: number;
  readonly summaryIntervalMs: number;
  readonly top: number;
  readonly self: boolean;
  /** The hub's own host id: `self_id`; else a cluster node's `node_id` (when set), else the hostname. */
  readonly selfId: string;
  /**
   * The `host` label of the hub's own collector series: `selfId` on a cluster node (its series are then apart from
   * every other node's, in the shared store, on the broker and on the leader), '' (unlabelled) on a single node.
   */
  readonly ownHost: string;
  readonly alertOnDown: boolean;
  readonly maxBatchSamples: number;
}

/** The hub's own host id from a name: characters outside [A-Za-z0-9_:-] become `-`, at most 64. */
export function hostIdFromName(name: string): string {
  const id = name.replace(/[^A-Za-z0-9_:-]/g, '-').slice(0, 64);
  return id === '' ? 'host' : id;
}

/**
 * A hub is a cluster node when it shares its broker (`broker.engine: redis`) or its store (`store.engine: postgres`)
 * with other nodes: `nodeId` is its configured `node_id` (undefined when not set).
 */
export interface FleetNode {
  cluster: boolean;
  nodeId?: string | undefined;
}

export function toFleetConfig(
  raw: Static<typeof FleetConfigSchema>,
  node: FleetNode = { cluster: false },
): FleetConfig {
  const selfId = raw.self_id || hostIdFromName(node.cluster && node.nodeId ? node.nodeId : hostname());
  const stale = Math.max(100, parseDuration(raw.stale_after)!);
  return {
    maxHosts: raw.max_hosts,
    staleAfterMs: stale,
    downAfterMs: Math.max(stale, parseDuration(raw.down_after)!),
    checkIntervalMs: Math.max(50, parseDuration(raw.check_interval)!),
    summaryIntervalMs: Math.max(100, parseDuration(raw.summary_interval)!),
    top: raw.top,
    self: raw.self,
    selfId,
    ownHost: node.cluster ? selfId : '',
    alertOnDown: raw.alert_on_down,
    maxBatchSamples: raw.max_batch_samples,
  };
}
