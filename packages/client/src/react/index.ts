/**
 * @module @vigil/client/react
 * React hooks over a `VigilClient`: `VigilProvider`, `useConnectionState`, `useTransport`, `useChannel`, `useMetric`, `useAlerts`,
 * `useTasks`, `useIncidents`, and the fleet's `useHosts`, `useHost`, `useResources`, `useTopology`. Updates are
 * batched per animation frame; everything is released on unmount.
 */
export { type Batcher, createBatcher, FALLBACK_FRAME_MS } from './batch.js';
export { useVigilClient, VigilProvider, type VigilProviderProps } from './provider.js';
export { DEFAULT_CHANNEL_LIMIT, type UseChannelOptions, useChannel } from './use-channel.js';
export { useConnectionState, useTransport } from './use-connection-state.js';
export { extractList, useAlerts, useEntityMap, useIncidents, useTasks } from './use-entities.js';
export { useHost, useHosts, useResources, useTopology } from './use-fleet.js';
export {
  DEFAULT_METRIC_MAX_POINTS,
  DEFAULT_METRIC_WINDOW_MS,
  type MetricPoint,
  type UseMetricOptions,
  useMetric,
} from './use-metric.js';
