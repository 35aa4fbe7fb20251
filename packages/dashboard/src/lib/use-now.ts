/**
 * @module use-now
 * `useNow(ms)`: the current time, re-rendering every `ms` (one shared timer per period), for "for 3m 12s" and ETAs.
 */
import { useEffect, useState } from 'preact/hooks';

const clocks = new Map<number, { timer: ReturnType<typeof setInterval>; listeners: Set<(now: number) => void> }>();

export function useNow(periodMs = 1000): number {
  const [now, setNow] = useState(Date.now);
  useEffect(() => {
    let clock = clocks.get(periodMs);
    if (!clock) {
      const listeners = new Set<(now: number) => void>();
      const timer = setInterval(() => {
        const t = Date.now();
        for (const l of listeners) l(t);
      }, periodMs);
      clock = { timer, listeners };
      clocks.set(periodMs, clock);
    }
    clock.listeners.add(setNow);
    return () => {
      clock.listeners.delete(setNow);
      if (clock.listeners.size === 0) {
        clearInterval(clock.timer);
        clocks.delete(periodMs);
      }
    };
  }, [periodMs]);
  return now;
}
