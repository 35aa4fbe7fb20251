/**
 * @module test-support
 * Test doubles for notifier and incident tests:
 * - `ScriptedAlertBus`: an AlertBus whose alerts a test fires, resolves and silences by hand. It stands in for the
 *   rule engine until that lands; to cover a new kind of change, add a method that edits the alert and calls `emit`.
 * - `FakeScheduler`: a clock and timers that move only when the test calls `advance()`.
 * - `RecordingServer`: a real HTTP server on 127.0.0.1 port 0 that records each request and can answer 500 to the
 *   first N calls (or to all of them).
 */
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Severity } from '@vigil/protocol';
import type { Alert, AlertBus, AlertChange, AlertListener, AlertStatus, ExternalAlertInput } from '../alerts/types.js';
import type { Scheduler, TimerHandle } from './scheduler.js';

export interface FireInput {
  rule: string;
  severity?: Severity;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  source?: 'rule' | 'external';
  silenced?: boolean;
}

export class ScriptedAlertBus implements AlertBus {
  private readonly listeners: AlertListener[] = [];
  private readonly alerts = new Map<string, Alert>();

  constructor(private readonly now: () => number = Date.now) {}

  onChange(listener: AlertListener): void {
    this.listeners.push(listener);
  }

  async get(id: string): Promise<Alert | undefined> {
    const a = this.alerts.get(id);
    return a && { ...a };
  }

  active(): Alert[] {
    return [...this.alerts.values()].filter((a) => a.status !== 'resolved').map((a) => ({ ...a }));
  }

  async raise(input: ExternalAlertInput): Promise<Alert> {
    return this.raiseExternal(input);
  }

  raiseExternal(input: ExternalAlertInput): Alert {
    const existing = [...this.alerts.values()].find(
      (a) => a.source === 'external' && a.rule === input.name && a.status !== 'resolved',
    );
    if (existing && input.status === 'resolved') return this.resolve(existing.id);
    return this.fire({
      rule: input.name,
      severity: input.severity,
      labels: input.labels,
      annotations: input.annotations,
      source: 'external',
    });
  }

  /** A new firing alert (emitted as pending first when `pendingFirst`). */
  fire(input: FireInput, pendingFirst = false): Alert {
    const alert = this.create(input, pendingFirst ? 'pending' : 'firing');
    if (pendingFirst) return this.transition(alert.id, 'firing');
    return alert;
  }

  /** Puts an alert in the bus's memory without telling listeners (state restored across a restart, say). */
  restore(alert: Alert): void {
    this.alerts.set(alert.id, { ...alert });
  }

  /** A new alert that stays pending. */
  pend(input: FireInput): Alert {
    return this.create(input, 'pending');
  }

  private create(input: FireInput, status: AlertStatus): Alert {
    const t = this.now();
    const labels = input.labels ?? {};
    const alert: Alert = {
      id: `alert-${randomUUID().slice(0, 8)}`,
      rule: input.rule,
      status,
      severity: input.severity ?? 'warning',
      value: 1,
      threshold: 0,
      labels,
      annotations: input.annotations ?? {},
      starts_at: t,
      source: input.source ?? 'rule',
      fingerprint: `${input.rule}${JSON.stringify(Object.entries(labels).sort())}`,
      silenced: input.silenced ?? false,
      updated_at: t,
    };
    this.alerts.set(alert.id, alert);
    this.emit(alert, 'transition', undefined);
    return { ...alert };
  }

  transition(id: string, status: AlertStatus): Alert {
    const alert = this.must(id);
    const previous = alert.status;
    alert.status = status;
    alert.updated_at = this.now();
    if (status === 'resolved') alert.ends_at = alert.updated_at;
    this.emit(alert, 'transition', previous);
    return { ...alert };
  }

  resolve(id: string): Alert {
    return this.transition(id, 'resolved');
  }

  silence(id: string, silenced: boolean): Alert {
    const alert = this.must(id);
    alert.silenced = silenced;
    alert.updated_at = this.now();
    this.emit(alert, 'silence', alert.status);
    return { ...alert };
  }

  emit(alert: Alert, change: AlertChange, previous: AlertStatus | undefined): void {
    for (const l of this.listeners) l({ ...alert }, change, previous);
  }

  private must(id: string): Alert {
    const alert = this.alerts.get(id);
    if (!alert) throw new Error(`no alert ${id}`);
    return alert;
  }
}

interface FakeTimer {
  id: number;
  at: number;
  fn: () => void;
}

export class FakeScheduler implements Scheduler {
  private timers: FakeTimer[] = [];
  private nextId = 1;

  constructor(private time = Date.UTC(2025, 0, 1)) {}

  now(): number {
    return this.time;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const timer = { id: this.nextId++, at: this.time + Math.max(0, ms), fn };
    this.timers.push(timer);
    return timer;
  }

  clearTimeout(handle: TimerHandle): void {
    this.timers = this.timers.filter((t) => t !== handle);
  }

  /** Timers waiting to fire. */
  pending(): number {
    return this.timers.length;
  }

  /** Moves time forward by `ms`, firing each due timer at its own time, in order (timers set meanwhile included). */
  advance(ms: number): void {
    const target = this.time + ms;
    for (;;) {
      const due = this.timers.filter((t) => t.at <= target).sort((a, b) => a.at - b.at || a.id - b.id)[0];
      if (!due) break;
      this.timers = this.timers.filter((t) => t !== due);
      this.time = Math.max(this.time, due.at);
      due.fn();
    }
    this.time = target;
  }
}

export interface RecordedRequest {
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
}

export class RecordingServer {
  readonly requests: RecordedRequest[] = [];
  /** Answer 500 to this many more requests. */
  failNext = 0;
  /** Answer 500 to every request. */
  failAll = false;
  private server: Server | undefined;
  url = '';

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let body: unknown = text;
        try {
          body = JSON.parse(text);
        } catch {}
        this.requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
        const fail = this.failAll || this.failNext > 0;
        if (this.failNext > 0) this.failNext--;
        res.writeHead(fail ? 500 : 200, { 'content-type': 'text/plain' });
        res.end(fail ? 'boom' : 'ok');
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  bodies<T>(): T[] {
    return this.requests.map((r) => r.body as T);
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Polls `cond` (real time) until it holds; the timeout is a safety net of at least 30 s, never an assertion. */
export async function until(
  cond: () => boolean | Promise<boolean>,
  what = 'condition',
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + Math.max(timeoutMs, 30_000);
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(2);
  }
}
