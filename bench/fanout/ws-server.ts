/**
 * @module bench/fanout/ws-server
 * Baseline (a), run as a child process: a `ws` WebSocketServer doing a pre-framed broadcast. Subscribers connect to
 * `/sub`, the publisher to `/pub`. Each published message is framed once and the same buffer is written straight to
 * every subscriber's socket. With `--batch`, the frames published during one event-loop turn are concatenated and
 * written with one write per subscriber (the coalescing variant, an opt-in target).
 *
 * With `--routed` (the multi-channel shape) a subscriber picks its channel and filter in the URL,
 * `/sub?channel=<name>[&kinds=<kind>,...]`, and the publisher sends `{"channel", "kind", "data"}` JSON. Each message
 * is parsed, framed once (the bytes as published), and queued for every subscriber of its channel whose `kinds`
 * filter keeps its kind (the predicate is applied per subscriber). Without `--batch` the frame is written at once;
 * with it, each subscriber's frames of one event-loop turn are concatenated and written once.
 * Usage: `node --import tsx ws-server.ts --port <P> [--batch] [--routed]`; `GET /health` answers 200.
 */
import http from 'node:http';
import type { Duplex } from 'node:stream';
import { parseArgs } from 'node:util';
import { WebSocketServer } from 'ws';
import { OP_BINARY, OP_TEXT, serverFrame } from './framing.js';

const { values } = parseArgs({
  options: {
    port: { type: 'string' },
    host: { type: 'string', default: '127.0.0.1' },
    batch: { type: 'boolean', default: false },
    routed: { type: 'boolean', default: false },
  },
});
const port = Number(values.port);

const subscribers = new Set<Duplex>();
const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, clientTracking: false });

function writeAll(buf: Buffer): void {
  for (const socket of subscribers) socket.write(buf);
}

let pending: Buffer[] = [];
function flush(): void {
  const buf = pending.length === 1 ? pending[0] : Buffer.concat(pending);
  pending = [];
  writeAll(buf);
}

function broadcast(data: Buffer, isBinary: boolean): void {
  const frame = serverFrame(isBinary ? OP_BINARY : OP_TEXT, data);
  if (!values.batch) writeAll(frame);
  else if (pending.push(frame) === 1) setImmediate(flush);
}

/** A subscriber of the routed mode: its socket, the kinds it keeps (null: all), its frames of this turn. */
interface RoutedSub {
  socket: Duplex;
  kinds: Set<string> | null;
  pending: Buffer[];
}

const channels = new Map<string, Set<RoutedSub>>();
let dirty: RoutedSub[] = [];

function flushRouted(): void {
  const subs = dirty;
  dirty = [];
  for (const sub of subs) {
    const frames = sub.pending;
    sub.pending = [];
    sub.socket.write(frames.length === 1 ? frames[0]! : Buffer.concat(frames));
  }
}

function route(data: Buffer): void {
  let msg: { channel?: unknown; kind?: unknown };
  try {
    msg = JSON.parse(data.toString('utf8')) as { channel?: unknown; kind?: unknown };
  } catch {
    return;
  }
  const subs = typeof msg.channel === 'string' ? channels.get(msg.channel) : undefined;
  if (subs === undefined) return;
  const kind = typeof msg.kind === 'string' ? msg.kind : '';
  let frame: Buffer | null = null;
  for (const sub of subs) {
    if (sub.kinds !== null && !sub.kinds.has(kind)) continue;
    frame ??= serverFrame(OP_TEXT, data);
    if (!values.batch) sub.socket.write(frame);
    else if (sub.pending.push(frame) === 1 && dirty.push(sub) === 1) setImmediate(flushRouted);
  }
}

function addRouted(url: URL, socket: Duplex): () => void {
  const name = url.searchParams.get('channel') ?? '';
  const kinds = url.searchParams.get('kinds');
  const sub: RoutedSub = { socket, kinds: kinds === null ? null : new Set(kinds.split(',')), pending: [] };
  const subs = channels.get(name) ?? new Set<RoutedSub>();
  channels.set(name, subs);
  subs.add(sub);
  return () => subs.delete(sub);
}

const server = http.createServer((req, res) => {
  res.writeHead(req.url === '/health' ? 200 : 404, { 'content-type': 'text/plain' });
  res.end(req.url === '/health' ? 'ok' : 'not found');
});

server.on('upgrade', (req, socket, head) => {
  const url = new URL(req.url ?? '/', 'http://localhost');
  if (url.pathname === '/pub') {
    wss.handleUpgrade(req, socket, head, (ws) => {
      ws.on('message', (data, isBinary) => {
        if (values.routed) route(data as Buffer);
        else broadcast(data as Buffer, isBinary);
      });
    });
  } else if (url.pathname === '/sub') {
    wss.handleUpgrade(req, socket, head, (ws) => {
      let remove: () => void;
      if (values.routed) remove = addRouted(url, socket);
      else {
        subscribers.add(socket);
        remove = () => subscribers.delete(socket);
      }
      ws.on('close', remove);
      ws.on('error', remove);
    });
  } else socket.destroy();
});

server.listen(port, values.host);
process.on('SIGTERM', () => process.exit(0));
