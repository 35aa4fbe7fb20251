/**
 * @module @vigil/server
 * The Vigil hub as a library: build a configuration, create the hub, listen; `serve(argv)` is `vigil serve`.
 */
export * from './broker/broker.js';
export { HistoryPolicies, type HistoryRule } from './broker/history-policy.js';
export { MemoryBroker } from './broker/memory-broker.js';
export { RedisBroker, type RedisBrokerOptions } from './broker/redis-broker.js';
export { SERVE_USAGE, serve } from './cli/serve.js';
export { type Config, ConfigError, loadConfig } from './config/load.js';
export { Hub, type HubOptions, type HubStats, RESERVED_PATTERNS } from './hub.js';
export type { MetricStore, SampleBatch } from './storage/metric-store.js';
export { PostgresMetricStore, type PostgresMetricStoreOptions } from './storage/postgres-metric-store.js';
export { SqliteMetricStore, type SqliteMetricStoreOptions } from './storage/sqlite-store.js';
