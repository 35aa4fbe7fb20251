/**
 * @module engine
 * The alert engine. Rules are evaluated per series on ingest (a crossing sample produces its `alert` event in the
 * same turn) and on a timer (for `for`, `keep_firing_for`, sliding windows, absence rules and silence windows).
 * Every transition, acknowledgement and silence change is published on `alerts`, told to listeners (notifiers,
 * incidents), and persisted. It also takes in external alerts.
 */
import { createHash, randomBytes } from 'node:crypto';
import { VigilError } from '@vigil/protocol';
import type { StoredEvent } from '../broker/broker.js';
import type { LeaderAction } from '../cluster/sample-relay.js';
import type { Series, SeriesRegistry } from '../metrics/series-registry.js';
import { labelsMatch } from '../metrics/series-registry.js';
import type { AlertWrite, StateStore } from '../storage/state-store.js';
import type { AlertQuery, StoredAlert, Transition } from './alert-store.js';
import type { AlertsConfig } from './config.js';
import { type FlapPolicy, newState, type Observation, observe, type RuleState, type Step, step } from './evaluate.js';
import { parseRule, type Rule } from './rule.js';
import { RuleIndex } from './rule-index.js';
import { SilenceSet } from './silences.js';
import { renderAnnotations } from './template.js';
import type { Alert, AlertBus, AlertChange, AlertListener, AlertStatus, ExternalAlertInput } from './types.js';

interface Tracked {
  rule: Rule;
  seriesKey: string;
  labels: Readonly<Record<string, string>>;
  state: RuleState;
  alert: StoredAlert | undefined;
}

export interface AlertEngineDeps {
  config: AlertsConfig;
  registry: SeriesRegistry;
  store: StateStore;
  emit: (channel: string, kind: string, data: unknown) => Promise<StoredEvent>;
  now?: () => number;
  log?: (level: 'warn' | 'error', msg: string, extra?: Record<string, unknown>) => void;
  /** On a follower of a cluster: tells the leader of an action taken here (see cluster/sample-relay.ts). */
  tellLeader?: (action: LeaderAction) => void;
  /** On a follower of a cluster: hands an action to the leader and resolves with its answer. */
  askLeader?: (action: LeaderAction) => Promise<unknown>;
}

function fingerprint(...parts: string[]): string {
  return createHash('sha1').update(parts.join('\u0000')).digest('hex').slice(0, 16);
}

function sortedLabels(labels: Record<string, string>): string {
  return Object.keys(labels)
    .sort()
    .map((k) => `${k}=${labels[k]}`)
    .join(',');
}

/** The wire form of an alert (the `alert` event's data). */
export function alertData(a: StoredAlert): Alert & { flapping: boolean } {
  const { series_key: _s, clear_since: _c, ...rest } = a;
  return rest;
}

export class AlertEngine implements AlertBus {
  readonly silences: SilenceSet;
  private readonly rules = new Map<string, Rule>();
  private readonly index = new RuleIndex();
  private readonly tracked = new Map<string, Tracked>();
  private readonly external = new Map<string, StoredAlert>();
  private readonly live = new Map<string, StoredAlert>();
  private readonly listeners: AlertListener[] = [];
  private readonly ruleSince = new Map<string, number>();
  /** Recent firing times per rule and series, kept after an alert resolves so that flapping can be seen. */
  private readonly firings = new Map<string, number[]>();
  private timer: NodeJS.Timeout | undefined;
  /** Whether this node evaluates (always, but for the followers of a cluster). */
  private leading = false;
  /**
   * Whether the alert state of the current leadership is in memory: cleared by `lead`, set once the change it queued
   * (and none after it) has loaded the state. Until then samples wait in the registry and external alerts go the
   * follower's way, so nothing is evaluated against an emptied state.
   */
  private loaded = false;
  /** Counts leadership changes; a change that finds a later one queued leaves the outcome to it. */
  private changes = 0;
  /** Resolves once the last leadership change has loaded (or cleared) the alert state. */
  private settled: Promise<void> = Promise.resolve();
  /** Alert writes not yet handed to the store; they go together after the current turn. */
  private pending: AlertWrite[] = [];
  private flushScheduled = false;
  /** The store's writes, one batch after another. */
  private writes: Promise<void> = Promise.resolve();
  private readonly now: () => number;
  private readonly flap: FlapPolicy;
  evaluations = 0;

