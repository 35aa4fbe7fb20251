/**
 * @module http
 * The hub's REST API as the commands use it: the SDK's `VigilHttp` (JSON in and out, the bearer token, a timeout),
 * with its errors turned into the CLI's: a hub error answer becomes a `HubError` (`vigil: <code>: <message>`), an
 * unreachable or silent hub a `CliError` naming the hub's address.
 */
import { VigilClientError, VigilHttp } from '@vigil/client';
import { CliError, HubError } from './io.js';
import type { Target } from './options.js';

const TIMEOUT_MS = 10_000;

export class HubApi {
  /** The SDK's REST client, for the typed calls (`http.stats()`, `http.query(…)`). */
  readonly http: VigilHttp;

  constructor(
    readonly target: Target,
    private readonly timeoutMs = TIMEOUT_MS,
  ) {
    this.http = new VigilHttp({ url: target.url, getToken: () => target.token, timeoutMs });
  }

  get<T>(path: string): Promise<T> {
    return this.request<T>('GET', path);
  }

  post<T>(path: string, body: unknown): Promise<T> {
    return this.request<T>('POST', path, body);
  }

  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    try {
      return await this.http.request<T>(method, path, { body });
    } catch (err) {
      throw this.toCliError(err);
    }
  }

  private toCliError(err: unknown): Error {
    if (!(err instanceof VigilClientError)) return err instanceof Error ? err : new Error(String(err));
    if (err.code === 'timeout') {
      return new CliError(`the hub at ${this.target.url} did not answer within ${this.timeoutMs / 1000} s`);
    }
    if (err.code === 'request_failed') {
      // The SDK's message is `<METHOD> <path>: <cause>`.
      const cause = err.message.slice(err.message.indexOf(': ') + 2);
      return new CliError(`cannot reach the hub at ${this.target.url}: ${cause}`);
    }
    const { status, ...details } = err.details ?? {};
    return new HubError(
      err.code,
      err.message,
      typeof status === 'number' ? status : 0,
      Object.keys(details).length > 0 ? details : undefined,
    );
  }
}
