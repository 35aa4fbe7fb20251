/**
 * @module metrics/collector/measure-cost
 * Measures what the system collector costs. Run: `node --import tsx packages/server/src/metrics/collector/measure-cost.ts [N]`.
 *
 * 1. Tight loop: N back-to-back `collect()` calls (default 2,000), reporting wall and CPU ms per collect and the
 *    resulting share of one core at 1 Hz.
 * 2. Real pace: the process idling with no collector for M seconds (default 10), then a 1 Hz collector for the same
 *    time; the difference also counts the event-loop delay timer the collector keeps running.
 */
import { performance } from 'node:perf_hooks';
import { SystemCollector } from './system-collector.js';

const iterations = Number(process.argv[2] ?? 2000);
// M, the seconds of each real-pace phase.
const paceSeconds = Number(process.argv[3] ?? 10);

function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function main(): Promise<void> {
  await sleep(2000); // let start-up work (module loading, JIT, GC) settle
  const idleCpu0 = cpuMs();
  await sleep(paceSeconds * 1000);
  const idleCpu = cpuMs() - idleCpu0;

  const collector = new SystemCollector();
  let now = Date.now();
  let count = 0;
  for (let i = 0; i < 50; i++) {
    now += 1000;
    count = collector.collect(now).length; // warm up
  }

  const wall0 = performance.now();
  const cpu0 = cpuMs();
  for (let i = 0; i < iterations; i++) {
    now += 1000;
    collector.collect(now);
  }
  const wallPer = (performance.now() - wall0) / iterations;
  const cpuPer = (cpuMs() - cpu0) / iterations;
  console.log(`samples per collect: ${count}`);
  console.log(
    `tight loop, ${iterations} collects: ${wallPer.toFixed(3)} ms wall, ${cpuPer.toFixed(3)} ms CPU per collect`,
  );
  console.log(`=> at 1 Hz: ${(cpuPer / 10).toFixed(3)}% of one core (budget 2%)`);

  const paceCpu0 = cpuMs();
  for (let i = 0; i < paceSeconds; i++) {
    collector.collect(Date.now());
    await sleep(1000);
  }
  const paceCpu = cpuMs() - paceCpu0;
  collector.close();
  const pct = (ms: number) => ((ms / (paceSeconds * 1000)) * 100).toFixed(3);
  console.log(
    `1 Hz for ${paceSeconds} s: process ${pct(paceCpu)}% of one core; idle baseline ${pct(idleCpu)}%; ` +
      `collector ≈ ${pct(Math.max(0, paceCpu - idleCpu))}%`,
  );
}

await main();
