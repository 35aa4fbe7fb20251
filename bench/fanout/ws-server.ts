/**
 * @module bench/fanout/ws-server
 * Baseline (a), run as a child process: a `ws` WebSocketServer doing a pre-framed broadcast. Subscribers connect to
 * `/sub`, the publisher to `/pub`. Each published message is framed once and the same buffer is written straight to
 * every subscriber's socket. With `--batch`, the frames published during one event-loop turn are concatenated and
 * written with one write per subscriber (the coalescing variant, an opt-in target).
 * Usage: `node --import tsx ws-server.ts --port <P> [--batch]`; `GET /health` answers 200.
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

const server = http.createServer((req, res) => {
  res.writeHead(req.url === '/health' ? 200 : 404, { 'content-type': 'text/plain' });
  res.end(req.url === '/health' ? 'ok' : 'not found');
});

server.on('upgrade', (req, socket, head) => {
  const path = req.url ?? '/';
  if (path.startsWith('/pub')) {
    wss.handleUpgrade(req, socket, head, (ws) => {
      ws.on('message', (data, isBinary) => broadcast(data as Buffer, isBinary));
    });
  } else if (path.startsWith('/sub')) {
    wss.handleUpgrade(req, socket, head, (ws) => {
      subscribers.add(socket);
      ws.on('close', () => subscribers.delete(socket));
      ws.on('error', () => subscribers.delete(socket));
    });
  } else socket.destroy();
});

server.listen(port, values.host);
process.on('SIGTERM', () => process.exit(0));
