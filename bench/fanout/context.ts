/**
 * @module bench/fanout/context
 * What every scenario shares: the repo root, a scratch directory for logs and data, the `node` flags of the server
 * children, and `startTarget`, which picks a free port and starts one target's server child.
 */
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, ServerProcess } from './server-process.js';
import { ONE_SHAPE, type Shape, type Target } from './targets.js';

export interface RunContext {
  root: string;
  host: string;
  /** Scratch directory: server logs and Vigil data directories. */
  tmpDir: string;
  /** `node` flags of every server child (GC exposure, tsx loader, the GC hook). */
  nodeFlags: string[];
  /** Extra arguments appended to `vigil serve`. */
  vigilArgs: string[];
  readyTimeoutMs: number;
  log(line: string): void;
}

export async function startTarget(
  target: Target,
  ctx: RunContext,
  shape: Shape = ONE_SHAPE,
): Promise<{ server: ServerProcess; port: number }> {
  const port = await freePort();
  const dataDir = mkdtempSync(join(ctx.tmpDir, `${target.id}-data-`));
  const args = target.serverArgs(ctx.root, port, dataDir, shape);
  if (target.id === 'vigil') args.push(...ctx.vigilArgs);
  const server = await ServerProcess.start(
    { args, cwd: ctx.root, logDir: ctx.tmpDir, name: `${target.id}-${port}`, port, nodeFlags: ctx.nodeFlags },
    ctx.readyTimeoutMs,
  );
  return { server, port };
}
