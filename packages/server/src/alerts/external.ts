/**
 * @module external
 * External alerts posted to `POST /api/v1/alerts`: an Alertmanager webhook payload (version 4) as Alertmanager sends
 * it, or a simple JSON form — one `{name, status?, severity?, labels?, annotations?, value?}` or an array of them.
 */
import { SEVERITIES, type Severity, VigilError } from '@vigil/protocol';
import type { ExternalAlertInput } from './types.js';

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function stringMap(v: unknown, field: string): Record<string, string> {
  if (v === undefined || v === null) return {};
  if (!isObject(v)) throw new VigilError('bad_request', `${field} must be an object of strings`, { field });
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(v)) {
    if (typeof val !== 'string')
      throw new VigilError('bad_request', `${field}.${k} must be a string`, { field: `${field}.${k}` });
    out[k] = val;
  }
  return out;
}

function time(v: unknown, field: string): number | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v === 'number') return v;
  if (typeof v !== 'string') throw new VigilError('bad_request', `${field} must be RFC 3339 or ms`, { field });
  if (v.startsWith('0001-01-01')) return undefined;
  const t = Date.parse(v);
  if (Number.isNaN(t)) throw new VigilError('bad_request', `${field} is not a valid time`, { field });
  return t;
}

function severityOf(v: unknown, field: string): Severity | undefined {
  if (v === undefined) return undefined;
  if (typeof v === 'string' && (SEVERITIES as readonly string[]).includes(v)) return v as Severity;
  if (typeof v === 'string') {
    const lower = v.toLowerCase();
    if (lower === 'page' || lower === 'high') return 'critical';
    if (lower === 'warn') return 'warning';
    if (lower === 'low' || lower === 'none') return 'info';
  }
  throw new VigilError('bad_request', `${field} must be one of ${SEVERITIES.join(', ')}`, { field });
}

/** Is this an Alertmanager webhook payload? */
export function isAlertmanagerPayload(body: unknown): boolean {
  return isObject(body) && typeof body.version === 'string' && Array.isArray(body.alerts) && 'groupKey' in body;
}

export function parseAlertmanager(body: Record<string, unknown>): ExternalAlertInput[] {
  if (body.version !== '4') {
    throw new VigilError(
      'bad_request',
      `Alertmanager payload version ${String(body.version)} is not supported (4 is)`,
      {
        field: 'version',
      },
    );
  }
  return (body.alerts as unknown[]).map((raw, i) => {
    const f = `alerts.${i}`;
    if (!isObject(raw)) throw new VigilError('bad_request', `${f} must be an object`, { field: f });
    const labels = stringMap(raw.labels, `${f}.labels`);
    const { alertname, severity, ...rest } = labels;
    if (!alertname)
      throw new VigilError('bad_request', `${f}.labels.alertname is required`, { field: `${f}.labels.alertname` });
    const status = raw.status === 'resolved' ? 'resolved' : 'firing';
    const input: ExternalAlertInput = {
      name: alertname,
      status,
      labels: rest,
      annotations: stringMap(raw.annotations, `${f}.annotations`),
    };
    const sev = severity === undefined ? undefined : severityOf(severity, `${f}.labels.severity`);
    if (sev) input.severity = sev;
    const startsAt = time(raw.startsAt, `${f}.startsAt`);
    if (startsAt !== undefined) input.starts_at = startsAt;
    const endsAt = time(raw.endsAt, `${f}.endsAt`);
    if (endsAt !== undefined && status === 'resolved') input.ends_at = endsAt;
    return input;
  });
}

export function parseSimple(body: unknown): ExternalAlertInput[] {
  const items = Array.isArray(body) ? body : [body];
  return items.map((raw, i) => {
    const f = Array.isArray(body) ? `${i}.` : '';
    if (!isObject(raw))
      throw new VigilError('bad_request', `${f || 'body '}must be an alert object`, { field: f || 'body' });
    if (typeof raw.name !== 'string' || raw.name.length === 0 || raw.name.length > 200) {
      throw new VigilError('bad_request', `${f}name is required (a string of 1 to 200 characters)`, {
        field: `${f}name`,
      });
    }
    if (raw.status !== undefined && raw.status !== 'firing' && raw.status !== 'resolved') {
      throw new VigilError('bad_request', `${f}status must be firing or resolved`, { field: `${f}status` });
    }
    if (raw.value !== undefined && raw.value !== null && typeof raw.value !== 'number') {
      throw new VigilError('bad_request', `${f}value must be a number`, { field: `${f}value` });
    }
    const input: ExternalAlertInput = {
      name: raw.name,
      status: raw.status === 'resolved' ? 'resolved' : 'firing',
      labels: stringMap(raw.labels, `${f}labels`),
      annotations: stringMap(raw.annotations, `${f}annotations`),
      value: (raw.value as number | null | undefined) ?? null,
    };
    const sev = severityOf(raw.severity, `${f}severity`);
    if (sev) input.severity = sev;
    return input;
  });
}

export function parseExternal(body: unknown): { format: 'alertmanager' | 'simple'; alerts: ExternalAlertInput[] } {
  if (isAlertmanagerPayload(body))
    return { format: 'alertmanager', alerts: parseAlertmanager(body as Record<string, unknown>) };
  return { format: 'simple', alerts: parseSimple(body) };
}
