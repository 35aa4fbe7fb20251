/**
 * @module eta
 * Time-to-completion of a task from its observed rate. The rate is an exponentially weighted moving average of
 * progress per second, sampled each time the progress moves; the weight of a sample grows with the time it covers
 * (`1 - exp(-Δt / τ)`), so irregular reporting intervals weigh what they span and not how often they arrive.
 */

/** Progress is a fraction 0..1; the rate is in fraction per second. */
export interface RateState {
  /** ms since the epoch of the last sample (the anchor). */
  at: number;
  /** Progress at `at`. */
  pos: number;
  /** Smoothed fraction per second, or null until two samples with movement have been seen. */
  rate: number | null;
}

/** Time constant of the average: samples older than a few τ barely count. */
export const DEFAULT_TAU_MS = 30_000;

/**
 * Feeds one observation of the progress at time `at`. Unchanged progress leaves the anchor where it is, so the
 * next movement is averaged over the whole flat stretch; progress that goes backwards re-anchors and keeps the rate.
 */
export function observe(state: RateState | null, at: number, pos: number, tauMs: number = DEFAULT_TAU_MS): RateState {
  if (state === null) return { at, pos, rate: null };
  const dt = at - state.at;
  const dp = pos - state.pos;
  if (dp < 0) return { at, pos, rate: state.rate };
  if (dp === 0 || dt <= 0) return state;
  const sample = dp / (dt / 1000);
  if (state.rate === null) return { at, pos, rate: sample };
  const alpha = 1 - Math.exp(-dt / tauMs);
  return { at, pos, rate: state.rate + alpha * (sample - state.rate) };
}

/** Rescales a state when the unit of progress changes (a task's `total` moves from `from` to `to`). */
export function rescale(state: RateState | null, from: number, to: number): RateState | null {
  if (state === null || from <= 0 || to <= 0) return state;
  const k = from / to;
  return { at: state.at, pos: state.pos * k, rate: state.rate === null ? null : state.rate * k };
}

/**
 * Seconds until progress reaches 1, as of time `at`, rounded to 0.1 s; null when the rate is unknown or not positive.
 * When `at` is past the last movement, the rate is read as if the progress had been observed unchanged at `at`
 * (`rate · exp(-Δt / τ)`): a short pause barely moves the estimate, a long one lets it grow.
 */
export function etaSeconds(state: RateState | null, at: number, tauMs: number = DEFAULT_TAU_MS): number | null {
  if (state === null) return null;
  if (state.pos >= 1) return 0;
  if (state.rate === null || !(state.rate > 0)) return null;
  const idle = Math.max(0, at - state.at);
  const rate = state.rate * Math.exp(-idle / tauMs);
  return Math.round(((1 - state.pos) / rate) * 10) / 10;
}
