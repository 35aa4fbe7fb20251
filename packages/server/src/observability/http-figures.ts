/**
 * @module http-figures
 * The hub's own HTTP API as metrics, added to each collect of the host collector: `process.http.requests_per_s`,
 * `process.http.error_percent` (share of answers with a 5xx status) and `process.http.response_time_ms` (mean), each
 * over the interval since the previous collect, plus `process.http.requests_total`. The first collect has no rates.
 */
import type { Sample } from '../metrics/sample.js';
import type { HubCounters } from './hub-counters.js';

export interface HttpFigures {
  requests: number;
  errors: number;
  totalMs: number;
}

/** Rates over an interval: requests per second, 5xx share in percent, mean response time in ms (null without requests). */
export function httpRates(
  before: HttpFigures,
  after: HttpFigures,
  seconds: number,
): { requests_per_s: number; error_percent: number; response_time_ms: number | null } {
  const n = after.requests - before.requests;
  return {
    requests_per_s: n / Math.max(seconds, 0.001),
    error_percent: n === 0 ? 0 : (100 * (after.errors - before.errors)) / n,
    response_time_ms: n === 0 ? null : (after.totalMs - before.totalMs) / n,
  };
}

/** A sampler of the HTTP figures for the collector. */
export function httpSamples(counters: HubCounters): (now: number) => Sample[] {
  let last: (HttpFigures & { at: number }) | undefined;
  return (now) => {
    const current = { ...counters.http, at: now };
    const out: Sample[] = [{ name: 'process.http.requests_total', value: current.requests, labels: {}, ts: now }];
    if (last) {
      const r = httpRates(last, current, (now - last.at) / 1000);
      out.push({ name: 'process.http.requests_per_s', value: r.requests_per_s, labels: {}, ts: now });
      out.push({ name: 'process.http.error_percent', value: r.error_percent, labels: {}, ts: now });
      if (r.response_time_ms !== null) {
        out.push({ name: 'process.http.response_time_ms', value: r.response_time_ms, labels: {}, ts: now });
      }
    }
    last = current;
    return out;
  };
}
