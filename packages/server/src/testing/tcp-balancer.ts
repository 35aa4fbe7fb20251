/**
 * @module tcp-balancer
 * Test support: a TCP round-robin balancer on 127.0.0.1 port 0, as a load balancer in front of hub nodes is. Each
 * new connection goes to the next backend; a backend that refuses (a killed node) is skipped for the next one.
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';

export class TcpBalancer {
  private next = 0;
  private readonly sockets = new Set<Socket>();

  private constructor(
    private readonly server: Server,
    readonly backends: number[],
  ) {}

  get port(): number {
    return (this.server.address() as { port: number }).port;
  }

  static async start(backends: number[]): Promise<TcpBalancer> {
    let balancer: TcpBalancer | undefined;
    const server = createServer((client) => balancer!.route(client, 0));
    balancer = new TcpBalancer(server, backends);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    return balancer;
  }

  private route(client: Socket, tried: number): void {
    if (tried >= this.backends.length) {
      client.destroy();
      return;
    }
    const port = this.backends[this.next++ % this.backends.length]!;
    const upstream = createConnection({ host: '127.0.0.1', port });
    let connected = false;
    upstream.once('connect', () => {
      connected = true;
      this.sockets.add(client);
      this.sockets.add(upstream);
      client.pipe(upstream);
      upstream.pipe(client);
    });
    upstream.on('error', () => {
      if (!connected) this.route(client, tried + 1);
      else client.destroy();
    });
    client.on('error', () => upstream.destroy());
    client.on('close', () => {
      upstream.destroy();
      this.sockets.delete(client);
    });
    upstream.on('close', () => {
      if (connected) client.destroy();
      this.sockets.delete(upstream);
    });
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise((r) => this.server.close(r));
  }
}
