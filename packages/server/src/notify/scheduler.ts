/**
 * @module scheduler
 * Time for notifiers and incidents: a clock and one-shot timers behind one small interface, so that tests can run
 * group_wait, repeat_interval, retries and escalations on fake time. `realScheduler` is the default.
 */

/** An opaque timer handle, as returned by `setTimeout`. */
export type TimerHandle = unknown;

export interface Scheduler {
  /** ms since the epoch. */
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

/** Wall-clock time and Node timers; timers are unref'd so that they never keep a process alive on their own. */
export function realScheduler(now: () => number = Date.now): Scheduler {
  return {
    now,
    setTimeout(fn, ms) {
      const t = setTimeout(fn, Math.max(0, ms));
      t.unref();
      return t;
    },
    clearTimeout(handle) {
      clearTimeout(handle as NodeJS.Timeout);
    },
  };
}

/** Resolves after `ms` on `scheduler`, or early (resolving false) when `signal` aborts. */
export function sleepOn(scheduler: Scheduler, ms: number, signal?: AbortSignal): Promise<boolean> {
  if (signal?.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const onAbort = () => {
      scheduler.clearTimeout(handle);
      resolve(false);
    };
    const handle = scheduler.setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
