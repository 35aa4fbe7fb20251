/**
 * @module incident-service
 * Incidents from alerts. A firing alert joins the open (or acknowledged) incident of its group, named by the
 * `incidents.group_by` labels, or opens a new one; when all its alerts have resolved an incident resolves itself
 * (`auto_resolve`). People acknowledge, assign, comment and resolve. An open incident left unacknowledged for
 * `escalation.after` escalates: its priority rises one step and the next escalation target is notified.
 *
 * Every change is written to the state store before it is published on `incidents`, so a restart resumes where the
 * hub stopped, escalation clocks included. Alert changes, people's actions and escalation checks run one at a time,
 * in the order they came, so that the store's answers and the working set never disagree.
 */
import { randomBytes } from 'node:crypto';
import { VigilError } from '@vigil/protocol';
import type { Logger } from 'pino';
import type { Alert } from '../alerts/types.js';
import { groupLabelsOf, labelSetString } from '../notify/labels.js';
import type { Scheduler, TimerHandle } from '../notify/scheduler.js';
import type { StateStore } from '../storage/state-store.js';
import type { IncidentsConfig } from './config.js';
import { type EscalationSender, escalationTarget } from './escalation.js';
import { higherPriority, higherSeverity, priorityOf, raisePriority } from './priority.js';
import type { IncidentRecord } from './store.js';
import type { Incident, IncidentEventKind, IncidentStatus, TimelineEntry } from './types.js';

/** Timelines keep their first entry and the newest ones up to this length. */
const MAX_TIMELINE = 1000;

export interface IncidentServiceDeps {
  readonly config: IncidentsConfig;
  readonly store: StateStore;
  readonly scheduler: Scheduler;
  readonly escalations: EscalationSender;
  publish(kind: IncidentEventKind, incident: Incident): void;
  readonly log?: Pick<Logger, 'warn'>;
  /** On a follower of a cluster: tells the leader that an incident changed here, so that it re-reads it. */
  readonly tellLeader?: (incidentId: string) => void;
}

function describeAlert(alert: Readonly<Alert>): string {
  const labels = Object.keys(alert.labels).length ? ` ${labelSetString(alert.labels)}` : '';
  return `${alert.rule}${labels} (${alert.severity})`;
}

function titleOf(alert: Readonly<Alert>, labels: Record<string, string>): string {
  const rest = Object.entries(labels)
    .filter(([k]) => k !== 'alertname')
    .map(([k, v]) => `${k}=${v}`);
  const name = labels.alertname ?? alert.rule;
  return rest.length ? `${name} (${rest.join(', ')})` : name;
}

export class IncidentService {
  private readonly active = new Map<string, IncidentRecord>();
  private readonly byGroup = new Map<string, string>();
  private readonly byAlert = new Map<string, string>();
  private timer: TimerHandle | undefined;
  private stopped = false;
  /** The tail of the queue of changes; each runs after the one before. */
  private turn: Promise<unknown> = Promise.resolve();

  constructor(private readonly deps: IncidentServiceDeps) {}

  /** Runs `fn` after every change queued before it. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.turn.then(fn);
    this.turn = run.catch(() => {});
    return run;
  }

  /** Resolves once every change queued so far has been stored and published. */
  idle(): Promise<void> {
    return this.serial(async () => {});
  }

  /** Whether this node holds the working set (the leader, or a single node). */
  private leading = true;

  /**
   * Leads (keeps the open incidents in memory, runs escalation) or follows: a follower keeps no working set, reads
   * every incident from the store, and tells the leader of each change people make through it.
   */
  async lead(leader: boolean): Promise<void> {
    this.leading = leader;
    if (leader) {
      await this.load();
      this.start();
      return;
    }
    this.pause();
    await this.serial(async () => {
      this.active.clear();
      this.byGroup.clear();
      this.byAlert.clear();
    });
  }

  /** On the leader: re-reads an incident a follower changed. */
  refresh(id: string): Promise<void> {
    return this.serial(async () => {
      if (!this.leading) return;
      const record = await this.deps.store.getIncident(id);
      const old = this.active.get(id);
      if (old) {
        this.active.delete(id);
        if (this.byGroup.get(old.incident.group_key) === id) this.byGroup.delete(old.incident.group_key);
        for (const alertId of old.members.keys()) this.byAlert.delete(alertId);
      }
      if (record && record.incident.status !== 'resolved') this.index(record);
    });
  }

