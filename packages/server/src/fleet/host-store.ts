/**
 * @module host-store
 * Hosts in the hub's state store: one record per host (identity, labels, description, first and last
 * seen, status, latest summary, the newest sample batch taken), so that the registry survives a restart. The
 * registry (fleet/registry.ts) is the only user; it speaks to this module only through `HostStore`, so the table
 * can move behind another state store without touching the registry.
 */
import type { HostData, HostInfo, HostStatus, HostSummary } from '@vigil/protocol';
import type { StateStore } from '../storage/state-store.js';

/** A stored host: the public record and the time of the newest sample batch taken (to drop re-sent batches). */
export interface HostRecord {
  host: HostData;
  lastBatchTs: number;
}

/** What the registry needs from storage. */
export interface HostStore {
  load(): Promise<HostRecord[]>;
  /** Writes behind: the registry never waits for storage. */
  save(record: HostRecord): void;
  delete(id: string): void;
  /** Resolves once every write made so far is stored. */
  settled(): Promise<void>;
}

/** The row of a host (shared by the SQL engines). */
export interface HostRow {
  id: string;
  source: string;
  status: string;
  labels: string;
  info: string | null;
  first_seen: number;
  last_seen: number;
  status_since: number;
  node: string;
  summary: string | null;
  last_batch_ts: number;
}

export const HOST_COLUMNS = [
  'id',
  'source',
  'status',
  'labels',
  'info',
  'first_seen',
  'last_seen',
  'status_since',
  'node',
  'summary',
  'last_batch_ts',
] as const;

export function hostFromRow(r: HostRow): HostRecord {
  return {
    host: {
      id: r.id,
      source: r.source === 'hub' ? 'hub' : 'agent',
      status: r.status as HostStatus,
      labels: JSON.parse(r.labels) as Record<string, string>,
      info: r.info === null ? null : (JSON.parse(r.info) as HostInfo),
      first_seen: r.first_seen,
      last_seen: r.last_seen,
      status_since: r.status_since,
      node: r.node,
      summary: r.summary === null ? null : (JSON.parse(r.summary) as HostSummary),
    },
    lastBatchTs: r.last_batch_ts,
  };
}

export function hostToRow({ host, lastBatchTs }: HostRecord): HostRow {
  return {
    id: host.id,
    source: host.source,
    status: host.status,
    labels: JSON.stringify(host.labels),
    info: host.info === null ? null : JSON.stringify(host.info),
    first_seen: host.first_seen,
    last_seen: host.last_seen,
    status_since: host.status_since,
    node: host.node,
    summary: host.summary === null ? null : JSON.stringify(host.summary),
    last_batch_ts: lastBatchTs,
  };
}

/**
 * The registry's HostStore on the hub's StateStore: the registry loads once at start and then writes behind, one
 * write after another; a failed write is logged, and `settled()` waits for every write made so far.
 */
export class StateHostStore implements HostStore {
  private tail: Promise<void> = Promise.resolve();

  constructor(
    private readonly state: StateStore,
    private readonly log?: (msg: string, extra: Record<string, unknown>) => void,
  ) {}

  load(): Promise<HostRecord[]> {
    return this.state.hosts();
  }

  private later(what: string, write: () => Promise<void>): void {
    this.tail = this.tail.then(write).catch((err: unknown) => this.log?.(`could not ${what}`, { err: String(err) }));
  }

  save(record: HostRecord): void {
    const copy = structuredClone(record);
    this.later('store a host', () => this.state.saveHost(copy));
  }

  delete(id: string): void {
    this.later('delete a host', () => this.state.deleteHost(id));
  }

  settled(): Promise<void> {
    return this.tail;
  }
}
