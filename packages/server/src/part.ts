/**
 * @module part
 * What a part of the hub (metrics, alerts, incidents, tasks, notifications, dashboard) is, and the narrow context it
 * is built with. Parts never see the Hub itself: they publish through `emit`, register `call` methods and snapshots,
 * claim channels clients publish to, and keep their state in the state store. The hub builds each part with a
 * PartContext, starts it after the broker, gives it a Fastify scope of its own for its routes, and stops it after
 * the gateway has drained.
 */
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { StoredEvent } from './broker/broker.js';
import type { Config } from './config/load.js';
import type { PublishRequest } from './gateway/gateway.js';
import type { MethodRegistry } from './gateway/methods.js';
import type { SnapshotRegistry } from './gateway/snapshots.js';
import type { StateStore } from './storage/state-store.js';

export interface HubPart {
  readonly name: string;
  start?(): void | Promise<void>;
  /** Adds the part's routes to `app`, a Fastify scope of the part's own. */
  routes?(app: FastifyInstance): void | Promise<void>;
  stop?(): void | Promise<void>;
  /**
   * Leadership changed: in a cluster, what must run once cluster-wide (alert evaluation, escalation, task checks,
   * scrapes) runs on the lease holder only. Called after `start`, with false when this node follows and true when it
   * becomes the leader; a single node always leads and is never called.
   */
  lead?(leader: boolean): void | Promise<void>;
}

/** Takes a client's publish to a claimed channel (the metrics part takes `metrics.>` as an ingest path). */
export type PublishHandler = (req: PublishRequest, source: string) => Promise<StoredEvent>;

export interface PartContext {
  readonly config: Config;
  readonly log: Logger;
  readonly methods: MethodRegistry;
  readonly snapshots: SnapshotRegistry;
  /** The hub's state store (SQLite or PostgreSQL). */
  readonly state: StateStore;
  /** Publishes an event from inside the hub. */
  emit(channel: string, kind: string, data: unknown, ts?: number): Promise<StoredEvent>;
  /** Lets the part take the publishes of clients to channels matching `pattern`. */
  claimPublish(pattern: string, handle: PublishHandler): void;
}
