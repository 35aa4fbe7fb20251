/**
 * @module http
 * The hub's REST API as the commands use it: JSON in and out, the bearer token, a timeout, and errors turned into
 * `HubError` (the hub's `{error: {code, message}}`) or a `CliError` saying the hub cannot be reached.
 */
import { CliError, HubError } from './io.js';
import type { Target } from './options.js';

const TIMEOUT_MS = 10_000;

function describeCause(err: unknown): string {
  const cause = (err as { cause?: unknown }).cause;
  if (cause instanceof Error) {
    const code = (cause as { code?: unknown }).code;
    return typeof code === 'string' && !cause.message.includes(code) ? `${code} ${cause.message}` : cause.message;
  }
  return err instanceof Error ? err.message : String(err);
}

export class HubApi {
  constructor(
    readonly target: Target,
    private readonly timeoutMs = TIMEOUT_MS,
  ) {}

  get<T>(path: string): Promise<T> {
    return this.request<T>('GET', path);
  }

  post<T>(path: string, body: unknown): Promise<T> {
    return this.request<T>('POST', path, body);
  }

  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (this.target.token) headers.authorization = `Bearer ${this.target.token}`;
    const url = `${this.target.url}${path}`;
    let res: Response;
    try {
      res = await fetch(url, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (err) {
      if ((err as Error).name === 'TimeoutError') {
        throw new CliError(`the hub at ${this.target.url} did not answer within ${this.timeoutMs / 1000} s`);
      }
      throw new CliError(`cannot reach the hub at ${this.target.url}: ${describeCause(err)}`);
    }
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = text === '' ? undefined : JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    if (!res.ok) {
      const error = (parsed as { error?: { code?: unknown; message?: unknown; details?: unknown } } | undefined)?.error;
      if (error && typeof error.code === 'string') {
        throw new HubError(error.code, String(error.message ?? res.statusText), res.status, error.details);
      }
      throw new HubError(`http_${res.status}`, text.slice(0, 200) || res.statusText, res.status);
    }
    return parsed as T;
  }
}
