/**
 * @module dashboard
 * The dashboard as a hub part: the built single-page app (`@vigil/dashboard`, or `dashboard.dir`) served at `/` in
 * its own Fastify scope. It needs nothing from the rest of the hub but where its files are and which paths belong
 * to the API.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { Config } from '../config/load.js';
import type { HubPart } from '../part.js';
import { dashboardRoutes } from './routes.js';

/** The `dist` folder of the installed `@vigil/dashboard` package, or undefined when it is not installed. */
export function installedDashboardDir(): string | undefined {
  try {
    const pkg = createRequire(import.meta.url).resolve('@vigil/dashboard/package.json');
    return join(dirname(pkg), 'dist');
  } catch {
    return undefined;
  }
}

/** The WebSocket paths of the mounted dialects: a plain GET there is not the app. */
function dialectPaths(config: Config): string[] {
  const d = config.dialects;
  const paths: string[] = [];
  if (d.perfmon.enabled) paths.push(d.perfmon.path);
  if (d.envelope.enabled) paths.push(d.envelope.path);
  if (d.incident.enabled) paths.push(d.incident.path);
  if (d.rooms.enabled) paths.push(d.rooms.path);
  if (d.streams.enabled) paths.push(d.streams.path, d.streams.alertsPath);
  return paths;
}

export function createDashboardPart(config: Config): HubPart {
  const dir = config.dashboard.dir ?? installedDashboardDir();
  const built = dir !== undefined && existsSync(join(dir, 'index.html'));
  return {
    name: 'dashboard',
    routes: (scope) =>
      dashboardRoutes(scope, {
        dir: built ? dir : undefined,
        reservedPrefixes: ['/api', '/metrics', '/health', '/ready', config.gateway.path, ...dialectPaths(config)],
      }),
  };
}
