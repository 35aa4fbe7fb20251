/**
 * @module bench/fanout/fanout
 * The fan-out scenario for one target: N subscribers and one publisher; memory per connection; a ramp of publish
 * rates to find the peak sustained deliveries/s; then a run at half of that peak measuring end-to-end latency.
 * The shape (`FanoutOptions.shape`) spreads subscribers and events over channels, with a filter on each subscription
 * that keeps half of the events; a step then expects, per event, the subscribers of its channel when it matches.
 *
 * A step is sustained when every frame it published reached every subscriber within `maxDrainMs` after the last
 * publish. Its deliveries/s is frames received / (publish time + drain time), so a lagging server is not flattered.
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { type RunContext, startTarget } from './context.js';
import { LoadGenerator } from './load-generator.js';
import type { FanoutServer } from './server-process.js';
import { type CpuWindow, cpuWindow, type LatencySummary, round, summarize } from './stats.js';
import { type MiscLog, ONE_SHAPE, type Shape, type Target } from './targets.js';

export interface FanoutOptions {
  subscribers: number;
  /** Target size of the event frame payload as a subscriber receives it. */
  eventBytes: number;
  stepMs: number;
  /** First ramp step, events/s. */
  startRate: number;
  growth: number;
  maxSteps: number;
  /** Bisection steps after the first failed step. */
  refineSteps: number;
  maxDrainMs: number;
  maxRampMs: number;
  /** A step during which other processes used more than this % of a core is noisy and retried (twice at most). */
  noiseLimitPct: number;
  latencyMs: number;
  latencyWarmupMs: number;
  sampleEvery: number;
  connectConcurrency: number;
  /** How long all subscribers may take to finish their handshakes (ms). */
  readyTimeoutMs?: number;
  /** Channels, filters (default: every subscriber on one channel, no filter). */
  shape?: Shape;
}

export interface StepResult {
  eventsPerSec: number;
  sent: number;
  expected: number;
  delivered: number;
  drainMs: number;
  deliveriesPerSec: number;
  sustained: boolean;
  /** Other processes used more than `noiseLimitPct` of a core during the step (even after retries). */
  noisy: boolean;
  latency: LatencySummary;
  cpu: CpuWindow;
  /** Event frames per socket read at the generator (the fewer, the more the generator pays per delivery). */
  framesPerRead: number;
  /** Length of the last event frame a subscriber received in the step (bytes of payload). */
  frameBytes: number;
}

export type LatencyRun = StepResult & { warmupMs: number };

export interface FanoutResult {
  target: string;
  label: string;
  shape: Shape;
  subscribers: number;
  connectFailures: number;
  eventFrameBytes: number;
  rssBeforeBytes: number;
  rssAfterBytes: number;
  rssPerConnBytes: number;
  peak: StepResult | null;
  /** No ramp step failed: the server was not saturated, the real peak is higher. */
  peakIsLowerBound: boolean;
  /**
   * Which process was CPU-saturated (>= 90% of a core) in the lowest failed step: `server`, `generator`, both
   * (`server+generator`), `neither` (the step failed for another reason, e.g. drops), or `not reached`.
   */
  saturated: string;
  maxObservedDeliveriesPerSec: number;
  /** Latency run at half of this target's own peak. */
  halfPeak: LatencyRun | null;
  /** The common rate (events/s) every target's latency is also measured at: half of the raw ws peak. */
  referenceEventsPerSec: number | null;
  /** Latency run at `referenceEventsPerSec` (same load for every target); null when above this target's peak. */
  atReference: LatencyRun | null;
  steps: StepResult[];
  miscFrames: MiscLog;
  publisherFrames: MiscLog;
  errors: number;
  lastError: string;
}

/** How many noisy steps a target may still retry (bounds the run time on a busy machine). */
interface NoiseBudget {
  retries: number;
}

/** `runStep`, retried (twice at most, within the budget) while other processes load the machine. */
async function runQuietStep(
  ctx: RunContext,
  budget: NoiseBudget,
  ...args: Parameters<typeof runStep>
): Promise<StepResult> {
  let step = await runStep(...args);
  for (let retry = 0; step.noisy && retry < 2 && budget.retries > 0; retry++) {
    budget.retries--;
    ctx.log(`  (other processes used ${Math.round(step.cpu.otherPct)}% CPU during the step: retrying)`);
    await sleep(1000);
    step = await runStep(...args);
  }
  return step;
}

