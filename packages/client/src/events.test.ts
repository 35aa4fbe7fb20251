/**
 * @module events.test
 * Typed events: the event type follows the subscribed patterns (checked by the compiler, with `@ts-expect-error`
 * where a wrong use must not compile), and `isKind()` narrows events of other channels at run time.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Severity } from '@vigil/protocol';
import { VigilClient } from './client.js';
import { type IncidentPriority, isKind, State, type VigilEvent } from './events.js';

describe('typed events', () => {
  test('built-in channels give discriminated event types', () => {
    const client = new VigilClient({ url: 'ws://127.0.0.1:9/ws' });
    const alerts = client.subscribe('alerts');
    alerts.on('event', (e) => {
      const severity: Severity = e.data.severity;
      // @ts-expect-error an alert has no progress
      void e.data.progress;
      void severity;
    });
    client.subscribe(['tasks', 'incidents']).on('event', (e) => {
      if (e.kind === 'task_update') {
        const progress: number | null = e.data.progress;
        void progress;
      } else {
        const priority: IncidentPriority = e.data.priority;
        const status: 'open' | 'acknowledged' | 'resolved' = e.data.status;
        void priority;
        void status;
      }
    });
    client.subscribe('metrics.>').on('event', (e) => {
      const value: number = e.data.value;
      void value;
    });
    client.subscribe('orders.eu').on('event', (e) => {
      // @ts-expect-error data of an application channel is unknown
      void e.data.anything;
      if (isKind(e, 'alert')) {
        const rule: string = e.data.rule;
        void rule;
      }
    });
    client.close();
    assert.equal(client.state, State.Closed);
  });

  test('isKind narrows by kind at run time', () => {
    const base = { channel: 'x', offset: 1, ts: 1, epoch: 'e' };
    const events: VigilEvent[] = [
      { ...base, kind: 'metric_update', data: { metric: 'm', ts: 1, value: 2, labels: {} } },
      { ...base, kind: 'custom', data: 42 },
    ];
    assert.deepEqual(
      events.filter((e) => isKind(e, 'metric_update')).map((e) => e.data.value),
      [2],
    );
  });
});
