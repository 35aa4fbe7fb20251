/**
 * @module hub
 * A real hub for the e2e tests, screenshots and bench: on 127.0.0.1 port 0 (or a given port, to restart on the same
 * one), with a temporary data directory, serving the dashboard build from `packages/dashboard/dist`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Broker, Hub, loadConfig } from '@vigil/server';

export const DASHBOARD_DIST = fileURLToPath(new URL('../packages/dashboard/dist', import.meta.url));

export interface TestHub {
  hub: Hub;
  url: string;
  port: number;
  dir: string;
  /** Stops the hub and removes its data directory (unless kept for a restart). */
  stop(keepData?: boolean): Promise<void>;
}

export async function startHub(
  overrides: Record<string, unknown> = {},
  options: { port?: number; dir?: string; broker?: Broker } = {},
): Promise<TestHub> {
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'vigil-e2e-'));
  const config = loadConfig({
    env: {},
    cwd: dir,
    overrides: {
      host: '127.0.0.1',
      port: options.port ?? 0,
      data_dir: dir,
      log_level: 'silent',
      node_id: 'e2e-hub',
      dashboard: { dir: DASHBOARD_DIST },
      ...overrides,
    },
  });
  const hub = await Hub.create(config, options.broker ? { broker: options.broker } : {});
  const { url, port } = await hub.listen();
  return {
    hub,
    url,
    port,
    dir,
    async stop(keepData = false) {
      await hub.stop();
      if (!keepData) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A JSON request to the hub's REST API; rejects on an error status with the hub's message. */
export async function api<T = unknown>(
  base: string,
  method: string,
  path: string,
  body?: unknown,
  token?: string,
): Promise<T> {
  const headers: Record<string, string> = {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await fetch(`${base}${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  const parsed = text ? JSON.parse(text) : undefined;
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return parsed as T;
}
