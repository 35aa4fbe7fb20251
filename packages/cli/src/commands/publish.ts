/**
 * @module publish
 * `vigil publish <channel> <json> [--kind K]`: one event through `POST /api/v1/publish`; prints
 * `{channel, offset, epoch}`. `-` as the JSON reads it from stdin.
 */
import { readFileSync } from 'node:fs';
import { isValidChannel } from '@vigil/protocol';
import { HubApi } from '../http.js';
import { Exit, type Io, UsageError } from '../io.js';
import { COMMON_HELP, expectPositionals, hubTarget, parseCommand } from '../options.js';

export const PUBLISH_USAGE = `Usage: vigil publish <channel> <json> [--kind K]

Publishes one event (POST /api/v1/publish) and prints {channel, offset, epoch}.
  <json>          the event's data as JSON ('-' reads it from stdin)
  --kind K        the event's kind (default: message)

${COMMON_HELP}`;

export async function publish(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parseCommand('publish', argv, { kind: { type: 'string' } });
  if (values.help) {
    io.stdout.write(`${PUBLISH_USAGE}\n`);
    return Exit.OK;
  }
  const [channel, json] = expectPositionals('publish', positionals, ['<channel>', '<json>']);
  if (!isValidChannel(channel)) {
    throw new UsageError(`invalid channel '${channel}': use segments of [A-Za-z0-9_:-] joined by dots`, 'publish');
  }
  const text = json === '-' ? readFileSync(0, 'utf8') : json!;
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`<json> is not valid JSON: ${(err as Error).message}`, 'publish');
  }
  const body: Record<string, unknown> = { channel, data };
  if (values.kind !== undefined) body.kind = values.kind;
  const result = await new HubApi(hubTarget(values, io.env)).post<unknown>('/api/v1/publish', body);
  io.stdout.write(`${JSON.stringify(result)}\n`);
  return Exit.OK;
}
