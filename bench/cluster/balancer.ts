/**
 * @module bench/cluster/balancer
 * A TCP round-robin balancer as a child process of the cluster bench (so its CPU is not the load generator's):
 * `node --import tsx bench/cluster/balancer.ts --port P --backends 4281,4282` sends each new connection to the next
 * backend on 127.0.0.1, piping bytes both ways. It answers nothing itself: `GET /health` reaches a node.
 */
import { createConnection, createServer } from 'node:net';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { port: { type: 'string' }, backends: { type: 'string' } } });
const port = Number(values.port);
const backends = (values.backends ?? '').split(',').map(Number);
if (!Number.isInteger(port) || backends.length === 0 || backends.some((b) => !Number.isInteger(b))) {
  console.error('usage: balancer.ts --port P --backends P1,P2,...');
  process.exit(2);
}
let next = 0;
const server = createServer((client) => {
  client.setNoDelay(true);
  const upstream = createConnection({ host: '127.0.0.1', port: backends[next++ % backends.length]! });
  upstream.setNoDelay(true);
  client.pipe(upstream);
  upstream.pipe(client);
  const close = () => {
    client.destroy();
    upstream.destroy();
  };
  client.on('error', close);
  upstream.on('error', close);
  client.on('close', close);
  upstream.on('close', close);
});
server.listen(port, '127.0.0.1', () => console.log(`balancer on ${port} -> ${backends.join(',')}`));
process.on('SIGTERM', () => process.exit(0));
