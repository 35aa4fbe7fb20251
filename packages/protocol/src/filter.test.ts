/**
 * @module filter.test
 * Subscription filters: each field alone, combinations, severity order and events whose data lacks the fields.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { compileFilter, type EventPredicate, type FilterableEvent, filterKey, SEVERITIES } from './filter.js';

function compiled(filter: Parameters<typeof compileFilter>[0]): EventPredicate {
  const p = compileFilter(filter);
  assert.ok(p, 'expected a predicate');
  return p;
}

const ev = (kind: string, data: unknown): FilterableEvent => ({ kind, data });

const alert = (over: Record<string, unknown> = {}): FilterableEvent =>
  ev('alert', {
    id: 'a1',
    rule: 'cpu_high',
    status: 'firing',
    severity: 'warning',
    labels: { host: 'web-1', env: 'prod' },
    ...over,
  });

describe('compileFilter', () => {
  test('no filter or an empty filter keeps everything (no predicate)', () => {
    assert.equal(compileFilter(undefined), undefined);
    assert.equal(compileFilter({}), undefined);
  });

  test('kinds keeps events whose kind is listed', () => {
    const p = compiled({ kinds: ['incident_created', 'incident_resolved'] });
    assert.equal(p(ev('incident_created', {})), true);
    assert.equal(p(ev('incident_resolved', null)), true);
    assert.equal(p(ev('incident_updated', {})), false);
    assert.equal(p(ev('', {})), false);
    assert.equal(compiled({ kinds: [] })(ev('alert', {})), false);
  });

  test('ids keeps events whose data.id is listed (string or number id)', () => {
    const p = compiled({ ids: ['t1', '42'] });
    assert.equal(p(ev('task_update', { id: 't1' })), true);
    assert.equal(p(ev('task_update', { id: 42 })), true);
    assert.equal(p(ev('task_update', { id: 't2' })), false);
    assert.equal(p(ev('task_update', { id: 4 })), false);
    assert.equal(p(ev('task_update', { id: null })), false);
    assert.equal(p(ev('task_update', { id: ['t1'] })), false);
    assert.equal(p(ev('task_update', { id: { toString: () => 't1' } })), false);
    assert.equal(p(ev('task_update', {})), false);
  });

  test('min_severity follows info < warning < error < critical', () => {
    assert.deepEqual([...SEVERITIES], ['info', 'warning', 'error', 'critical']);
    for (const [i, min] of SEVERITIES.entries()) {
      const p = compiled({ min_severity: min });
      for (const [j, sev] of SEVERITIES.entries()) {
        assert.equal(p(alert({ severity: sev })), j >= i, `${sev} vs min ${min}`);
      }
    }
  });

  test('min_severity drops events without a known severity', () => {
    const p = compiled({ min_severity: 'info' });
    assert.equal(p(alert({ severity: undefined })), false);
    assert.equal(p(alert({ severity: 'fatal' })), false);
    assert.equal(p(alert({ severity: 'CRITICAL' })), false);
    assert.equal(p(alert({ severity: 3 })), false);
    assert.equal(p(ev('metric_update', { metric: 'cpu', value: 1 })), false);
  });

  test('states keeps events whose data.status is listed', () => {
    const p = compiled({ states: ['firing', 'pending'] });
    assert.equal(p(alert({ status: 'firing' })), true);
    assert.equal(p(alert({ status: 'pending' })), true);
    assert.equal(p(alert({ status: 'resolved' })), false);
    assert.equal(p(alert({ status: undefined })), false);
    assert.equal(p(alert({ status: 1 })), false);
  });

  test('labels: every listed label must match exactly', () => {
    const p = compiled({ labels: { host: 'web-1' } });
    assert.equal(p(alert()), true);
    assert.equal(p(alert({ labels: { host: 'web-2' } })), false);
    assert.equal(p(alert({ labels: { host: 'WEB-1' } })), false);
    assert.equal(p(alert({ labels: { env: 'prod' } })), false);
    assert.equal(p(alert({ labels: {} })), false);
    assert.equal(p(alert({ labels: undefined })), false);
    assert.equal(p(alert({ labels: null })), false);
    assert.equal(p(alert({ labels: 'host=web-1' })), false);

    const both = compiled({ labels: { host: 'web-1', env: 'prod' } });
    assert.equal(both(alert()), true);
    assert.equal(both(alert({ labels: { host: 'web-1', env: 'dev' } })), false);
    assert.equal(both(alert({ labels: { host: 'web-1', env: 'prod', extra: 'x' } })), true);
  });

  test('labels do not match inherited properties', () => {
    const p = compiled({ labels: { toString: 'x', constructor: 'y' } });
    assert.equal(p(alert({ labels: {} })), false);
    const q = compiled({ labels: { host: 'web-1' } });
    assert.equal(q(alert({ labels: Object.create({ host: 'web-1' }) })), false);
  });

  test('an empty labels object keeps any event whose labels are an object', () => {
    const p = compiled({ labels: {} });
    assert.equal(p(alert()), true);
    assert.equal(p(alert({ labels: undefined })), false);
  });

  test('combined fields must all hold', () => {
    const p = compiled({
      kinds: ['alert'],
      ids: ['a1'],
      min_severity: 'error',
      states: ['firing'],
      labels: { env: 'prod' },
    });
    const ok = alert({ severity: 'critical' });
    assert.equal(p(ok), true);
    assert.equal(p({ ...ok, kind: 'task_update' }), false);
    assert.equal(p(alert({ severity: 'critical', id: 'a2' })), false);
    assert.equal(p(alert({ severity: 'warning' })), false);
    assert.equal(p(alert({ severity: 'critical', status: 'resolved' })), false);
    assert.equal(p(alert({ severity: 'critical', labels: { env: 'dev' } })), false);

    const two = compiled({ kinds: ['task_update'], states: ['running'] });
    assert.equal(two(ev('task_update', { id: 't', status: 'running' })), true);
    assert.equal(two(ev('task_update', { id: 't', status: 'failed' })), false);
    assert.equal(two(ev('alert', { id: 't', status: 'running' })), false);
  });

  test('data fields are read only as own properties', () => {
    const inherited = Object.create({ id: 'a1', status: 'firing', severity: 'critical', labels: { env: 'prod' } });
    assert.equal(compiled({ ids: ['a1'] })(ev('alert', inherited)), false);
    assert.equal(compiled({ states: ['firing'] })(ev('alert', inherited)), false);
    assert.equal(compiled({ min_severity: 'info' })(ev('alert', inherited)), false);
    assert.equal(compiled({ labels: { env: 'prod' } })(ev('alert', inherited)), false);
  });

  test('non-object data never matches a data field and never throws', () => {
    const filters = [{ ids: ['1'] }, { min_severity: 'info' as const }, { states: ['x'] }, { labels: { a: 'b' } }];
    for (const data of [undefined, null, 1, 'id', true, [1, 2], ['1'], () => 1, Symbol('s'), 10n]) {
      for (const f of filters) assert.equal(compiled(f)(ev('alert', data)), false, `${JSON.stringify(f)}`);
      assert.equal(compiled({ kinds: ['alert'] })(ev('alert', data)), true);
    }
  });
});

describe('filterKey', () => {
  test('is empty for no filter and for filters that keep everything', () => {
    assert.equal(filterKey(undefined), '');
    assert.equal(filterKey({}), '');
  });

  test('ignores the order of object keys but not of list items or values', () => {
    const a = filterKey({ min_severity: 'error', labels: { env: 'prod', dc: 'eu' } });
    const b = filterKey({ labels: { dc: 'eu', env: 'prod' }, min_severity: 'error' });
    assert.equal(a, b);
    assert.notEqual(a, filterKey({ labels: { dc: 'eu', env: 'dev' }, min_severity: 'error' }));
    assert.notEqual(filterKey({ kinds: ['a', 'b'] }), filterKey({ kinds: ['b', 'a'] }));
    assert.notEqual(filterKey({ kinds: ['a'] }), filterKey({ states: ['a'] }));
    assert.notEqual(filterKey({ labels: {} }), '');
  });
});

describe('priorities, sources and resources', () => {
  const ev = (data: unknown): FilterableEvent => ({ kind: 'x', data });

  test('priorities keep events by their own priority, else the one of their severity', () => {
    const keep = compileFilter({ priorities: ['P0', 'P1'] })!;
    assert.equal(keep(ev({ priority: 'P0' })), true);
    assert.equal(keep(ev({ priority: 'P2', severity: 'critical' })), false);
    assert.equal(keep(ev({ severity: 'critical' })), true);
    assert.equal(keep(ev({ severity: 'error' })), false);
    assert.equal(keep(ev({ priority: 'P9' })), false);
    assert.equal(keep(ev({})), false);
  });

  test('sources and resources read the label of that name, else data.source / data.resource', () => {
    const bySource = compileFilter({ sources: ['prometheus'] })!;
    assert.equal(bySource(ev({ source: 'prometheus' })), true);
    assert.equal(bySource(ev({ source: 'rule', labels: { source: 'prometheus' } })), true);
    assert.equal(bySource(ev({ source: 'prometheus', labels: { source: 'loki' } })), false);
    assert.equal(bySource(ev({ labels: { source: 'prometheus' } })), true);
    assert.equal(bySource(ev({ labels: {} })), false);
    const byResource = compileFilter({ resources: ['db-1'], priorities: ['P1'] })!;
    assert.equal(byResource(ev({ resource: 'db-1', priority: 'P1' })), true);
    assert.equal(byResource(ev({ labels: { resource: 'db-1' }, severity: 'critical' })), true);
    assert.equal(byResource(ev({ resource: 'db-2', priority: 'P1' })), false);
  });
});
