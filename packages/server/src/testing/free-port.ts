/**
 * @module free-port
 * Test support: a free TCP port on 127.0.0.1, for external programs (node_exporter, Alertmanager) that must be told
 * their port up front.
 */
import { createServer } from 'node:net';

export async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return port;
}
