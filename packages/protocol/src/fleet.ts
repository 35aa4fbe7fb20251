/**
 * @module fleet
 * The fleet's wire shapes: what an agent publishes to `hosts.<id>` (registration, heartbeat, sample batches), the
 * host records served by `GET /api/v1/hosts` and `hosts.list`, and the data of the `nodes`, `resources` and
 * `topology` channels.
 */

/** A host's state: `up` while it reports, `stale` after missed heartbeats, `down` after longer silence. */
export type HostStatus = 'up' | 'stale' | 'down';

/** The kinds an agent publishes to `hosts.<id>`. */
export const AgentKind = {
  REGISTER: 'agent_register',
  HEARTBEAT: 'agent_heartbeat',
  SAMPLES: 'agent_samples',
} as const;

/** The kinds the hub publishes on the fleet channels. */
export const FleetKind = {
  HOST_STATUS: 'host_status',
  NODES_SUMMARY: 'nodes_summary',
  RESOURCES: 'resources',
  TOPOLOGY: 'topology',
} as const;

/** What a host is, as its agent registers it (`agent_register`). */
export interface HostInfo {
  hostname: string;
  machine_id: string;
  os: string;
  kernel: string;
  arch: string;
  cores: number;
  memory_bytes: number;
  /** ms since the epoch. */
  boot_time: number;
  agent_version: string;
  /** The agent's collect interval, ms. */
  interval_ms: number;
}

/** `agent_register` data: the host's description and labels. */
export interface AgentRegistration extends HostInfo {
  labels?: Record<string, string>;
}

/** One sample of an `agent_samples` batch; its time is the batch's `ts`. */
export interface AgentSample {
  name: string;
  value: number;
  labels?: Record<string, string>;
}

/** `agent_samples` data: one collect of the agent, stamped `ts` (ms since the epoch). */
export interface AgentSamplesBatch {
  ts: number;
  samples: AgentSample[];
}

/** A host's latest utilisation, from its newest sample batch. Null where the host reported no such metric. */
export interface HostSummary {
  /** ms since the epoch of the batch the figures come from. */
  ts: number;
  cpu_percent: number | null;
  load_1m: number | null;
  memory_used_percent: number | null;
  memory_used_bytes: number | null;
  memory_total_bytes: number | null;
  /** The fullest filesystem's used percent. */
  disk_used_percent: number | null;
  net_rx_bytes_per_s: number | null;
  net_tx_bytes_per_s: number | null;
}

/** A host as the registry holds it. */
export interface HostData {
  id: string;
  /** `hub` for the hub's own machine, `agent` for hosts that stream through `vigil agent`. */
  source: 'hub' | 'agent';
  status: HostStatus;
  labels: Record<string, string>;
  info: HostInfo | null;
  /** ms since the epoch. */
  first_seen: number;
  last_seen: number;
  /** When the status last changed. */
  status_since: number;
  /** The hub node the host last reported to. */
  node: string;
  summary: HostSummary | null;
}

/** `nodes` channel, kind `nodes_summary` (and its snapshot): counts by status and every host. */
export interface NodesSummaryData {
  ts: number;
  counts: Record<HostStatus, number>;
  hosts: HostData[];
}

/** `nodes` channel, kind `host_status`: one host whose status changed. */
export interface HostStatusData {
  host: HostData;
  previous: HostStatus | null;
}

/** One host's utilisation on `resources`. */
export interface HostResources {
  id: string;
  status: HostStatus;
  labels: Record<string, string>;
  summary: HostSummary | null;
}

/** `resources` channel, kind `resources` (and its snapshot). */
export interface ResourcesData {
  ts: number;
  hosts: HostResources[];
  /** Host ids, highest first, at most `fleet.top` each. */
  top: { cpu: string[]; memory: string[]; disk: string[] };
}

/** `topology` channel, kind `topology` (and its snapshot), published on change. */
export interface TopologyData {
  ts: number;
  nodes: { id: string; address: string; connections: number }[];
  /** Each host and the hub node it reports to. */
  agents: { host: string; node: string; status: HostStatus; source: 'hub' | 'agent' }[];
  /** WebSocket clients connected across the nodes. */
  clients: number;
}
