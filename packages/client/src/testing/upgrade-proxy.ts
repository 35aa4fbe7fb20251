/**
 * @module upgrade-proxy
 * Test support: an HTTP proxy on 127.0.0.1 (port 0) in front of a hub that passes plain requests (REST, SSE) through
 * and WebSocket upgrades only while `allowUpgrades` is true; otherwise it answers an upgrade with HTTP 502, as a proxy
 * that does not carry WebSocket would. `cutUpgraded()` breaks the WebSockets it carries.
 */
import { createServer, request } from 'node:http';
import { connect, type Socket } from 'node:net';

export interface UpgradeProxy {
  /** `ws://127.0.0.1:<port>/ws` */
  url: string;
  /** `http://127.0.0.1:<port>` */
  httpUrl: string;
  allowUpgrades: boolean;
  /** How many upgrades were refused so far. */
  refused: number;
  /** Destroys every WebSocket carried so far (both sides), without a close frame. */
  cutUpgraded(): void;
  close(): Promise<void>;
}

export async function startUpgradeProxy(targetPort: number, allowUpgrades = true): Promise<UpgradeProxy> {
  const tunnels = new Set<Socket>();
  const sockets = new Set<Socket>();
  const server = createServer((req, res) => {
    const upstream = request(
      { host: '127.0.0.1', port: targetPort, method: req.method, path: req.url, headers: req.headers },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    res.on('close', () => upstream.destroy());
    req.pipe(upstream);
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.on('upgrade', (req, socket: Socket, head: Buffer) => {
    if (!proxy.allowUpgrades) {
      proxy.refused++;
      socket.end('HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\nconnection: close\r\n\r\n');
      return;
    }
    const upstream = connect(targetPort, '127.0.0.1', () => {
      let text = `${req.method} ${req.url} HTTP/1.1\r\n`;
      for (let i = 0; i < req.rawHeaders.length; i += 2) text += `${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}\r\n`;
      upstream.write(`${text}\r\n`);
      if (head.length > 0) upstream.write(head);
      socket.pipe(upstream).pipe(socket);
    });
    const both = [socket, upstream];
    for (const s of both) {
      tunnels.add(s);
      s.on('error', () => {});
      s.on('close', () => {
        tunnels.delete(s);
        for (const other of both) other.destroy();
      });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  const proxy: UpgradeProxy = {
    url: `ws://127.0.0.1:${port}/ws`,
    httpUrl: `http://127.0.0.1:${port}`,
    allowUpgrades,
    refused: 0,
    cutUpgraded() {
      for (const s of [...tunnels]) s.destroy();
    },
    async close() {
      for (const s of [...tunnels, ...sockets]) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
  return proxy;
}