  /** Loads the open and acknowledged incidents from the store. */
  load(): Promise<void> {
    return this.serial(async () => {
      this.active.clear();
      this.byGroup.clear();
      this.byAlert.clear();
      for (const record of await this.deps.store.activeIncidents()) this.index(record);
    });
  }

  /** The AlertBus listener. It never throws into the alert engine: a failure is logged. */
  handleAlert(alert: Readonly<Alert>): void {
    if (this.stopped) return;
    const copy = structuredClone(alert) as Alert;
    const now = this.deps.scheduler.now();
    void this.serial(async () => {
      if (this.stopped) return;
      if (copy.status === 'firing') await this.onFiring(copy, now);
      else if (copy.status === 'resolved') await this.onResolved(copy, now);
    }).catch((err: unknown) => {
      this.deps.log?.warn({ err, alert: alert.id }, 'could not update incidents for an alert');
    });
  }

  /**
   * Catches up after a start: firing alerts join incidents, and members that resolved while the hub was down are
   * marked resolved (`lookup` answers for alerts that are no longer active).
   */
  async reconcile(active: readonly Alert[], lookup: (id: string) => Promise<Alert | undefined>): Promise<void> {
    for (const alert of active) this.handleAlert(alert);
    await this.serial(async () => {
      for (const record of [...this.active.values()]) {
        for (const [id, status] of record.members) {
          const alert = status === 'firing' ? await lookup(id) : undefined;
          if (alert?.status === 'resolved') await this.onResolved(alert, this.deps.scheduler.now());
        }
      }
    });
  }

  /** The incident as of every change queued before the call. */
  get(id: string): Promise<Incident | undefined> {
    return this.serial(async () => {
      const inc = this.active.get(id)?.incident ?? (await this.deps.store.getIncident(id))?.incident;
      return inc && structuredClone(inc);
    });
  }

  /** Like `get`, but a missing incident is a `not_found` error. */
  getOrThrow(id: string): Promise<Incident> {
    return this.serial(async () => structuredClone((await this.must(id)).incident));
  }

  list(opts: { status?: IncidentStatus | undefined; limit?: number | undefined } = {}): Promise<Incident[]> {
    return this.serial(() => this.deps.store.listIncidents({ status: opts.status, limit: opts.limit ?? 100 }));
  }

  acknowledge(id: string, by: string, comment?: string): Promise<Incident> {
    return this.serial(() => this.doAcknowledge(id, by, comment));
  }

  assign(id: string, assignee: string | null, by?: string): Promise<Incident> {
    return this.serial(() => this.doAssign(id, assignee, by));
  }

  comment(id: string, by: string, text: string): Promise<Incident> {
    return this.serial(() => this.doComment(id, by, text));
  }

  resolve(id: string, by?: string, comment?: string): Promise<Incident> {
    return this.serial(() => this.doResolve(id, by, comment));
  }

  private async doAcknowledge(id: string, by: string, comment?: string): Promise<Incident> {
    const record = await this.must(id);
    const inc = record.incident;
    if (inc.status === 'resolved') throw this.conflict(inc, 'acknowledge');
    const now = this.deps.scheduler.now();
    if (inc.status === 'acknowledged') return comment ? this.doComment(id, by, comment) : structuredClone(inc);
    inc.status = 'acknowledged';
    inc.acknowledged_at = now;
    inc.acknowledged_by = by;
    this.addTimeline(inc, { at: now, type: 'acknowledged', by, detail: `Acknowledged by ${by}` });
    if (comment) this.addComment(inc, by, comment, now);
    return this.commit(record, 'incident_updated', now);
  }

  private async doAssign(id: string, assignee: string | null, by?: string): Promise<Incident> {
    const record = await this.must(id);
    const inc = record.incident;
    const now = this.deps.scheduler.now();
    const previous = inc.assignee;
    inc.assignee = assignee;
    const detail =
      assignee === null
        ? `Unassigned (was ${previous ?? 'nobody'})`
        : `Assigned to ${assignee}` + (previous ? ` (was ${previous})` : '');
    this.addTimeline(inc, { at: now, type: 'assigned', ...(by ? { by } : {}), detail });
    return this.commit(record, 'incident_assigned', now);
  }

  private async doComment(id: string, by: string, text: string): Promise<Incident> {
    const record = await this.must(id);
    const now = this.deps.scheduler.now();
    this.addComment(record.incident, by, text, now);
    return this.commit(record, 'incident_commented', now);
  }

