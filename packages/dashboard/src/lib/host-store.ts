/**
 * @module host-store
 * The session's host metric store: created on first use, subscribed to `metrics.system.>` and `metrics.process.>`,
 * and kept while the session lasts, so that leaving the Overview and coming back keeps the live points.
 */
import type { VigilClient } from '@vigil/client';
import { SeriesStore } from '../charts/series-store.js';
import { useHub } from './hub-context.js';

const stores = new WeakMap<VigilClient, SeriesStore>();

export function useHostStore(): SeriesStore {
  const { client } = useHub();
  let store = stores.get(client);
  if (!store) {
    store = new SeriesStore(client, ['metrics.system.>', 'metrics.process.>']);
    stores.set(client, store);
  }
  return store;
}
