/**
 * @module methods
 * The one registry of `call` methods. Parts of the hub register theirs at start (`stats`, `channels.history`, and
 * later `metrics.*`, `alerts.*`, `tasks.*`, `incidents.*`); the gateway and HTTP look them up here.
 */
import { VigilError } from '@vigil/protocol';

export interface CallContext {
  /** The WebSocket session id, or `http` for calls that come through REST. */
  session: string;
}

export type MethodHandler = (params: unknown, ctx: CallContext) => unknown;

export class MethodRegistry {
  private readonly handlers = new Map<string, MethodHandler>();

  register(name: string, handler: MethodHandler): void {
    if (this.handlers.has(name)) throw new Error(`method '${name}' is already registered`);
    this.handlers.set(name, handler);
  }

  has(name: string): boolean {
    return this.handlers.has(name);
  }

  names(): string[] {
    return [...this.handlers.keys()].sort();
  }

  async call(name: string, params: unknown, ctx: CallContext): Promise<unknown> {
    const handler = this.handlers.get(name);
    if (!handler) throw new VigilError('unknown_method', `Unknown method '${name}'`, { method: name });
    return await handler(params, ctx);
  }
}
