/**
 * @module render
 * One line per event for `vigil tail`: time, channel, kind and a compact rendering of the data, coloured by
 * severity. Data is read defensively: an application channel may use any kind with any data, and whatever does not
 * fit the kind's shape falls back to compact JSON.
 */
import { type Paint, severityTone, type Tone } from './color.js';
import { clockTime, formatLabels, formatNumber, formatSeconds } from './format.js';

export interface RenderableEvent {
  channel: string;
  ts: number;
  kind: string;
  data: unknown;
}

export interface Rendered {
  text: string;
  tone: Tone | undefined;
}

type Fields = Record<string, unknown>;

function fields(data: unknown): Fields | undefined {
  return data !== null && typeof data === 'object' && !Array.isArray(data) ? (data as Fields) : undefined;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

const MAX_JSON = 400;

/** Compact JSON, cut at 400 characters. */
export function compactJson(data: unknown): string {
  const text = JSON.stringify(data) ?? String(data);
  return text.length > MAX_JSON ? `${text.slice(0, MAX_JSON - 1)}…` : text;
}

function metricUpdate(d: Fields): Rendered | undefined {
  const name = str(d.metric) ?? str(d.name);
  if (!name) return undefined;
  return { text: `${name}${formatLabels(d.labels)} = ${formatNumber(d.value)}`, tone: undefined };
}

function alert(d: Fields): Rendered | undefined {
  const rule = str(d.rule);
  const status = str(d.status);
  if (!rule || !status) return undefined;
  const severity = str(d.severity) ?? '-';
  let text = `${status} ${severity} ${rule}${formatLabels(d.labels)}`;
  if (d.value !== undefined && d.value !== null) text += ` value=${formatNumber(d.value)}`;
  if (d.threshold !== undefined && d.threshold !== null) text += ` threshold=${formatNumber(d.threshold)}`;
  const by = str(d.acknowledged_by);
  if (by) text += ` acked by ${by}`;
  if (d.silenced === true) text += ' (silenced)';
  return { text, tone: status === 'resolved' ? 'resolved' : severityTone(d.severity) };
}

const TASK_TONES: Record<string, Tone> = { failed: 'error', stalled: 'warning', succeeded: 'resolved' };

function taskUpdate(d: Fields): Rendered | undefined {
  const name = str(d.name);
  if (!name) return undefined;
  const pct = typeof d.progress === 'number' ? `${Math.round(d.progress * 100)}%` : '?%';
  const eta = typeof d.eta_s === 'number' ? formatSeconds(d.eta_s) : '-';
  let text = `${name} ${pct} eta ${eta}`;
  const status = str(d.status);
  if (status && status !== 'running') text += ` ${status}`;
  if (typeof d.errors === 'number' && d.errors > 0) text += ` errors=${d.errors}`;
  return { text, tone: status && Object.hasOwn(TASK_TONES, status) ? TASK_TONES[status] : undefined };
}

function incident(d: Fields): Rendered | undefined {
  const id = str(d.id);
  if (!id) return undefined;
  let text = `${id} ${JSON.stringify(str(d.title) ?? '')} ${str(d.status) ?? '-'} ${str(d.priority) ?? '-'}`;
  const assignee = str(d.assignee);
  if (assignee) text += ` @${assignee}`;
  return { text, tone: d.status === 'resolved' ? 'resolved' : severityTone(d.severity) };
}

const num = (v: unknown): number | undefined => (typeof v === 'number' ? v : undefined);

function systemStatus(d: Fields): Rendered | undefined {
  const status = str(d.status);
  if (!status) return undefined;
  const cpu = fields(d.cpu);
  const mem = fields(d.memory);
  const parts = [status];
  if (num(cpu?.usage_percent) !== undefined)
    parts.push(`cpu ${formatNumber(Number(num(cpu?.usage_percent)?.toFixed(1)))}%`);
  if (num(cpu?.load_1m) !== undefined) parts.push(`load ${formatNumber(cpu?.load_1m)}`);
  if (num(mem?.used_percent) !== undefined)
    parts.push(`mem ${formatNumber(Number(num(mem?.used_percent)?.toFixed(1)))}%`);
  if (num(d.connections) !== undefined) parts.push(`connections ${d.connections}`);
  if (num(d.messages_per_s) !== undefined) parts.push(`msg/s ${formatNumber(d.messages_per_s)}`);
  return { text: parts.join(' '), tone: status === 'ok' ? undefined : 'warning' };
}

function other(data: unknown): Rendered {
  const d = fields(data);
  const tone = d ? (d.status === 'resolved' ? 'resolved' : severityTone(d.severity ?? d.level)) : undefined;
  return { text: compactJson(data), tone };
}

/** The data part of a line and its tone, by kind. */
export function renderData(kind: string, data: unknown): Rendered {
  const d = fields(data);
  let out: Rendered | undefined;
  if (d) {
    if (kind === 'metric_update') out = metricUpdate(d);
    else if (kind === 'alert') out = alert(d);
    else if (kind === 'task_update') out = taskUpdate(d);
    else if (kind.startsWith('incident_')) out = incident(d);
    else if (kind === 'system_status') out = systemStatus(d);
  }
  return out ?? other(data);
}

/** `14:03:07.125 metrics.system.cpu.usage metric_update system.cpu.usage{cpu="total"} = 12.5`, painted by tone. */
export function renderEventLine(
  event: RenderableEvent,
  paint: Paint,
  time: (ts: number) => string = clockTime,
): string {
  const { text, tone } = renderData(event.kind, event.data);
  return paint(tone, `${time(event.ts)} ${event.channel} ${event.kind} ${text}`);
}

/** `--json`: the raw event frame, one object per line. */
export function eventFrameJson(event: RenderableEvent & { offset: number }): string {
  return JSON.stringify({
    type: 'event',
    channel: event.channel,
    offset: event.offset,
    ts: event.ts,
    kind: event.kind,
    data: event.data,
  });
}

export interface RenderableSnapshot {
  channel: string;
  offset: number;
  data: unknown;
}

/** A stateful channel's current state, sent once on subscribe: `<now> system.status snapshot {...}`. */
export function renderSnapshotLine(
  snapshot: RenderableSnapshot,
  paint: Paint,
  time: (ts: number) => string = clockTime,
  now = Date.now(),
): string {
  const { text, tone } = renderData(snapshot.channel === 'system.status' ? 'system_status' : '', snapshot.data);
  return paint(tone, `${time(now)} ${snapshot.channel} snapshot ${text}`);
}

/** `--json`: the raw snapshot frame. */
export function snapshotFrameJson(snapshot: RenderableSnapshot): string {
  return JSON.stringify({ type: 'snapshot', channel: snapshot.channel, offset: snapshot.offset, data: snapshot.data });
}