  constructor(private readonly d: AlertEngineDeps) {
    this.now = d.now ?? Date.now;
    this.flap = d.config.flap;
    this.silences = new SilenceSet(this.now);
  }

  /** Loads rules, silences and active alerts, then starts the timer. */
  async start(): Promise<void> {
    await this.load();
    this.leading = true;
    this.loaded = true;
    this.startTimer();
  }

  /**
   * Leads (evaluates, keeps `for` timers, tells listeners) or follows. In a cluster only the lease holder leads;
   * a node that becomes the leader reloads rules, silences and active alerts from the state store, so `for` clocks
   * and firing alerts carry over from the node before it without a new notification.
   */
  lead(leader: boolean): Promise<void> {
    if (leader === this.leading) return this.settled;
    this.leading = leader;
    this.loaded = false;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    const generation = ++this.changes;
    const change = this.settled.then(() => this.changeLeadership(leader, generation));
    this.settled = change.catch(() => {});
    return change;
  }

  private async changeLeadership(leader: boolean, generation: number): Promise<void> {
    await this.flush();
    if (!leader) {
      this.clearState();
      return;
    }
    await this.load();
    // Leadership changed again while the state loaded: the change queued after this one decides.
    if (generation !== this.changes || !this.leading) return;
    this.loaded = true;
    this.startTimer();
    // Samples taken in while no node led (this one included) are in the registry: evaluate them now.
    for (const rule of this.rules.values()) {
      for (const s of this.d.registry.ofMetric(rule.metric))
        if (labelsMatch(s.labels, rule.labels)) this.evaluate(rule, s);
    }
  }

  /** Whether this node leads and has loaded the alert state (see `lead`). */
  isLeading(): boolean {
    return this.leading && this.loaded;
  }

  private startTimer(): void {
    this.timer = setInterval(() => this.tick(), this.d.config.evaluationIntervalMs);
    this.timer.unref();
  }

  private clearState(): void {
    for (const name of [...this.rules.keys()]) {
      const rule = this.rules.get(name)!;
      this.index.remove(rule);
    }
    this.rules.clear();
    this.ruleSince.clear();
    this.tracked.clear();
    this.external.clear();
    this.live.clear();
    this.firings.clear();
  }

  private async load(): Promise<void> {
    this.clearState();
    const now = this.now();
    for (const rule of this.d.config.rules) this.addRule(rule, now);
    const [rules, silences, active] = await Promise.all([
      this.d.store.rules(),
      this.d.store.silences(),
      this.d.store.activeAlerts(),
    ]);
    for (const row of rules) {
      try {
        this.addRule(parseRule(JSON.parse(row.spec), 'api'), now);
      } catch (err) {
        this.d.log?.('warn', 'stored rule no longer valid; skipped', { rule: row.name, err: String(err) });
      }
    }
    for (const row of silences) this.silences.restore(row);
    for (const a of active) {
      this.live.set(a.id, a);
      if (a.source === 'external') {
        this.external.set(a.fingerprint, a);
        continue;
      }
      const rule = this.rules.get(a.rule);
      if (!rule || a.series_key === null) {
        this.finish(a, now, 'rule removed');
        continue;
      }
      const state = newState();
      state.status = a.status === 'firing' ? 'firing' : 'pending';
      state.since = a.starts_at;
      state.clearSince = a.clear_since;
      state.flapping = a.flapping;
      this.tracked.set(`${rule.name}\u0000${a.series_key}`, {
        rule,
        seriesKey: a.series_key,
        labels: a.labels,
        state,
        alert: a,
      });
    }
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.flush();
  }