  private async doResolve(id: string, by?: string, comment?: string): Promise<Incident> {
    const record = await this.must(id);
    const inc = record.incident;
    if (inc.status === 'resolved') return structuredClone(inc);
    const now = this.deps.scheduler.now();
    if (comment) this.addComment(inc, by ?? 'anonymous', comment, now);
    this.close(record, now, by, by ? `Resolved by ${by}` : 'Resolved');
    return this.commit(record, 'incident_resolved', now);
  }

  /** Escalates every open incident whose time is up; returns those escalated. Runs every `check_interval`. */
  checkEscalations(): Promise<Incident[]> {
    const now = this.deps.scheduler.now();
    return this.serial(() => this.escalate(now));
  }

  private async escalate(now: number): Promise<Incident[]> {
    const { afterMs, repeat, targets } = this.deps.config.escalation;
    if (afterMs <= 0 || this.stopped) return [];
    const escalated: Incident[] = [];
    for (const record of this.active.values()) {
      const inc = record.incident;
      if (inc.status !== 'open' || (inc.escalation_level > 0 && !repeat)) continue;
      if (now - (inc.last_escalated_at ?? inc.created_at) < afterMs) continue;
      const from = inc.priority;
      inc.priority = raisePriority(from);
      inc.escalation_level++;
      inc.last_escalated_at = now;
      const target = escalationTarget(targets, inc.escalation_level);
      const change = from === inc.priority ? `priority stays ${from}` : `priority ${from} → ${inc.priority}`;
      this.addTimeline(inc, {
        at: now,
        type: 'escalated',
        detail: `Not acknowledged: escalation level ${inc.escalation_level}, ${change}${target ? `, notified ${target}` : ''}`,
      });
      escalated.push(await this.commit(record, 'incident_escalated', now));
      if (target) this.deps.escalations.send(structuredClone(inc), target);
    }
    return escalated;
  }

  start(): void {
    this.stopped = false;
    if (this.deps.config.escalation.afterMs > 0 && this.timer === undefined) this.tick();
  }

