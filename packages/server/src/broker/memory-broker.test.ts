/**
 * @module memory-broker.test
 * Runs the shared broker conformance suite against the memory engine.
 */
import { brokerConformance } from './conformance.js';
import { HistoryPolicies } from './history-policy.js';
import { MemoryBroker } from './memory-broker.js';

brokerConformance('memory', async ({ defaults, rules, budget }) => {
  const broker = new MemoryBroker({ policies: new HistoryPolicies(defaults, rules, budget) });
  await broker.start();
  return broker;
});
