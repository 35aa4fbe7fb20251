/**
 * @module serve
 * `vigil serve`: the hub itself, delegated to `@vigil/server`'s `serve(argv)` (its own flags: --host, --port, --data,
 * --config, --insecure). Loaded on demand, so that the other commands never load the hub.
 */
import type { Io } from '../io.js';

export async function serveCommand(argv: string[], _io: Io): Promise<number> {
  const { serve } = await import('@vigil/server');
  return serve(argv);
}