  /** Stops the escalation checks (a follower of a cluster); alert changes are still handled. `start` resumes. */
  pause(): void {
    if (this.timer !== undefined) this.deps.scheduler.clearTimeout(this.timer);
    this.timer = undefined;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) this.deps.scheduler.clearTimeout(this.timer);
    this.timer = undefined;
    this.deps.escalations.stop();
    await this.turn;
  }

  private tick(): void {
    this.timer = this.deps.scheduler.setTimeout(() => {
      this.timer = undefined;
      if (this.stopped) return;
      this.checkEscalations().catch((err: unknown) => this.deps.log?.warn({ err }, 'escalation check failed'));
      this.tick();
    }, this.deps.config.checkIntervalMs);
  }

  private async onFiring(alert: Readonly<Alert>, now: number): Promise<void> {
    const knownId = this.byAlert.get(alert.id);
    if (knownId) {
      const record = this.active.get(knownId)!;
      const severityChanged = this.raiseSeverity(record.incident, alert, now);
      if (record.members.get(alert.id) === 'firing' && !severityChanged) return;
      record.members.set(alert.id, 'firing');
      record.incident.firing = this.firingCount(record);
      await this.commit(record, 'incident_updated', now, [alert.id]);
      return;
    }
    // Silenced alerts neither open nor join incidents; they do once the silence ends, if still firing.
    if (alert.silenced || (await this.deps.store.incidentOfAlert(alert.id))) return;
    const labels = groupLabelsOf(alert, this.deps.config.groupBy);
    const groupKey = labelSetString(labels);
    const openId = this.byGroup.get(groupKey);
    if (openId) {
      const record = this.active.get(openId)!;
      const inc = record.incident;
      record.members.set(alert.id, 'firing');
      this.byAlert.set(alert.id, inc.id);
      inc.alerts.push(alert.id);
      inc.firing = this.firingCount(record);
      this.addTimeline(inc, { at: now, type: 'alert_added', detail: `Alert ${describeAlert(alert)} joined` });
      this.raiseSeverity(inc, alert, now);
      await this.commit(record, 'incident_updated', now, [alert.id]);
      return;
    }
    const incident: Incident = {
      id: `inc_${now.toString(36)}${randomBytes(3).toString('hex')}`,
      title: titleOf(alert, labels),
      status: 'open',
      priority: priorityOf(alert.severity),
      severity: alert.severity,
      group_key: groupKey,
      labels,
      alerts: [alert.id],
      firing: 1,
      assignee: null,
      comments: [],
      timeline: [{ at: now, type: 'created', detail: `Opened by alert ${describeAlert(alert)}` }],
      created_at: now,
      updated_at: now,
      escalation_level: 0,
    };
    const record: IncidentRecord = { incident, members: new Map([[alert.id, 'firing']]) };
    this.index(record);
    await this.commit(record, 'incident_created', now, [alert.id]);
  }

  private async onResolved(alert: Readonly<Alert>, now: number): Promise<void> {
    const id = this.byAlert.get(alert.id);
    const record = id ? this.active.get(id) : undefined;
    if (!record || record.members.get(alert.id) === 'resolved') return;
    const inc = record.incident;
    record.members.set(alert.id, 'resolved');
    inc.firing = this.firingCount(record);
    this.addTimeline(inc, { at: now, type: 'alert_resolved', detail: `Alert ${describeAlert(alert)} resolved` });
    if (inc.firing === 0 && this.deps.config.autoResolve) {
      this.close(record, now, undefined, 'All alerts resolved');
      await this.commit(record, 'incident_resolved', now, [alert.id]);
    } else {
      await this.commit(record, 'incident_updated', now, [alert.id]);
    }
  }

  /** Severity follows the worst alert; priority only rises while the incident is not resolved. */
  private raiseSeverity(inc: Incident, alert: Readonly<Alert>, now: number): boolean {
    const severity = higherSeverity(inc.severity, alert.severity);
    if (severity === inc.severity) return false;
    const priority = higherPriority(inc.priority, priorityOf(severity));
    this.addTimeline(inc, {
      at: now,
      type: 'severity_raised',
      detail:
        `Severity ${inc.severity} → ${severity}` +
        (priority === inc.priority ? '' : `, priority ${inc.priority} → ${priority}`),
    });
    inc.severity = severity;
    inc.priority = priority;
    return true;
  }

  private close(record: IncidentRecord, now: number, by: string | undefined, detail: string): void {
    const inc = record.incident;
    inc.status = 'resolved';
    inc.resolved_at = now;
    if (by) inc.resolved_by = by;
    this.addTimeline(inc, { at: now, type: 'resolved', ...(by ? { by } : {}), detail });
    this.active.delete(inc.id);
    if (this.byGroup.get(inc.group_key) === inc.id) this.byGroup.delete(inc.group_key);
    for (const alertId of record.members.keys()) this.byAlert.delete(alertId);
  }

  private async commit(
    record: IncidentRecord,
    kind: IncidentEventKind,
    now: number,
    changed: readonly string[] = [],
  ): Promise<Incident> {
    record.incident.updated_at = now;
    await this.deps.store.saveIncident(record, changed);
    if (!this.leading) this.deps.tellLeader?.(record.incident.id);
    const snapshot = structuredClone(record.incident);
    this.deps.publish(kind, snapshot);
    return snapshot;
  }

  private index(record: IncidentRecord): void {
    const inc = record.incident;
    this.active.set(inc.id, record);
    this.byGroup.set(inc.group_key, inc.id);
    for (const alertId of record.members.keys()) this.byAlert.set(alertId, inc.id);
  }

  private firingCount(record: IncidentRecord): number {
    let n = 0;
    for (const s of record.members.values()) if (s === 'firing') n++;
    return n;
  }

  private addComment(inc: Incident, by: string, text: string, at: number): void {
    const id = `c${inc.comments.length + 1}`;
    inc.comments.push({ id, by, text, at });
    this.addTimeline(inc, { at, type: 'commented', by, detail: text.length > 200 ? `${text.slice(0, 197)}...` : text });
  }

  private addTimeline(inc: Incident, entry: TimelineEntry): void {
    inc.timeline.push(entry);
    if (inc.timeline.length > MAX_TIMELINE) inc.timeline.splice(1, inc.timeline.length - MAX_TIMELINE);
  }

  private async must(id: string): Promise<IncidentRecord> {
    const record = this.active.get(id) ?? (await this.deps.store.getIncident(id));
    if (!record) throw new VigilError('not_found', `No incident '${id}'`, { id });
    return record;
  }

  private conflict(inc: Incident, action: string): VigilError {
    return new VigilError('bad_request', `Cannot ${action} incident '${inc.id}': it is ${inc.status}`, {
      id: inc.id,
      status: inc.status,
    });
  }
}
