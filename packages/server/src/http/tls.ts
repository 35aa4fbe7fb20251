/**
 * @module tls
 * HTTPS and WSS served by the hub itself (`tls.cert`, `tls.key`): the one port then speaks TLS for the REST API, SSE,
 * the dashboard and WebSocket upgrades alike. The files are read and checked when the configuration loads (a missing
 * file, a file that is not PEM, or a key that does not match the certificate names its key and stops the start), and
 * read again by `reloadTls` so that a renewed certificate takes effect without a restart; connections already open
 * keep the certificate they began with.
 */
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type RequestListener, type Server } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { createSecureContext, type SecureContextOptions } from 'node:tls';

export interface TlsConfig {
  /** PEM certificate chain (the server's certificate first), absolute path. */
  readonly cert: string;
  /** PEM private key of the certificate, absolute path. */
  readonly key: string;
}

/** A TLS file or pair that cannot be used; `key` is the configuration key to name (`tls.cert`, `tls.key`). */
export class TlsFileError extends Error {
  constructor(
    readonly key: 'tls.cert' | 'tls.key',
    reason: string,
  ) {
    super(reason);
    this.name = 'TlsFileError';
  }
}

function read(path: string, key: 'tls.cert' | 'tls.key'): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new TlsFileError(key, `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
}

/** Reads the certificate and key and checks that they make a usable pair; throws TlsFileError otherwise. */
export function readTls(config: TlsConfig): SecureContextOptions {
  const cert = read(config.cert, 'tls.cert');
  const key = read(config.key, 'tls.key');
  if (!cert.toString('latin1').includes('-----BEGIN CERTIFICATE-----')) {
    throw new TlsFileError('tls.cert', `${config.cert} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`);
  }
  try {
    createSecureContext({ cert, key });
  } catch (err) {
    const message = (err as Error).message;
    if (/key values mismatch/i.test(message)) {
      throw new TlsFileError('tls.key', `${config.key} is not the key of the certificate in ${config.cert}`);
    }
    const which = /PEM|key|decoder|bad decrypt/i.test(message) ? 'tls.key' : 'tls.cert';
    throw new TlsFileError(which, `${which === 'tls.key' ? config.key : config.cert} cannot be used: ${message}`);
  }
  return { cert, key };
}

/** The hub's server: HTTPS with `tls`, plain HTTP without. */
export function createHubServer(tls: TlsConfig | undefined, handler: RequestListener): Server {
  if (tls === undefined) return createHttpServer(handler);
  // An https.Server is an http.Server as far as Fastify and the WebSocket upgrade are concerned.
  return createHttpsServer(readTls(tls), handler) as unknown as Server;
}

/** Reads the files again and gives new connections the new certificate. */
export function reloadTls(server: Server, tls: TlsConfig): void {
  (server as unknown as HttpsServer).setSecureContext(readTls(tls));
}
