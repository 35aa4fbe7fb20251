/**
 * @module real-hub
 * Test support: the real hub (`@vigil/server`) in this process on 127.0.0.1, port 0 unless given (a restart on the
 * same port), with a temporary data directory removed by `removeHubDirs()`, the collector off, and a history large
 * enough for the burst tests.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Hub, loadConfig } from '@vigil/server';

const dirs: string[] = [];

export interface RealHub {
  hub: Hub;
  port: number;
  /** `http://127.0.0.1:<port>` */
  httpUrl: string;
  /** `ws://127.0.0.1:<port>/ws` */
  url: string;
}

export async function startRealHub(overrides: Record<string, unknown> = {}, port = 0): Promise<RealHub> {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-client-'));
  dirs.push(dir);
  const config = loadConfig({
    env: {},
    cwd: dir,
    overrides: {
      host: '127.0.0.1',
      port,
      data_dir: dir,
      log_level: 'silent',
      metrics: { collect_interval: 0 },
      history: { max_events: 30_000 },
      ...overrides,
    },
  });
  const hub = await Hub.create(config);
  const bound = await hub.listen();
  return { hub, port: bound.port, httpUrl: bound.url, url: `ws://127.0.0.1:${bound.port}/ws` };
}

/** Removes the data directories of the hubs started so far (call it in `after`). */
export function removeHubDirs(): void {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}
