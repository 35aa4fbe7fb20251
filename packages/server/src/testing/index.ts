/**
 * @module @vigil/server/testing
 * What an engine needs to prove itself against Vigil's interfaces: the Broker conformance suite (one node, or two
 * nodes of one cluster), the MetricStore and StateStore conformance suites, a hub fixture whose broker engine comes from
 * VIGIL_TEST_BROKER, service discovery for Redis and PostgreSQL suites, a private redis-server for fault tests, and a
 * broker wrapper that delivers late, twice or not at all.
 */
export {
  type BrokerFactory,
  type BrokerFactoryOptions,
  brokerConformance,
  type ConformanceMode,
} from '../broker/conformance.js';
export {
  assertRawEqual,
  bruteRollups,
  type ConformanceTarget,
  metricStoreConformance,
  toBatch,
} from '../storage/metric-store-conformance.js';
export { type StateStoreTarget, stateStoreConformance } from '../storage/state-store-conformance.js';
export { freePort } from './free-port.js';
export { type Frame, type RunningHub, startHub, TestClient, until } from './hub-fixture.js';
export { PrivateRedis } from './redis-server.js';
export { prng } from './seeded-random.js';
export {
  databaseUrl,
  dropPostgresSchema,
  dropRedisPrefix,
  postgresReachable,
  randomSchema,
  redisReachable,
  redisUrl,
  requireService,
} from './services.js';
export { type Unreliability, UnreliableBroker } from './unreliable-broker.js';
