/**
 * @module heartbeat
 * The client-side heartbeat: sends the `ping` op every interval, and declares the link dead when no frame at all has
 * arrived within the timeout after a ping. Defaults come from the welcome (`heartbeat.interval_ms`, capped at 15 s;
 * `heartbeat.timeout_ms`, capped at 10 s).
 */
import type { WelcomeFrame } from '@vigil/protocol';

export const MAX_HEARTBEAT_INTERVAL_MS = 15_000;
export const MAX_HEARTBEAT_TIMEOUT_MS = 10_000;

/** The interval and timeout to use: the options when set, else the welcome's values, capped. */
export function heartbeatTimings(
  welcome: WelcomeFrame,
  intervalMs: number | undefined,
  timeoutMs: number | undefined,
): { intervalMs: number; timeoutMs: number } {
  const hb = welcome.heartbeat ?? { interval_ms: MAX_HEARTBEAT_INTERVAL_MS, timeout_ms: MAX_HEARTBEAT_TIMEOUT_MS };
  return {
    intervalMs: intervalMs ?? Math.min(hb.interval_ms || MAX_HEARTBEAT_INTERVAL_MS, MAX_HEARTBEAT_INTERVAL_MS),
    timeoutMs: timeoutMs ?? Math.min(hb.timeout_ms || MAX_HEARTBEAT_TIMEOUT_MS, MAX_HEARTBEAT_TIMEOUT_MS),
  };
}

export class Heartbeat {
  private interval: ReturnType<typeof setInterval> | undefined;
  private deadline: ReturnType<typeof setTimeout> | undefined;
  private lastFrameAt = 0;

  constructor(
    private readonly ping: () => void,
    private readonly onDead: () => void,
  ) {}

  /** Call for every frame received. */
  seen(): void {
    this.lastFrameAt = Date.now();
  }

  /** Starts pinging; an interval of 0 leaves the heartbeat off. */
  start(intervalMs: number, timeoutMs: number): void {
    this.stop();
    if (!(intervalMs > 0)) return;
    this.interval = setInterval(() => {
      const sentAt = Date.now();
      this.ping();
      // One deadline at a time: when it passes, the link is alive if anything arrived since its ping.
      if (this.deadline !== undefined) return;
      this.deadline = setTimeout(() => {
        this.deadline = undefined;
        if (this.lastFrameAt < sentAt) {
          this.stop();
          this.onDead();
        }
      }, timeoutMs);
    }, intervalMs);
  }

  stop(): void {
    if (this.interval !== undefined) clearInterval(this.interval);
    if (this.deadline !== undefined) clearTimeout(this.deadline);
    this.interval = undefined;
    this.deadline = undefined;
  }
}
