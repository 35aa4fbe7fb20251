/**
 * @module agent-command
 * `vigil agent --hub <url> [--token T] [--interval 1s] [--labels k=v,...] [--host-id ID] [--buffer-dir DIR]
 * [--buffer-max-bytes N] [--buffer-max-age D] [--heartbeat D]`: runs the Agent (agent/agent.ts) until SIGINT or
 * SIGTERM. Every flag has an environment variable (VIGIL_AGENT_*; the hub and token also VIGIL_URL/VIGIL_TOKEN).
 */

import { readFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent } from '../agent/agent.js';
import { SampleBuffer } from '../agent/buffer.js';
import { HOST_ID, hostIdFrom } from '../agent/identity.js';
import { Exit, type Io, UsageError } from '../io.js';
import { hubTarget, parseCommand } from '../options.js';

export const AGENT_USAGE = `Usage: vigil agent --hub URL [--token T] [--interval 1s] [--labels k=v,...] [options]

Collects this host's metrics (CPU, memory, disks, network, load) every interval and streams them to the hub, which
lists the host in its fleet. No HTTP server, no storage: while the hub is unreachable samples wait in a bounded
buffer on disk and are sent, in order, when it is back. Runs until SIGINT or SIGTERM. See docs/agent.md.
  --hub URL             the hub (http(s):// or ws(s)://; or VIGIL_URL)
  --token T             a credential with publish rights on hosts.<host id> (or VIGIL_TOKEN)
  --interval D          collect interval (default 1s; VIGIL_AGENT_INTERVAL)
  --labels k=v,...      labels of this host (repeatable; VIGIL_AGENT_LABELS)
  --host-id ID          this host's id (default: the hostname; VIGIL_AGENT_HOST_ID)
  --buffer-dir DIR      where samples wait while the hub is away (VIGIL_AGENT_BUFFER_DIR)
  --buffer-max-bytes N  most bytes buffered on disk (default 64MiB; VIGIL_AGENT_BUFFER_MAX_BYTES)
  --buffer-max-age D    samples older than this are dropped unsent (default 24h; VIGIL_AGENT_BUFFER_MAX_AGE)
  --heartbeat D         heartbeat when nothing was sent for this long (default 5s; VIGIL_AGENT_HEARTBEAT)
  -h, --help            this help
V8's optimising compilers are off in the agent, to save memory; VIGIL_AGENT_JIT=1 turns them back on.`;

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `500ms`, `1s`, `2m`, `24h`, `7d` or a bare number of ms. */
export function parseDurationFlag(flag: string, text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(text.trim());
  if (!m) throw new UsageError(`${flag}: '${text}' is not a duration such as 500ms, 1s, 5m or 24h`, 'agent');
  return Math.round(Number(m[1]) * UNITS[m[2] ?? 'ms']!);
}

/** `k=v,k2=v2` (several flags add up) to labels, checked like the hub checks them. */
export function parseLabels(values: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const text of values) {
    for (const pair of text.split(',')) {
      if (pair === '') continue;
      const eq = pair.indexOf('=');
      const key = pair.slice(0, eq);
      if (eq <= 0 || !/^[a-zA-Z_][a-zA-Z0-9_]{0,63}$/.test(key) || key === 'host') {
        throw new UsageError(`--labels: '${pair}' is not k=v with k a label name (not 'host')`, 'agent');
      }
      const value = pair.slice(eq + 1);
      if (value.length > 256) throw new UsageError(`--labels: the value of '${key}' is over 256 characters`, 'agent');
      out[key] = value;
    }
  }
  if (Object.keys(out).length > 16) throw new UsageError('--labels: at most 16 labels', 'agent');
  return out;
}

function version(): string {
  try {
    return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string })
      .version;
  } catch {
    return 'unknown';
  }
}

function processStop(): Promise<void> {
  return new Promise((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
}

export async function agent(argv: string[], io: Io, stop: Promise<void> = processStop()): Promise<number> {
  const { values, positionals } = parseCommand('agent', argv, {
    hub: { type: 'string' },
    interval: { type: 'string' },
    labels: { type: 'string', multiple: true },
    'host-id': { type: 'string' },
    'buffer-dir': { type: 'string' },
    'buffer-max-bytes': { type: 'string' },
    'buffer-max-age': { type: 'string' },
    heartbeat: { type: 'string' },
  });
  if (values.help) {
    io.stdout.write(`${AGENT_USAGE}\n`);
    return Exit.OK;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`, 'agent');
  const env = io.env;
  const hub = values.hub ?? values.url ?? env.VIGIL_URL;
  if (!hub) throw new UsageError('--hub is required (or VIGIL_URL)', 'agent');
  const target = hubTarget({ url: hub, token: values.token }, env);
  const intervalMs = parseDurationFlag('--interval', values.interval ?? env.VIGIL_AGENT_INTERVAL ?? '1s');
  if (intervalMs < 100) throw new UsageError('--interval: at least 100ms', 'agent');
  const heartbeatMs = parseDurationFlag('--heartbeat', values.heartbeat ?? env.VIGIL_AGENT_HEARTBEAT ?? '5s');
  const maxAgeMs = parseDurationFlag(
    '--buffer-max-age',
    values['buffer-max-age'] ?? env.VIGIL_AGENT_BUFFER_MAX_AGE ?? '24h',
  );
  const bytesText = values['buffer-max-bytes'] ?? env.VIGIL_AGENT_BUFFER_MAX_BYTES ?? String(64 * 1024 * 1024);
  if (!/^\d+$/.test(bytesText) || Number(bytesText) < 65_536) {
    throw new UsageError(`--buffer-max-bytes: '${bytesText}' is not a byte count of at least 65536`, 'agent');
  }
  const labels = parseLabels([...(env.VIGIL_AGENT_LABELS ? [env.VIGIL_AGENT_LABELS] : []), ...(values.labels ?? [])]);
  const hostId = values['host-id'] ?? env.VIGIL_AGENT_HOST_ID ?? hostIdFrom(hostname());
  if (!HOST_ID.test(hostId)) {
    throw new UsageError(`--host-id: '${hostId}' must be 1-64 characters of [A-Za-z0-9_:-]`, 'agent');
  }
  const dir = values['buffer-dir'] ?? env.VIGIL_AGENT_BUFFER_DIR ?? join(tmpdir(), `vigil-agent-${hostId}`);
  const buffer = new SampleBuffer({ dir, maxBytes: Number(bytesText), maxAgeMs });
  const log = (line: string) => io.stderr.write(`${new Date().toISOString()} vigil agent: ${line}\n`);
  const running = new Agent({
    url: target.url,
    token: target.token,
    hostId,
    intervalMs,
    heartbeatMs,
    labels,
    buffer,
    version: version(),
    log,
  });
  log(
    `host ${hostId}, every ${intervalMs} ms, buffer ${dir}${buffer.onDisk ? ' (batches from an earlier run wait there)' : ''}`,
  );
  running.start();
  await stop;
  await running.stop();
  log(
    `stopped: ${running.sent} batches sent (${running.alreadyTaken} already taken), ${buffer.size} left in the buffer, ${buffer.dropped} dropped`,
  );
  return Exit.OK;
}
