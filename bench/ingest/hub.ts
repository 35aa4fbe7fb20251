/**
 * @module bench/ingest/hub
 * Runs the built hub (`packages/server/dist/cli/main.js serve`) as a child process for the ingest and alert benches:
 * writes its YAML config, starts it on a free port with `bench/fanout/server-process`, stops it gracefully (SIGTERM,
 * then waits for the exit so the store can checkpoint), reads `/api/v1/stats`, and builds the server when `dist` is
 * missing.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort, ServerProcess } from '../fanout/server-process.js';

export type YamlValue = string | number | boolean | null | YamlValue[] | { [key: string]: YamlValue };

function scalar(v: YamlValue): string {
  if (typeof v === 'string') return /^[A-Za-z0-9_.][A-Za-z0-9_./-]*$/.test(v) ? v : JSON.stringify(v);
  if (v === null) return 'null';
  if (typeof v !== 'object') return String(v);
  // Flow style: JSON with plain keys is valid YAML.
  if (Array.isArray(v)) return `[${v.map(scalar).join(', ')}]`;
  return `{${Object.entries(v)
    .map(([k, x]) => `${k}: ${scalar(x)}`)
    .join(', ')}}`;
}

/** A small YAML emitter: block mappings, block sequences whose items are flow-style. */
export function toYaml(value: { [key: string]: YamlValue }, indent = ''): string {
  let out = '';
  for (const [k, v] of Object.entries(value)) {
    if (Array.isArray(v)) {
      out += v.length === 0 ? `${indent}${k}: []\n` : `${indent}${k}:\n`;
      for (const item of v) out += `${indent}  - ${scalar(item)}\n`;
    } else if (v !== null && typeof v === 'object') {
      out += `${indent}${k}:\n${toYaml(v, `${indent}  `)}`;
    } else out += `${indent}${k}: ${scalar(v)}\n`;
  }
  return out;
}

export interface HubSpec {
  root: string;
  /** Scratch directory for the config file and the child's log. */
  tmpDir: string;
  name: string;
  dataDir: string;
  config: { [key: string]: YamlValue };
  /** Extra `node` flags, e.g. `--cpu-prof`. */
  nodeFlags?: string[];
  readyTimeoutMs?: number;
}

export interface RunningHub {
  server: ServerProcess;
  port: number;
  dataDir: string;
}

export const HUB_MAIN = 'packages/server/dist/cli/main.js';

export async function startHub(spec: HubSpec): Promise<RunningHub> {
  const port = await freePort();
  const configPath = join(spec.tmpDir, `${spec.name}.yaml`);
  writeFileSync(configPath, toYaml(spec.config));
  const args = [
    join(spec.root, HUB_MAIN),
    'serve',
    '--host',
    '127.0.0.1',
    '--port',
    String(port),
    '--data',
    spec.dataDir,
    '--config',
    configPath,
  ];
  const server = await ServerProcess.start(
    { args, cwd: spec.root, logDir: spec.tmpDir, name: spec.name, port, nodeFlags: spec.nodeFlags ?? [] },
    spec.readyTimeoutMs ?? 30_000,
  );
  return { server, port, dataDir: spec.dataDir };
}

/**
 * SIGTERM, then waits up to `timeoutMs` for the process to exit on its own (the hub drains and checkpoints its
 * store). Returns whether it exited gracefully and how long that took; a hub still running is then killed.
 */
export async function stopHub(hub: RunningHub, timeoutMs = 60_000): Promise<{ graceful: boolean; ms: number }> {
  const t0 = Date.now();
  if (!hub.server.alive) return { graceful: false, ms: 0 };
  process.kill(hub.server.pid, 'SIGTERM');
  while (hub.server.alive && Date.now() - t0 < timeoutMs) await sleep(50);
  const graceful = !hub.server.alive;
  if (!graceful) await hub.server.stop();
  return { graceful, ms: Date.now() - t0 };
}

export interface HubStats {
  events_published: number;
  queue_drops: number;
  messages_out: number;
}

export function getJson<T>(port: number, path: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, timeout: 10_000 }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => {
        const text = Buffer.concat(parts).toString('utf8');
        if (res.statusCode !== 200) reject(new Error(`GET ${path}: HTTP ${res.statusCode} ${text.slice(0, 300)}`));
        else resolve(JSON.parse(text) as T);
      });
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error(`GET ${path}: timeout`)));
  });
}

export function hubStats(port: number): Promise<HubStats> {
  return getJson<HubStats>(port, '/api/v1/stats');
}

/** Builds the server when `dist` is missing (or always with `force`); returns why it is unavailable, or null. */
export function ensureHubBuilt(root: string, force: boolean, log: (line: string) => void): string | null {
  const main = join(root, HUB_MAIN);
  if (existsSync(main) && !force) return null;
  log('running npm run build ...');
  const res = spawnSync('npm', ['run', 'build'], { cwd: root, encoding: 'utf8' });
  if (res.status === 0 && existsSync(main)) return null;
  const tail = `${res.stdout ?? ''}${res.stderr ?? ''}`.trim().split('\n').slice(-8).join('\n');
  return `npm run build failed (exit ${res.status}):\n${tail}`;
}

/** What was measured: the commit, whether the server sources differ from it, and when `dist` was built. */
export function buildInfo(root: string): Record<string, string> {
  const git = (...args: string[]): string =>
    spawnSync('git', args, { cwd: root, encoding: 'utf8' }).stdout?.trim() ?? '';
  const dist = join(root, 'packages/server/dist');
  let newest = 0;
  try {
    for (const entry of readdirSync(dist, { recursive: true, encoding: 'utf8' })) {
      if (entry.endsWith('.js')) newest = Math.max(newest, statSync(join(dist, entry)).mtimeMs);
    }
  } catch {
    // no dist
  }
  return {
    commit: git('rev-parse', '--short', 'HEAD'),
    serverSourcesChanged: git('status', '--porcelain', 'packages/server/src') === '' ? 'no' : 'yes',
    distNewestFile: newest > 0 ? new Date(newest).toISOString() : 'missing',
  };
}
