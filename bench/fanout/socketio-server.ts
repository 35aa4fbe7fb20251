/**
 * @module bench/fanout/socketio-server
 * Peer (b), run as a child process: a Socket.IO 4.8 server, websocket transport only. Every socket joins the room
 * `bench` on connection, except the publisher (`?role=pub`), whose `pub` events are re-emitted to the room with
 * `io.to('bench').emit('e', data)`. Usage: `node --import tsx socketio-server.ts --port <P>`; `GET /health` is 200.
 */
import http from 'node:http';
import { parseArgs } from 'node:util';
import { Server } from 'socket.io';

const { values } = parseArgs({ options: { port: { type: 'string' }, host: { type: 'string', default: '127.0.0.1' } } });
const port = Number(values.port);

const server = http.createServer((req, res) => {
  if (req.url?.startsWith('/socket.io/')) return; // handled by Socket.IO
  res.writeHead(req.url === '/health' ? 200 : 404, { 'content-type': 'text/plain' });
  res.end(req.url === '/health' ? 'ok' : 'not found');
});

const io = new Server(server, { transports: ['websocket'], serveClient: false, perMessageDeflate: false });
io.on('connection', (socket) => {
  if (socket.handshake.query.role === 'pub') {
    socket.on('pub', (data: unknown) => io.to('bench').emit('e', data));
  } else socket.join('bench');
});

server.listen(port, values.host);
process.on('SIGTERM', () => process.exit(0));
