/**
 * @module route-permissions.test
 * Built from the live route list (`app.routeList`), so a route added later is checked without editing this file:
 * - every API route and every route that changes something declares its access (auth/route-access.ts);
 * - the hub is seeded with data outside `orders.>` that carries the marker `sntl` (an event on `payments.eu`, a metric
 *   and its alert rule, the alert, its incident, a failed webhook notification, a task, a silence, a scrape target);
 * - every route is called, with every path parameter filled by every seeded id, by credentials limited to `orders.>`
 *   (with the read, publish and admin scopes): none may see a marker, and every route whose declared channels the
 *   grant does not cover answers 403;
 * - with an unrestricted admin, routes that declare no channel data return no marker (the declaration is true), and
 *   routes that declare channel data do return some for one of the ids (the probe reaches the data).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { isValidPattern } from '@vigil/protocol';
import type { RunningHub } from '../testing/hub-fixture.js';
import { startHub, until } from '../testing/hub-fixture.js';
import { accessOf, isApiPath, type NamedChannels, type RouteAccess, type RouteEntry } from './route-access.js';

const MARK = /sntl/i;
const ADMIN = 'admin-key-0123456789abcdef';
const LIMITED: Record<'read' | 'publish' | 'admin', string> = {
  read: 'limited-read-key-0123456789',
  publish: 'limited-pub-key-0123456789',
  admin: 'limited-admin-key-0123456789',
};

/** Query strings of routes that answer nothing without one. */
const QUERY: Readonly<Record<string, string>> = {
  '/api/ws/metrics/history': '?metric=sntl.metric&hours=24',
  '/api/ws/metrics/statistics': '?metric=sntl.metric&window=1h',
};

/** Routes whose channel data can hold no seeded marker: the host figures of `system.status`. */
const NO_MARKER: ReadonlySet<string> = new Set(['/api/metrics/current']);

interface Probe {
  status: number;
  body: string;
}

