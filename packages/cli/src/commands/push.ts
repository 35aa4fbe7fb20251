/**
 * @module push
 * `vigil push <metric> <value> [--label k=v ...] [--ts T]`: one sample to `POST /api/v1/metrics`. Prints what the
 * hub accepted; a rejected sample exits 1 with the hub's reason for it.
 */
import type { IngestReply } from '@vigil/protocol';
import { HubApi } from '../http.js';
import { Exit, HubError, type Io, UsageError } from '../io.js';
import { COMMON_HELP, expectPositionals, hubTarget, parseCommand } from '../options.js';

export const PUSH_USAGE = `Usage: vigil push <metric> <value> [--label k=v ...] [--ts T]

Sends one metric sample (POST /api/v1/metrics) and prints what the hub accepted.
  --label k=v     a label (repeatable)
  --ts T          ms since the Unix epoch or an RFC 3339 time (default: now, on the hub)
  --json          print the hub's reply as JSON

${COMMON_HELP}`;

export function parseLabels(pairs: readonly string[]): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new UsageError(`--label: expected k=v, got '${pair}'`, 'push');
    labels[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return labels;
}

export async function push(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parseCommand('push', argv, {
    label: { type: 'string', multiple: true, short: 'l' },
    ts: { type: 'string' },
    json: { type: 'boolean' },
  });
  if (values.help) {
    io.stdout.write(`${PUSH_USAGE}\n`);
    return Exit.OK;
  }
  const [name, rawValue] = expectPositionals('push', positionals, ['<metric>', '<value>']);
  const value = Number(rawValue);
  if (rawValue!.trim() === '' || !Number.isFinite(value)) {
    throw new UsageError(`<value> must be a number, got '${rawValue}'`, 'push');
  }
  const sample: Record<string, unknown> = { name, value };
  if (values.label?.length) sample.labels = parseLabels(values.label);
  if (values.ts !== undefined) sample.ts = /^\d+$/.test(values.ts) ? Number(values.ts) : values.ts;
  const api = new HubApi(hubTarget(values, io.env));
  let reply: IngestReply;
  try {
    reply = await api.post<IngestReply>('/api/v1/metrics', sample);
  } catch (err) {
    // All samples rejected: 400/429 whose details hold the per-sample reasons.
    const details = err instanceof HubError ? (err.details as Partial<IngestReply> | undefined) : undefined;
    if (!details?.errors?.length) throw err;
    reply = { accepted: details.accepted ?? 0, rejected: details.rejected ?? 1, errors: details.errors };
  }
  if (values.json) io.stdout.write(`${JSON.stringify(reply)}\n`);
  if (reply.rejected > 0) {
    for (const e of reply.errors) io.stderr.write(`vigil: ${e.code}: ${e.message}\n`);
    if (!values.json) io.stdout.write(`rejected: ${name}\n`);
    return Exit.RUNTIME;
  }
  if (!values.json) io.stdout.write(`accepted: ${name} = ${value}\n`);
  return Exit.OK;
}
