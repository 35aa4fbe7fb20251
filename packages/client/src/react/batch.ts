/**
 * @module batch
 * Coalesces bursts of events into one state update: `schedule()` asks for one `flush()` on the next animation frame,
 * however many times it is called before then. Without `requestAnimationFrame` (Node, tests, workers) a frame is a
 * 16 ms timer: a burst that reaches the socket in several reads still lands in one update.
 */

/** The frame length used where there is no `requestAnimationFrame`. */
export const FALLBACK_FRAME_MS = 16;

export interface Batcher {
  schedule(): void;
  cancel(): void;
}

interface FrameApi {
  requestAnimationFrame?: (cb: () => void) => number;
  cancelAnimationFrame?: (handle: number) => void;
}

export function createBatcher(flush: () => void): Batcher {
  const { requestAnimationFrame: raf, cancelAnimationFrame: caf } = globalThis as FrameApi;
  let frame: number | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const run = () => {
    frame = undefined;
    timer = undefined;
    flush();
  };
  return {
    schedule() {
      if (frame !== undefined || timer !== undefined) return;
      if (raf && caf) frame = raf(run);
      else timer = setTimeout(run, FALLBACK_FRAME_MS);
    },
    cancel() {
      if (frame !== undefined) caf?.(frame);
      if (timer !== undefined) clearTimeout(timer);
      frame = undefined;
      timer = undefined;
    },
  };
}
