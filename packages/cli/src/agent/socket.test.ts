import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { type WebSocket, WebSocketServer } from 'ws';
import { LeanWebSocket } from './socket.js';

interface Open {
  client: LeanWebSocket;
  server: WebSocket;
  request: IncomingMessage;
}

describe('LeanWebSocket', () => {
  let wss: WebSocketServer;
  let url: string;
  const accepted: ((o: { server: WebSocket; request: IncomingMessage }) => void)[] = [];

  before(async () => {
    wss = new WebSocketServer({
      port: 0,
      host: '127.0.0.1',
      handleProtocols: (offered) => (offered.has('vigil.v1.msgpack') ? 'vigil.v1.msgpack' : false),
      verifyClient: (info, cb) => (info.req.url?.includes('refuse') ? cb(false, 401) : cb(true)),
    });
    wss.on('connection', (server, request) => accepted.shift()?.({ server, request }));
    await new Promise<void>((r) => wss.once('listening', () => r()));
    url = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/ws`;
  });
  after(() => new Promise<void>((r) => wss.close(() => r())));

  async function open(headers?: Record<string, string>): Promise<Open> {
    const side = new Promise<{ server: WebSocket; request: IncomingMessage }>((r) => accepted.push(r));
    const client = new LeanWebSocket(url, ['vigil.v1.msgpack'], headers ? { headers } : undefined);
    await new Promise<void>((resolve, reject) => {
      client.onopen = () => resolve();
      client.onclose = (e) => reject(new Error(`closed ${e.code} ${e.reason}`));
    });
    return { client, ...(await side) };
  }

  function nextMessage(client: LeanWebSocket): Promise<string | Buffer> {
    return new Promise((r) => {
      client.onmessage = (e) => r(e.data);
    });
  }

  it('opens with the chosen subprotocol and sends its headers', async () => {
    const { client, server, request } = await open({ Authorization: 'Bearer t0k' });
    assert.equal(client.protocol, 'vigil.v1.msgpack');
    assert.equal(client.readyState, LeanWebSocket.OPEN);
    assert.equal(request.headers.authorization, 'Bearer t0k');
    assert.equal(request.headers['sec-websocket-extensions'], undefined);
    server.terminate();
  });

  it('carries text and binary both ways, small and large, whole and fragmented', async () => {
    const { client, server } = await open();
    const got: (string | Buffer)[] = [];
    server.on('message', (data: Buffer, isBinary: boolean) => got.push(isBinary ? data : data.toString()));
    const big = Buffer.alloc(200_000, 7);
    client.send('hello');
    client.send(new Uint8Array([1, 2, 3]));
    client.send(big);
    const medium = 'x'.repeat(70_000);
    let m = nextMessage(client);
    server.send(medium);
    assert.equal(await m, medium);
    m = nextMessage(client);
    server.send(Buffer.from([9, 8]), { binary: true });
    assert.deepEqual([...((await m) as Buffer)], [9, 8]);
    m = nextMessage(client);
    server.send('ab', { fin: false });
    server.send('cd', { fin: true });
    assert.equal(await m, 'abcd');
    while (got.length < 3) await new Promise((r) => setTimeout(r, 10));
    assert.equal(got[0], 'hello');
    assert.deepEqual([...(got[1] as Buffer)], [1, 2, 3]);
    assert.ok(big.equals(got[2] as Buffer));
    server.terminate();
  });

  it('answers pings', async () => {
    const { server } = await open();
    const pong = new Promise<Buffer>((r) => server.once('pong', r));
    server.ping(Buffer.from('p1'));
    assert.equal((await pong).toString(), 'p1');
    server.terminate();
  });

  it("reports the hub's close code and reason", async () => {
    const { client, server } = await open();
    const closed = new Promise<{ code: number; reason: string }>((r) => {
      client.onclose = r;
    });
    server.close(4001, 'token expired');
    assert.deepEqual(await closed, { code: 4001, reason: 'token expired' });
    assert.equal(client.readyState, LeanWebSocket.CLOSED);
  });

  it('closes with a handshake the hub sees', async () => {
    const { client, server } = await open();
    const seen = new Promise<[number, string]>((r) => server.once('close', (code, reason) => r([code, `${reason}`])));
    const closed = new Promise<number>((r) => {
      client.onclose = (e) => r(e.code);
    });
    client.close(1000, 'client closing');
    assert.deepEqual(await seen, [1000, 'client closing']);
    assert.equal(await closed, 1000);
  });

  it('fails with 1006 when the upgrade is refused or the hub is gone', async () => {
    for (const target of [`${url}?refuse=1`, 'ws://127.0.0.1:1/ws']) {
      const client = new LeanWebSocket(target, ['vigil.v1.msgpack']);
      let errored = false;
      client.onerror = () => (errored = true);
      const code = await new Promise<number>((r) => {
        client.onclose = (e) => r(e.code);
      });
      assert.equal(code, 1006);
      assert.ok(errored);
    }
  });

  it('terminate() drops the link at once', async () => {
    const { client, server } = await open();
    const gone = new Promise<number>((r) => server.once('close', (code) => r(code)));
    client.terminate();
    assert.equal(await gone, 1006);
  });
});
