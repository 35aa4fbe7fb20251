/**
 * @module bench/fanout/gc-hook
 * Preloaded (`--import`) into every server child, Vigil included, so memory can be read after a settle: on the IPC
 * message `{cmd: 'gc'}` it runs a full GC (the child runs with `--expose-gc`) and answers `{gc: 'done'}`.
 */
if (process.send) {
  process.on('message', (msg: unknown) => {
    if (typeof msg !== 'object' || msg === null || (msg as { cmd?: unknown }).cmd !== 'gc') return;
    globalThis.gc?.();
    process.send?.({ gc: 'done' });
  });
  process.channel?.unref();
}