  /** Queues an alert write; all queued writes go to the store together after the current turn. */
  private later(write: AlertWrite): void {
    this.pending.push(write);
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => void this.flush());
  }

  /** Hands the queued alert writes to the store; resolves once every write queued so far is stored. */
  flush(): Promise<void> {
    this.flushScheduled = false;
    const batch = this.pending;
    if (batch.length > 0) {
      this.pending = [];
      this.writes = this.writes.then(() =>
        this.d.store.saveAlerts(batch).catch((err: unknown) => {
          this.d.log?.('error', 'could not store alert changes', { err: String(err), alerts: batch.length });
        }),
      );
    }
    return this.writes;
  }

  onChange(listener: AlertListener): void {
    this.listeners.push(listener);
  }

  // ---- rules ----

  private addRule(rule: Rule, now: number): void {
    this.rules.set(rule.name, rule);
    this.ruleSince.set(rule.name, now);
    this.index.add(rule);
  }

  private unindex(name: string): void {
    const rule = this.rules.get(name);
    if (!rule) return;
    this.rules.delete(name);
    this.index.remove(rule);
    const now = this.now();
    for (const [key, t] of this.tracked) {
      if (t.rule.name !== name) continue;
      this.tracked.delete(key);
      if (t.alert) this.finish(t.alert, now, 'rule removed');
    }
  }

  /**
   * Why `rules` cannot replace the config-file rules, or undefined: a rule named like one made through the API.
   * Checked before a reload changes anything.
   */
  configRulesProblem(rules: readonly Rule[]): { key: string; reason: string } | undefined {
    for (const [i, rule] of rules.entries()) {
      if (this.rules.get(rule.name)?.source === 'api') {
        return { key: `alerts.rules.${i}.name`, reason: `'${rule.name}' is the name of a rule made through the API` };
      }
    }
    return undefined;
  }

  /**
   * Replaces the config-file rules (configuration reload): removed rules end their alerts ("rule removed"), changed
   * ones start over, unchanged ones keep their state; new and changed rules are evaluated on the current series.
   * Rules made through the API are not touched. Returns the names added, changed and removed.
   */
  replaceConfigRules(rules: readonly Rule[]): { added: string[]; changed: string[]; removed: string[] } {
    const out = { added: [] as string[], changed: [] as string[], removed: [] as string[] };
    const next = new Map(rules.map((r) => [r.name, r]));
    for (const rule of [...this.rules.values()]) {
      if (rule.source === 'config' && !next.has(rule.name)) {
        this.unindex(rule.name);
        out.removed.push(rule.name);
      }
    }
    const now = this.now();
    for (const rule of rules) {
      const existing = this.rules.get(rule.name);
      if (existing && JSON.stringify(existing.spec) === JSON.stringify(rule.spec)) continue;
      if (existing) {
        this.unindex(rule.name);
        out.changed.push(rule.name);
      } else out.added.push(rule.name);
      this.addRule(rule, now);
      for (const s of this.d.registry.ofMetric(rule.metric))
        if (labelsMatch(s.labels, rule.labels)) this.evaluate(rule, s);
    }
    return out;
  }

  listRules(): (Rule['spec'] & { source: Rule['source'] })[] {
    return [...this.rules.values()]
      .sort((a, b) => a.name.localeCompare(b.name))
      .map((r) => ({ ...r.spec, source: r.source }));
  }

  getRule(name: string): Rule | undefined {
    return this.rules.get(name);
  }

  /** Creates (or, with `replace`, replaces) an API rule. Config rules are read-only. */
  async putRule(spec: unknown, replace: string | undefined): Promise<Rule> {
    const rule = parseRule(spec, 'api');
    const existing = this.rules.get(replace ?? rule.name);
    if (replace !== undefined) {
      if (!existing) throw new VigilError('not_found', `No rule '${replace}'`);
      if (rule.name !== replace)
        throw new VigilError('bad_request', 'Invalid rule: name cannot change', { field: 'name' });
    } else if (existing) {
      throw new VigilError('bad_request', `Invalid rule: name '${rule.name}' is already taken`, { field: 'name' });
    }
    if (existing?.source === 'config') {
      throw new VigilError('forbidden', `Rule '${rule.name}' comes from the config file; change it there`);
    }
    if (existing) this.unindex(existing.name);
    this.addRule(rule, this.now());
    await this.d.store.saveRule(rule.name, rule.spec, this.now());
    if (!this.leading) {
      this.d.tellLeader?.({ op: 'reload' });
      return rule;
    }
    for (const s of this.d.registry.ofMetric(rule.metric))
      if (labelsMatch(s.labels, rule.labels)) this.evaluate(rule, s);
    return rule;
  }

  async deleteRule(name: string): Promise<void> {
    const rule = this.rules.get(name);
    if (!rule) throw new VigilError('not_found', `No rule '${name}'`);
    if (rule.source === 'config') throw new VigilError('forbidden', `Rule '${name}' comes from the config file`);
    this.unindex(name);
    await this.d.store.deleteRule(name);
    if (!this.leading) this.d.tellLeader?.({ op: 'reload' });
  }

  // ---- evaluation ----

  /** Called by the metrics pipeline for every accepted sample. */
  onSample(series: Series): void {
    // Not loaded yet: the sample is in the registry, evaluated once the state is (see `changeLeadership`).
    if (!this.isLeading() || !this.index.hasMetric(series.name)) return;
    this.index.forSeries(series, (rule) => this.evaluate(rule, series));
  }

  private evaluate(rule: Rule, series: Series): void {
    this.evaluations++;
    const key = `${rule.name}\u0000${series.key}`;
    let t = this.tracked.get(key);
    const now = this.now();
    if (rule.kind === 'absence') this.clearMissing(rule, now);
    const obs = observe(rule, series, now);
    if (!t) {
      if (!obs.active) return;
      t = { rule, seriesKey: series.key, labels: series.labels, state: this.freshState(key), alert: undefined };
      this.tracked.set(key, t);
    }
    this.apply(t, step(rule, t.state, obs, now, this.flap), obs, now);
    if (t.state.status === 'inactive') this.untrack(key, t);
  }

  private freshState(key: string): RuleState {
    const state = newState();
    state.fired = this.firings.get(key) ?? [];
    return state;
  }

  private untrack(key: string, t: Tracked): void {
    this.tracked.delete(key);
    if (t.state.fired.length > 0) this.firings.set(key, t.state.fired);
  }

  /** A metric-wide absence alert ends once the metric has a series again. */
  private clearMissing(rule: Rule, now: number): void {
    const key = `${rule.name}\u0000`;
    const t = this.tracked.get(key);
    if (!t) return;
    this.tracked.delete(key);
    t.state.status = 'inactive';
    if (t.alert) this.finish(t.alert, now, 'the metric reports again');
  }

  /** Re-evaluates what time alone can change. */
  tick(): void {
    if (!this.isLeading()) return;
    const now = this.now();
    for (const t of [...this.tracked.values()]) {
      if (t.rule.kind === 'absence') continue;
      const series = this.d.registry.get(t.seriesKey);
      if (series) this.evaluate(t.rule, series);
    }
    for (const [key, times] of this.firings) {
      const recent = times.filter((x) => x > now - this.flap.windowMs);
      if (recent.length === 0) this.firings.delete(key);
      else this.firings.set(key, recent);
    }
    for (const rule of this.rules.values()) {
      if (rule.kind !== 'absence') continue;
      const matching = this.d.registry.ofMetric(rule.metric).filter((s) => labelsMatch(s.labels, rule.labels));
      for (const s of matching) this.evaluate(rule, s);
      if (matching.length === 0) this.evaluateMissing(rule, now);
    }
    for (const a of this.live.values()) {
      const silenced = this.silences.silences(a);
      if (silenced !== a.silenced) {
        a.silenced = silenced;
        a.updated_at = now;
        this.publish(a, 'silence', a.status, {
          at: now,
          status: silenced ? 'silenced' : 'unsilenced',
          severity: a.severity,
          value: a.value,
          note: null,
        });
      }
    }
  }

  /** Absence of a metric that has no series at all: counted from when the rule was loaded. */
  private evaluateMissing(rule: Rule, now: number): void {
    const key = `${rule.name}\u0000`;
    const since = this.ruleSince.get(rule.name) ?? now;
    const active = now - since >= rule.forMs;
    let t = this.tracked.get(key);
    if (!t) {
      if (!active) return;
      t = { rule, seriesKey: '', labels: rule.labels, state: this.freshState(key), alert: undefined };
      this.tracked.set(key, t);
    }
    const obs: Observation = { active, keep: active, value: null, severity: rule.severity };
    this.apply(t, step(rule, t.state, obs, now, this.flap), obs, now);
    if (t.state.status === 'inactive') this.untrack(key, t);
  }

  private apply(t: Tracked, what: Step, obs: Observation, now: number): void {
    const rule = t.rule;
    let a = t.alert;
    if (what === 'none' || what === 'update') {
      if (!a) return;
      a.value = obs.value;
      a.clear_since = t.state.clearSince;
      if (a.status === 'firing' && obs.severity !== a.severity) {
        a.severity = obs.severity;
        a.annotations = this.annotate(rule, t.labels, obs);
        a.updated_at = now;
        this.publish(a, 'transition', 'firing', {
          at: now,
          status: 'firing',
          severity: a.severity,
          value: a.value,
          note: 'severity',
        });
      }
      return;
    }
    if (what === 'resolved') {
      t.alert = undefined;
      if (a) this.finish(a, now, null, obs.value);
      return;
    }
    const previous: AlertStatus | undefined = a?.status;
    if (!a) {
      a = {
        id: `a_${now.toString(36)}${randomBytes(4).toString('hex')}`,
        rule: rule.name,
        status: what,
        severity: obs.severity,
        value: obs.value,
        threshold: rule.kind === 'anomaly' ? rule.z : rule.threshold,
        labels: { ...t.labels },
        annotations: {},
        starts_at: now,
        source: 'rule',
        fingerprint: fingerprint(rule.name, t.seriesKey),
        silenced: false,
        updated_at: now,
        series_key: t.seriesKey,
        clear_since: null,
        flapping: false,
      };
      t.alert = a;
      this.live.set(a.id, a);
    }
    a.status = what;
    a.severity = obs.severity;
    a.value = obs.value;
    a.flapping = t.state.flapping;
    a.annotations = this.annotate(rule, t.labels, obs);
    a.silenced = this.silences.silences(a);
    a.updated_at = now;
    this.publish(a, 'transition', previous, {
      at: now,
      status: what,
      severity: a.severity,
      value: a.value,
      note: null,
    });
  }

  private annotate(rule: Rule, labels: Readonly<Record<string, string>>, obs: Observation): Record<string, string> {
    return renderAnnotations(rule.annotations, {
      value: obs.value,
      threshold: rule.kind === 'anomaly' ? rule.z : rule.threshold,
      labels,
      rule: rule.name,
      severity: obs.severity,
    });
  }

  private finish(a: StoredAlert, now: number, note: string | null, value: number | null = a.value): void {
    const previous = a.status;
    a.status = 'resolved';
    a.ends_at = now;
    a.value = value;
    a.clear_since = null;
    a.updated_at = now;
    this.live.delete(a.id);
    if (a.source === 'external') this.external.delete(a.fingerprint);
    this.publish(a, 'transition', previous, {
      at: now,
      status: 'resolved',
      severity: a.severity,
      value: a.value,
      note,
    });
  }

  private publish(
    a: StoredAlert,
    change: AlertChange,
    previous: AlertStatus | undefined,
    transition: Transition,
  ): void {
    void this.d.emit('alerts', 'alert', alertData(a)).catch(() => {});
    for (const l of this.listeners) {
      try {
        l(a, change, previous);
      } catch (err) {
        this.d.log?.('error', 'alert listener failed', { err: String(err) });
      }
    }
    this.later({ alert: { ...a, labels: { ...a.labels }, annotations: { ...a.annotations } }, transition });
  }

  // ---- acknowledgement, silences, external alerts ----

  async ack(id: string, by: string, comment?: string): Promise<Alert> {
    const a = this.live.get(id);
    if (!a) {
      await this.flush();
      const stored = await this.d.store.getAlert(id);
      if (!stored) throw new VigilError('not_found', `No alert '${id}'`);
      if (this.leading || stored.status === 'resolved') {
        throw new VigilError('bad_request', `Alert '${id}' is already resolved`);
      }
      // A follower: the leader holds the alert and applies the acknowledgement (and publishes it).
      this.d.tellLeader?.({ op: 'ack', id, by, comment });
      const acked: StoredAlert = { ...stored, acknowledged_by: by, acknowledged_at: this.now() };
      if (comment !== undefined) acked.ack_comment = comment;
      return alertData(acked);
    }
    const now = this.now();
    a.acknowledged_by = by;
    a.acknowledged_at = now;
    if (comment !== undefined) a.ack_comment = comment;
    a.updated_at = now;
    this.publish(a, 'ack', a.status, {
      at: now,
      status: 'acknowledged',
      severity: a.severity,
      value: a.value,
      note: comment ?? null,
    });
    return alertData(a);
  }

  /** Acknowledges every active alert of a rule. */
  async ackRule(rule: string, by: string, comment?: string): Promise<Alert[]> {
    const ids = this.leading
      ? [...this.live.values()].filter((a) => a.rule === rule).map((a) => a.id)
      : (await this.d.store.activeAlerts()).filter((a) => a.rule === rule).map((a) => a.id);
    if (ids.length === 0) throw new VigilError('not_found', `No active alert for rule '${rule}'`);
    const acked: Alert[] = [];
    for (const id of ids) acked.push(await this.ack(id, by, comment));
    return acked;
  }

  async createSilence(input: unknown) {
    const s = this.silences.create(input);
    await this.d.store.saveSilence(this.silences.toRow(s));
    if (!this.leading) this.d.tellLeader?.({ op: 'reload' });
    this.tick();
    return s;
  }

  async expireSilence(id: string) {
    const s = this.silences.expire(id);
    if (!s) throw new VigilError('not_found', `No silence '${id}'`);
    await this.d.store.saveSilence(this.silences.toRow(s));
    if (!this.leading) this.d.tellLeader?.({ op: 'reload' });
    this.tick();
    return s;
  }

  /** On the leader: an action a follower took (see `tellLeader`). */
  async applyFromFollower(action: LeaderAction): Promise<unknown> {
    await this.settled;
    if (action.op === 'external') {
      if (!this.leading) throw new VigilError('unavailable', 'This node no longer leads the cluster');
      return this.raiseExternal(action.input);
    }
    if (!this.leading) return;
    if (action.op === 'ack') {
      if (this.live.has(action.id)) await this.ack(action.id, action.by, action.comment);
      return;
    }
    await this.reloadDefinitions();
  }

  /** Re-reads API rules and silences from the store (a follower changed them). */
  private async reloadDefinitions(): Promise<void> {
    const [rows, silences] = await Promise.all([this.d.store.rules(), this.d.store.silences()]);
    const now = this.now();
    const stored = new Map(rows.map((r) => [r.name, r.spec]));
    for (const rule of [...this.rules.values()]) {
      if (rule.source === 'api' && !stored.has(rule.name)) this.unindex(rule.name);
    }
    for (const [name, spec] of stored) {
      const current = this.rules.get(name);
      if (current?.source === 'config') continue;
      if (current && JSON.stringify(current.spec) === spec) continue;
      let rule: Rule;
      try {
        rule = parseRule(JSON.parse(spec), 'api');
      } catch (err) {
        this.d.log?.('warn', 'stored rule no longer valid; skipped', { rule: name, err: String(err) });
        continue;
      }
      if (current) this.unindex(name);
      this.addRule(rule, now);
      for (const s of this.d.registry.ofMetric(rule.metric))
        if (labelsMatch(s.labels, rule.labels)) this.evaluate(rule, s);
    }
    for (const row of silences) this.silences.restore(row);
    this.tick();
  }

  /**
   * Raises (or resolves) an external alert where it counts: here on the leader (or a single node), on the leader's
   * engine from a follower of a cluster, so that however many nodes raise one alert, it is one alert with one
   * notification.
   */
  async raise(input: ExternalAlertInput): Promise<Alert> {
    // A leader still loading its state hands the alert to the relay like a follower: it is applied once loaded.
    if (this.d.askLeader === undefined && this.leading && !this.loaded) await this.settled;
    if (this.isLeading() || this.d.askLeader === undefined) return this.raiseExternal(input);
    return (await this.d.askLeader({ op: 'external', input })) as Alert;
  }

  raiseExternal(input: ExternalAlertInput): Alert {
    const now = this.now();
    const labels = { ...(input.labels ?? {}) };
    const fp = fingerprint('external', input.name, sortedLabels(labels));
    let a = this.external.get(fp);
    if (input.status === 'resolved') {
      if (a) this.finish(a, input.ends_at ?? now, null);
      return a
        ? alertData(a)
        : {
            id: `x_${fp}`,
            rule: input.name,
            status: 'resolved',
            severity: input.severity ?? 'warning',
            value: input.value ?? null,
            threshold: null,
            labels,
            annotations: input.annotations ?? {},
            starts_at: input.starts_at ?? now,
            ends_at: input.ends_at ?? now,
            source: 'external',
            fingerprint: fp,
            silenced: false,
            updated_at: now,
          };
    }
    const previous = a?.status;
    if (!a) {
      a = {
        id: `x_${now.toString(36)}${randomBytes(4).toString('hex')}`,
        rule: input.name,
        status: 'firing',
        severity: input.severity ?? 'warning',
        value: input.value ?? null,
        threshold: null,
        labels,
        annotations: { ...(input.annotations ?? {}) },
        starts_at: input.starts_at ?? now,
        source: 'external',
        fingerprint: fp,
        silenced: false,
        updated_at: now,
        series_key: null,
        clear_since: null,
        flapping: false,
      };
      this.external.set(fp, a);
      this.live.set(a.id, a);
    } else {
      const same =
        a.severity === (input.severity ?? a.severity) &&
        JSON.stringify(a.annotations) === JSON.stringify(input.annotations ?? a.annotations);
      if (same) return alertData(a);
      a.severity = input.severity ?? a.severity;
      a.annotations = { ...(input.annotations ?? a.annotations) };
      a.value = input.value ?? a.value;
    }
    a.silenced = this.silences.silences(a);
    a.updated_at = now;
    this.publish(a, 'transition', previous, {
      at: now,
      status: 'firing',
      severity: a.severity,
      value: a.value,
      note: 'external',
    });
    return alertData(a);
  }

  // ---- reads ----

  async get(id: string): Promise<Alert | undefined> {
    const live = this.live.get(id);
    if (live) return alertData(live);
    await this.flush();
    const a = await this.d.store.getAlert(id);
    return a && alertData(a);
  }

  activeAlerts(): Alert[] {
    return [...this.live.values()].sort((a, b) => b.updated_at - a.updated_at).map(alertData);
  }

  /** The AlertBus view of active alerts. */
  active(): Alert[] {
    return this.activeAlerts();
  }

  async history(q: AlertQuery): Promise<Alert[]> {
    await this.flush();
    return (await this.d.store.queryAlerts(q)).map(alertData);
  }

  async transitions(id: string): Promise<Transition[]> {
    await this.flush();
    return this.d.store.transitions(id);
  }
}