async function probe(h: RunningHub, method: string, path: string, key: string, body?: unknown): Promise<Probe> {
  const headers: Record<string, string> = { authorization: `Bearer ${key}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${h.url}${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (String(res.headers.get('content-type')).startsWith('text/event-stream')) {
    // A stream never ends by itself: its first chunk (the retry line) is enough, the channels were checked.
    const reader = res.body!.getReader();
    const first = await reader.read();
    await reader.cancel();
    return { status: res.status, body: new TextDecoder().decode(first.value ?? new Uint8Array()) };
  }
  return { status: res.status, body: method === 'HEAD' ? '' : await res.text() };
}

/** Every concrete path for a route pattern (each `:param` and `*` filled with every candidate), with its candidate. */
function paths(url: string, candidates: readonly string[]): [string, string][] {
  const holes = url.split('/').filter((s) => s.startsWith(':') || s === '*').length;
  if (holes === 0) return [[url, '']];
  return candidates.map((c) => [
    url
      .split('/')
      .map((s) => (s.startsWith(':') || s === '*' ? encodeURIComponent(c) : s))
      .join('/'),
    c,
  ]);
}

/** Whether a response carries a marker, other than in an echo of the id that the request itself named. */
function leaks(body: string, candidate: string): boolean {
  return MARK.test(
    candidate === '' ? body : body.replaceAll(candidate, '').replaceAll(encodeURIComponent(candidate), ''),
  );
}

/** The channel patterns a scoped route declares (named channels are probed with `payments.eu`). */
function declaredChannels(a: RouteAccess): readonly string[] | undefined {
  return a.kind === 'scoped' && Array.isArray(a.data) ? (a.data as readonly string[]) : undefined;
}

describe('route permissions, generated from the live route list', () => {
  let h: RunningHub;
  let routes: readonly RouteEntry[];
  const ids: string[] = ['sntl.metric', 'SntlRule', 'payments.eu', 'orders.x'];

  before(async () => {
    h = await startHub({
      metrics: {
        collect_interval: 0,
        scrape: [{ url: 'http://127.0.0.1:9/sntl-scrape', interval: '1h', labels: { job: 'sntl_job' } }],
      },
      alerts: {
        rules: [{ name: 'SntlRule', kind: 'threshold', metric: 'sntl.metric', threshold: 1, severity: 'warning' }],
      },
      notifications: {
        webhooks: [{ url: 'http://127.0.0.1:9/sntl-hook', group_wait: 0, max_attempts: 1, timeout: '1s' }],
      },
      auth: {
        api_keys: [
          { key: ADMIN, name: 'admin', scopes: ['admin'] },
          { key: LIMITED.read, name: 'orders-read', scopes: ['read'], channels: ['orders.>'] },
          { key: LIMITED.publish, name: 'orders-publish', scopes: ['publish'], channels: ['orders.>'] },
          { key: LIMITED.admin, name: 'orders-admin', scopes: ['admin'], channels: ['orders.>'] },
        ],
      },
    });
    routes = h.hub.app.routeList;
    const post = async (path: string, body: unknown) => {
      const r = await probe(h, 'POST', path, ADMIN, body);
      assert.ok(r.status < 300, `${path}: ${r.status} ${r.body}`);
      return JSON.parse(r.body) as Record<string, unknown>;
    };
    await post('/api/v1/publish', { channel: 'payments.eu', data: { card: 'sntl-card' } });
    await post('/api/v1/publish', { channel: 'orders.x', data: { order: 1 } });
    await post('/api/v1/metrics', { name: 'sntl.metric', value: 5, labels: { host: 'sntl-host' } });
    await post('/api/v1/publish', {
      channel: 'hosts.sntl-agent',
      kind: 'agent_register',
      data: {
        ...{ hostname: 'sntl-box', machine_id: '', os: 'Linux', kernel: '6', arch: 'x64', cores: 1, memory_bytes: 1 },
        ...{ boot_time: 0, agent_version: '0', interval_ms: 1000, labels: { team: 'sntl-team' } },
      },
    });
    ids.push('sntl-agent');
    ids.push(String((await post('/api/v1/tasks', { name: 'sntl-task' })).id));
    const silence = await post('/api/v1/silences', {
      matchers: [{ name: 'host', value: 'sntl-silenced' }],
      ends_at: Date.now() + 3_600_000,
      by: 'sntl-ops',
      comment: 'sntl',
    });
    ids.push(String(silence.id));
    await post('/api/v1/alerts', { name: 'SntlExternal', labels: { host: 'sntl-ext' } });
    const alerts = h.hub.alerts.activeAlerts();
    for (const a of alerts) ids.push(a.id);
    await until(async () => (await h.hub.incidents.list({})).length > 0, 20_000, 'an incident');
    for (const i of await h.hub.incidents.list({})) ids.push(i.id);
    await until(async () => (await h.hub.notifications.failureCount()) > 0, 20_000, 'a failed notification');
  });
  after(() => h.stop());

  test('every API route and every route that changes something declares its access', () => {
    const missing = routes
      .filter((r) => r.access === undefined && (isApiPath(r.url) || (r.method !== 'GET' && r.method !== 'HEAD')))
      .map((r) => `${r.method} ${r.url}`);
    assert.deepEqual(missing, [], 'declare these with `config: access(...)` (see auth/route-access.ts)');
    for (const r of routes) {
      if (r.method === 'GET' || r.method === 'HEAD' || r.access?.kind !== 'scoped') continue;
      assert.notEqual(r.access.data, 'none', `${r.method} ${r.url} changes something: name the channels it changes`);
    }
  });

  test('credentials limited to orders.> see no other channel data and are refused where the grant falls short', async () => {
    let probes = 0;
    for (const r of routes) {
      for (const scope of ['read', 'publish', 'admin'] as const) {
        const key = LIMITED[scope];
        const a = accessOf(r.method, r.url, r.url, r.access);
        const needs = a.kind === 'scoped' ? a.scope : undefined;
        const holds = scope === 'admin' || needs === undefined || needs === scope;
        for (const [path, id] of paths(r.url, ids)) {
          const isStream = r.url === '/api/v1/stream';
          const suffix = isStream ? '?channels=payments.eu' : (QUERY[r.url] ?? '');
          const body =
            r.method === 'GET' || r.method === 'HEAD' || r.method === 'DELETE'
              ? undefined
              : { channel: 'payments.eu', data: { n: 'sntl' }, name: 'sntl-new' };
          const res = await probe(h, r.method, path + suffix, key, body);
          probes++;
          const what = `${r.method} ${path}${suffix} as orders-${scope} -> ${res.status}`;
          assert.ok(!leaks(res.body, id), `${what} leaked: ${res.body.slice(0, 300)}`);
          if (!holds) assert.equal(res.status, 403, `${what}: the scope is missing`);
          const channels = declaredChannels(a);
          if (channels?.some((c) => !c.startsWith('orders.'))) assert.equal(res.status, 403, `${what}: not granted`);
          if (a.kind === 'scoped' && typeof a.data === 'object' && !Array.isArray(a.data)) {
            const named = (a.data as NamedChannels).named === 'params' ? id : 'payments.eu';
            if (isValidPattern(named) && !named.startsWith('orders.')) {
              assert.equal(res.status, 403, `${what}: ${named} is named and not granted`);
            }
          }
        }
      }
    }
    assert.ok(probes > 300, `${probes} probes`);
  });

  test('an unrestricted admin sees the markers only where a route declares channel data', async () => {
    const reaches = new Map<string, boolean>();
    for (const r of routes) {
      if (r.method !== 'GET') continue;
      const a = accessOf(r.method, r.url, r.url, r.access);
      const noData = a.kind !== 'scoped' || a.data === 'none';
      let seen = false;
      for (const [path, id] of paths(r.url, ids)) {
        const suffix = r.url === '/api/v1/stream' ? '?channels=orders.>' : (QUERY[r.url] ?? '');
        const res = await probe(h, 'GET', path + suffix, ADMIN);
        const leaked = leaks(res.body, id);
        if (leaked) seen = true;
        if (noData) assert.ok(!leaked, `${r.url} declares no channel data but returned: ${res.body.slice(0, 300)}`);
      }
      if (!noData && r.url !== '/api/v1/stream' && !NO_MARKER.has(r.url)) reaches.set(r.url, seen);
    }
    const unreached = [...reaches].filter(([, seen]) => !seen).map(([url]) => url);
    assert.deepEqual(unreached, [], 'seed data that these routes return, so that the probes above mean something');
  });
});
