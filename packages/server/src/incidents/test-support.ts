/**
 * @module incidents-test-support
 * A stand-in for the Hub in incident tests: a real SQLite state store in a temporary directory, a real method registry,
 * and an `emit` that records every published event.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MethodRegistry } from '../gateway/methods.js';
import { SqliteStateStore } from '../storage/sqlite-state-store.js';
import type { IncidentsConfig } from './config.js';
import type { IncidentsHost } from './index.js';
import type { Incident } from './types.js';

export interface RecordedEvent {
  channel: string;
  kind: string;
  data: Incident;
}

export interface TestHost extends IncidentsHost {
  readonly methods: MethodRegistry;
  readonly events: RecordedEvent[];
  readonly dir: string;
  kinds(): string[];
  /** Closes the database and removes the directory (unless `keep`). */
  close(keep?: boolean): void;
}

export function incidentsConfig(overrides: Partial<IncidentsConfig> = {}): IncidentsConfig {
  return {
    groupBy: ['alertname'],
    autoResolve: true,
    checkIntervalMs: 60_000,
    ...overrides,
    escalation: { afterMs: 0, repeat: true, targets: [], ...overrides.escalation },
  };
}

export function testHost(config: IncidentsConfig, dir = mkdtempSync(join(tmpdir(), 'vigil-incidents-'))): TestHost {
  const state = new SqliteStateStore({ path: join(dir, 'state.db') }).openSync();
  const events: RecordedEvent[] = [];
  return {
    config: { incidents: config },
    state,
    methods: new MethodRegistry(),
    events,
    dir,
    emit(channel, kind, data) {
      events.push({ channel, kind, data: data as Incident });
      return Promise.resolve();
    },
    kinds: () => events.map((e) => e.kind),
    close(keep = false) {
      void state.close();
      if (!keep) rmSync(dir, { recursive: true, force: true });
    },
  };
}