async function runStep(
  gen: LoadGenerator,
  server: FanoutServer,
  rate: number,
  durationMs: number,
  warmupMs: number,
  pad: string,
  opts: FanoutOptions,
): Promise<StepResult> {
  const base = gen.counters.delivered;
  const reads0 = gen.counters.reads;
  const endCpu = cpuWindow(server);
  const t0 = performance.now();
  gen.startRecording(warmupMs);
  const run = await gen.publishAt(rate, durationMs, pad);
  const expected = run.expected;
  const drainMs = await gen.waitDelivered(base + expected, opts.maxDrainMs);
  const wallMs = performance.now() - t0;
  const cpu = endCpu();
  gen.stopRecording();
  const delivered = gen.counters.delivered - base;
  const reads = gen.counters.reads - reads0;
  const sustained = delivered >= expected && drainMs < opts.maxDrainMs;
  if (!sustained) await gen.waitQuiet(300, 15_000); // let the backlog drain so the next step starts clean
  return {
    eventsPerSec: round((run.sent / run.elapsedMs) * 1000, 1),
    sent: run.sent,
    expected,
    delivered,
    drainMs: round(drainMs, 1),
    deliveriesPerSec: Math.round((delivered / wallMs) * 1000),
    sustained,
    noisy: cpu.otherPct > opts.noiseLimitPct,
    latency: summarize(gen.latencies),
    cpu,
    framesPerRead: round(delivered / Math.max(1, reads), 1),
    frameBytes: gen.lastEventLen,
  };
}

/**
 * The padding resized so that the next events reach the subscribers at `eventBytes` again. A Vigil event frame carries
 * its offset, which grows a digit now and then over a run: without this its frames would grow past the peers'.
 */
function repad(pad: string, gen: LoadGenerator, eventBytes: number): string {
  const diff = eventBytes - gen.lastEventLen;
  if (gen.lastEventLen === 0 || diff === 0) return pad;
  return 'x'.repeat(Math.max(0, pad.length + diff));
}

/**
 * Sends probe events and resizes the padding until the frame a subscriber receives is `eventBytes` long. With
 * filtered subscriptions each probe follows an event the filter drops: the count must then be exactly the matching
 * probe's (a server that does not filter delivers both, in order).
 */
async function calibrate(gen: LoadGenerator, eventBytes: number, filtered: boolean): Promise<string> {
  let padLen = 100;
  for (let i = 0; i < 4; i++) {
    const base = gen.counters.delivered;
    if (filtered) gen.publishOne('x'.repeat(padLen), false);
    const n = gen.publishOne('x'.repeat(padLen));
    await gen.waitDelivered(base + n, 5000);
    if (filtered) await gen.waitQuiet(200, 5000);
    const got = gen.counters.delivered - base;
    if (got < n) {
      const misc = gen.misc.samples.concat(gen.publisherFrames.samples).join(' | ');
      throw new Error(`probe event reached ${got}/${n} subscribers; other frames: ${misc || 'none'}`);
    }
    if (got > n) throw new Error(`filtered probes made ${got} deliveries, ${n} expected: the filter was not applied`);
    const diff = eventBytes - gen.lastEventLen;
    if (diff === 0) break;
    padLen = Math.max(0, padLen + diff);
  }
  return 'x'.repeat(padLen);
}

function saturation(steps: StepResult[]): string {
  const failed = steps.filter((s) => !s.sustained).sort((a, b) => a.eventsPerSec - b.eventsPerSec)[0];
  if (failed === undefined) return 'not reached';
  const who = [];
  if (failed.cpu.serverPct >= 90) who.push('server');
  if (failed.cpu.generatorPct >= 90) who.push('generator');
  return who.length === 0 ? 'neither' : who.join('+');
}

function fmtRate(n: number): string {
  return n >= 1000 ? `${round(n / 1000, 1)}k` : String(n);
}

/**
 * Ramps the publish rate: multiplies it by `growth` until a step is not sustained, then bisects between the best
 * sustained rate and the lowest failed one for `refineSteps` steps.
 */
async function ramp(
  ctx: RunContext,
  budget: NoiseBudget,
  gen: LoadGenerator,
  server: FanoutServer,
  initialPad: string,
  opts: FanoutOptions,
): Promise<StepResult[]> {
  let pad = initialPad;
  const steps: StepResult[] = [];
  let rate = opts.startRate;
  let good = 0;
  let bad = Number.POSITIVE_INFINITY;
  let refined = 0;
  const rampStart = Date.now();
  while (steps.length < opts.maxSteps && Date.now() - rampStart < opts.maxRampMs) {
    pad = repad(pad, gen, opts.eventBytes);
    const step = await runQuietStep(ctx, budget, gen, server, rate, opts.stepMs, 0, pad, opts);
    steps.push(step);
    if (!server.alive) throw new Error(`server died during the ramp:\n${server.logTail()}`);
    ctx.log(
      `  step ${String(Math.round(rate)).padStart(5)} ev/s: ${fmtRate(step.deliveriesPerSec).padStart(7)} deliv/s ` +
        `drain ${String(Math.round(step.drainMs)).padStart(4)} ms p99 ${round(step.latency.p99Ms, 1)} ms ` +
        `cpu srv ${Math.round(step.cpu.serverPct)}% (sys ${Math.round(step.cpu.serverSysPct)}) ` +
        `gen ${Math.round(step.cpu.generatorPct)}% (sys ${Math.round(step.cpu.generatorSysPct)}) ` +
        `other ${Math.round(step.cpu.otherPct)}% frames/read ${step.framesPerRead} ` +
        `${step.sustained ? 'ok' : `FAIL ${step.delivered}/${step.expected}`}${step.noisy ? ' (noisy)' : ''}`,
    );
    if (step.sustained) good = Math.max(good, rate);
    else bad = Math.min(bad, rate);
    if (bad === Number.POSITIVE_INFINITY) rate *= opts.growth;
    else if (good === 0) rate = bad / 2;
    else {
      if (refined >= opts.refineSteps || bad / good < 1.05) break;
      rate = (good + bad) / 2;
      refined++;
    }
    await sleep(200);
  }
  if (bad === Number.POSITIVE_INFINITY) ctx.log('  (ramp ended before any step failed: the peak is a lower bound)');
  return steps;
}

