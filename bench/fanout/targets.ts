/**
 * @module bench/fanout/targets
 * The servers under test and what differs between them: how each is started, the paths subscribers and the
 * publisher connect to, the protocol-level handshake after the HTTP upgrade, and how an event is wrapped to publish.
 * Also the fan-out shapes: every subscriber on one channel (`one`, `wide`), or subscribers spread over many channels,
 * each subscription with a server-side filter (`channels`).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { WsConn } from './ws-client.js';

export type TargetId = 'ws' | 'ws-batch' | 'socketio' | 'vigil';
export const TARGET_IDS: readonly TargetId[] = ['ws', 'ws-batch', 'socketio', 'vigil'];
/**
 * What `npm run bench` runs. `ws-batch` (one coalesced write per subscriber per event-loop turn, the best a Node
 * fan-out can do) is the peer Vigil's fan-out is held to; raw `ws` sets the common rate for the latency runs.
 */
export const DEFAULT_TARGETS: readonly TargetId[] = ['ws', 'ws-batch', 'socketio', 'vigil'];

export type ShapeId = 'one' | 'wide' | 'channels';
export const SHAPE_IDS: readonly ShapeId[] = ['one', 'wide', 'channels'];

/**
 * How subscribers and events are spread. Subscriber `i` listens to channel `i % channels`; event `j` goes to channel
 * `j % channels` and, when `filtered`, matches the subscribers' filter when `floor(j / channels)` is even (so half the
 * events match, and every channel gets as many matching events as not). Unfiltered, every event matches.
 */
export interface Shape {
  id: ShapeId;
  channels: number;
  filtered: boolean;
}

/** Every subscriber on channel `bench`, every event to it, no filter: the shape the budgets are measured in. */
export const ONE_SHAPE: Shape = { id: 'one', channels: 1, filtered: false };

/** The event kind every filtered subscription keeps; the other half of the events carry `FILTER_DROP_KIND`. */
export const FILTER_KEEP_KIND = 'm';
export const FILTER_DROP_KIND = 'n';

/** Where one event goes: the channel's index and whether it passes the subscribers' filter. */
export interface Route {
  channel: number;
  match: boolean;
}

/** Channel `i` of a multi-channel shape, zero-padded so every name (and so every frame) has the same length. */
export function channelName(shape: Shape, i: number): string {
  return `c${String(i).padStart(String(shape.channels - 1).length, '0')}`;
}

/** The peer servers route only in the multi-channel shape; with one channel they broadcast what they get. */
export function isRouted(shape: Shape): boolean {
  return shape.channels > 1 || shape.filtered;
}

/** Non-event frames seen after the handshake (replies, errors, gaps): counted, first few kept for the report. */
export interface MiscLog {
  count: number;
  samples: string[];
}

export function recordMisc(log: MiscLog, payload: Buffer): void {
  log.count++;
  if (log.samples.length < 5) log.samples.push(payload.toString('utf8', 0, Math.min(payload.length, 200)));
}

export interface Target {
  id: TargetId;
  label: string;
  /** Whether the target can run a multi-channel, filtered shape. */
  routes: boolean;
  /** The path a subscriber to channel `channel` of `shape` connects to (subscribing with the shape's filter). */
  subscribePath(shape: Shape, channel: number): string;
  publishPath: string;
  /** No protocol-level handshake: the connection is ready right after HTTP 101. */
  readyOnOpen: boolean;
  /** `node` arguments (script and its flags) that start the server. */
  serverArgs(root: string, port: number, dataDir: string, shape: Shape): string[];
  /** The text frame a publisher sends to publish `eventJson` along `route`. */
  publishText(eventJson: string, shape: Shape, route: Route): string;
  /** A data frame before the connection is ready; sets `conn.ready` when the handshake completes. */
  onPreReady(conn: WsConn, payload: Buffer, misc: MiscLog): void;
  /** A small data frame after ready (not an event). */
  onMisc(conn: WsConn, payload: Buffer, misc: MiscLog): void;
}

const wsTarget: Target = {
  id: 'ws',
  label: 'raw ws (pre-framed)',
  routes: true,
  // Routed: the channel and the kinds to keep in the URL, the server applies the filter per subscriber.
  subscribePath: (shape, channel) =>
    isRouted(shape)
      ? `/sub?channel=${channelName(shape, channel)}${shape.filtered ? `&kinds=${FILTER_KEEP_KIND}` : ''}`
      : '/sub',
  publishPath: '/pub',
  readyOnOpen: true,
  serverArgs: (root, port, _dataDir, shape) => [
    join(root, 'bench/fanout/ws-server.ts'),
    '--port',
    String(port),
    ...(isRouted(shape) ? ['--routed'] : []),
  ],
  publishText: (eventJson, shape, route) =>
    isRouted(shape)
      ? `{"channel":"${channelName(shape, route.channel)}","kind":"${route.match ? FILTER_KEEP_KIND : FILTER_DROP_KIND}",` +
        `"data":${eventJson}}`
      : eventJson,
  onPreReady: (_conn, payload, misc) => recordMisc(misc, payload),
  onMisc: (_conn, payload, misc) => recordMisc(misc, payload),
};

