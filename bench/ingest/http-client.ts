/**
 * @module bench/ingest/http-client
 * A minimal keep-alive HTTP client for the ingest load: one `http.Agent({keepAlive: true})` per run, a POST that
 * resolves with the status and body text, and the parse of an ingest reply (`{accepted, rejected, errors}`).
 */
import http from 'node:http';

export interface HttpReply {
  status: number;
  body: string;
}

export function keepAliveAgent(maxSockets: number): http.Agent {
  return new http.Agent({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets });
}

export function post(
  agent: http.Agent,
  port: number,
  path: string,
  contentType: string,
  body: string | Buffer,
  timeoutMs = 30_000,
): Promise<HttpReply> {
  const payload = typeof body === 'string' ? Buffer.from(body) : body;
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        agent,
        host: '127.0.0.1',
        port,
        path,
        method: 'POST',
        timeout: timeoutMs,
        headers: { 'content-type': contentType, 'content-length': payload.length },
      },
      (res) => {
        const parts: Buffer[] = [];
        res.on('data', (c: Buffer) => parts.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error(`POST ${path}: no reply within ${timeoutMs} ms`)));
    req.end(payload);
  });
}

export interface IngestReply {
  accepted: number;
  rejected: number;
  firstError: string | null;
}

/** Reads an ingest reply; a non-200 answer counts every sample of the request as rejected. */
export function readIngestReply(reply: HttpReply, sent: number): IngestReply {
  if (reply.status !== 200)
    return { accepted: 0, rejected: sent, firstError: `HTTP ${reply.status} ${reply.body.slice(0, 300)}` };
  const parsed = JSON.parse(reply.body) as { accepted: number; rejected: number; errors: { message: string }[] };
  return {
    accepted: parsed.accepted,
    rejected: parsed.rejected,
    firstError: parsed.errors.length > 0 ? (parsed.errors[0]?.message ?? null) : null,
  };
}