export async function runFanout(
  target: Target,
  opts: FanoutOptions,
  ctx: RunContext,
  referenceRate?: number,
  /** Starts what the load goes to (default: one server of `target`), e.g. several nodes behind a balancer. */
  start: (shape: Shape) => Promise<{ server: FanoutServer; port: number }> = (shape) => startTarget(target, ctx, shape),
): Promise<FanoutResult> {
  const shape = opts.shape ?? ONE_SHAPE;
  const { server, port } = await start(shape);
  const gen = new LoadGenerator({
    host: ctx.host,
    port,
    target,
    minEventLen: Math.min(100, Math.floor(opts.eventBytes * 0.6)),
    sampleEvery: opts.sampleEvery,
    connectConcurrency: opts.connectConcurrency,
    timeoutMs: 10_000,
    shape,
  });
  try {
    await server.settle();
    const rssBefore = server.rssBytes();
    await gen.connectSubscribers(opts.subscribers);
    const ready = await gen.waitReady(opts.readyTimeoutMs ?? 10_000);
    if (ready < opts.subscribers) {
      throw new Error(`only ${ready}/${opts.subscribers} subscribers ready (${gen.counters.lastError})`);
    }
    await server.settle();
    const rssAfter = server.rssBytes();
    ctx.log(`  ${ready} subscribers, server RSS +${round((rssAfter - rssBefore) / 1048576, 1)} MiB`);
    await gen.connectPublisher();
    const pad = await calibrate(gen, opts.eventBytes, shape.filtered);
    ctx.log(`  event frame ${gen.lastEventLen} bytes at the subscriber`);

    const budget: NoiseBudget = { retries: 6 };
    const steps = await ramp(ctx, budget, gen, server, pad, opts);
    const peak = steps
      .filter((s) => s.sustained)
      .reduce<StepResult | null>(
        (best, s) => (best === null || s.deliveriesPerSec > best.deliveriesPerSec ? s : best),
        null,
      );
    let latencyPad = pad;
    const latencyRun = async (rate: number, what: string): Promise<LatencyRun> => {
      latencyPad = repad(latencyPad, gen, opts.eventBytes);
      const step = await runQuietStep(
        ctx,
        budget,
        gen,
        server,
        rate,
        opts.latencyMs,
        opts.latencyWarmupMs,
        latencyPad,
        opts,
      );
      ctx.log(
        `  ${what} ${round(rate, 1)} ev/s: p50 ${round(step.latency.p50Ms, 2)} ms, p99 ${round(step.latency.p99Ms, 2)} ms ` +
          `(${step.latency.samples} samples${step.sustained ? '' : ', NOT sustained'})`,
      );
      return { ...step, warmupMs: opts.latencyWarmupMs };
    };
    // Deliveries per event: the subscribers of the event's channel, times the share of events that match.
    const perEvent = peak === null ? 0 : peak.expected / peak.sent;
    const halfPeak = peak === null ? null : await latencyRun(peak.deliveriesPerSec / 2 / perEvent, 'half peak');
    let atReference: LatencyRun | null = null;
    if (referenceRate !== undefined && halfPeak !== null) {
      if (Math.abs(referenceRate - halfPeak.eventsPerSec) / referenceRate < 0.02) atReference = halfPeak;
      else if (peak !== null && referenceRate <= peak.eventsPerSec) {
        atReference = await latencyRun(referenceRate, 'reference rate');
      } else ctx.log(`  reference rate ${round(referenceRate, 1)} ev/s is above this target's peak: skipped`);
    }
    return {
      target: target.id,
      label: target.label,
      shape,
      subscribers: ready,
      connectFailures: gen.connectFailures,
      eventFrameBytes: peak?.frameBytes ?? gen.lastEventLen,
      rssBeforeBytes: rssBefore,
      rssAfterBytes: rssAfter,
      rssPerConnBytes: Math.round((rssAfter - rssBefore) / ready),
      peak,
      peakIsLowerBound: steps.every((s) => s.sustained),
      saturated: saturation(steps),
      maxObservedDeliveriesPerSec: Math.max(0, ...steps.map((s) => s.deliveriesPerSec)),
      halfPeak,
      referenceEventsPerSec: referenceRate ?? null,
      atReference,
      steps,
      miscFrames: gen.misc,
      publisherFrames: gen.publisherFrames,
      errors: gen.counters.errors,
      lastError: gen.counters.lastError,
    };
  } finally {
    gen.closeAll();
    await server.stop();
  }
}