const wsBatchTarget: Target = {
  ...wsTarget,
  id: 'ws-batch',
  label: 'raw ws (coalesced)',
  serverArgs: (root, port, dataDir, shape) => [...wsTarget.serverArgs(root, port, dataDir, shape), '--batch'],
};

const CH_0 = 0x30; // '0'
const CH_2 = 0x32; // '2'
const CH_4 = 0x34; // '4'

const socketioTarget: Target = {
  id: 'socketio',
  label: 'Socket.IO 4.8 (room)',
  routes: false,
  subscribePath: () => '/socket.io/?EIO=4&transport=websocket',
  publishPath: '/socket.io/?EIO=4&transport=websocket&role=pub',
  readyOnOpen: false,
  serverArgs: (root, port) => [join(root, 'bench/fanout/socketio-server.ts'), '--port', String(port)],
  publishText: (eventJson) => `42["pub",${eventJson}]`,
  // engine.io open `0{...}` -> answer a socket.io CONNECT to "/" (`40`); its ack `40{"sid":...}` makes us ready
  onPreReady: (conn, payload, misc) => {
    if (payload[0] === CH_0) conn.sendText('40');
    else if (payload[0] === CH_4 && payload[1] === CH_0) conn.ready = true;
    else if (payload.length === 1 && payload[0] === CH_2) conn.sendText('3');
    else recordMisc(misc, payload);
  },
  // engine.io ping `2` -> pong `3`
  onMisc: (conn, payload, misc) => {
    if (payload.length === 1 && payload[0] === CH_2) conn.sendText('3');
    else recordMisc(misc, payload);
  },
};

const WELCOME = Buffer.from('"welcome"');

const vigilTarget: Target = {
  id: 'vigil',
  label: 'Vigil',
  routes: true,
  // A URL subscription; with a filter it is the `filter` of a v1 subscribe (docs/protocol.md, Filters).
  subscribePath: (shape, channel) =>
    isRouted(shape)
      ? `/ws?channels=bench.${channelName(shape, channel)}` +
        (shape.filtered ? `&filter=${encodeURIComponent(JSON.stringify({ kinds: [FILTER_KEEP_KIND] }))}` : '')
      : '/ws?channels=bench',
  publishPath: '/ws',
  readyOnOpen: false,
  serverArgs: (root, port, dataDir) => {
    // The peers have no per-connection message limit; lift Vigil's so the one publisher connection is not throttled.
    mkdirSync(dataDir, { recursive: true });
    const config = join(dataDir, 'bench.config.json');
    // The load comes from one address: lift the per-connection rate and the per-address connection limits.
    writeFileSync(
      config,
      JSON.stringify({
        gateway: { rate_limit: { messages_per_s: 1e9, burst: 1e9 } },
        limits: {
          max_connections_per_ip: 1e6,
          new_connections_per_ip_per_minute: 1e6,
          max_connections: 1e6,
          subscription_changes_per_s: 1e6,
        },
      }),
    );
    return [
      join(root, 'packages/server/dist/cli/main.js'),
      'serve',
      '--host',
      '127.0.0.1',
      '--port',
      String(port),
      '--data',
      dataDir,
      '--config',
      config,
    ];
  },
  publishText: (eventJson, shape, route) =>
    isRouted(shape)
      ? `{"op":"publish","channel":"bench.${channelName(shape, route.channel)}",` +
        `"kind":"${route.match ? FILTER_KEEP_KIND : FILTER_DROP_KIND}","data":${eventJson}}`
      : `{"op":"publish","channel":"bench","data":${eventJson}}`,
  onPreReady: (conn, payload, misc) => {
    if (payload.includes(WELCOME)) conn.ready = true;
    else recordMisc(misc, payload);
  },
  onMisc: (_conn, payload, misc) => recordMisc(misc, payload),
};

export const TARGETS: Record<TargetId, Target> = {
  ws: wsTarget,
  'ws-batch': wsBatchTarget,
  socketio: socketioTarget,
  vigil: vigilTarget,
};
