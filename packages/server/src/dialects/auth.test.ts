/**
 * @module dialects-auth.test
 * Dialect paths with auth on: an upgrade without a valid token is refused with 401 before any session exists; a
 * token without `read` with 403; a session's subscriptions stay within its credential's channels, and a command
 * needs what its v1 method needs.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import WebSocket from 'ws';
import { Recorder } from '../testing/dialect-client.js';
import { type RunningHub, startHub, until } from '../testing/hub-fixture.js';

const ADMIN = 'admin-key-0123456789abcdef';
const READ_ALERTS = 'read-alerts-key-0123456789';
const PUBLISH = 'publish-key-0123456789abcd';

/** The HTTP status an upgrade was refused with, or 101. */
function upgradeStatus(url: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { headers });
    ws.on('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      ws.terminate();
    });
    ws.on('open', () => {
      resolve(101);
      ws.close();
    });
    ws.on('error', () => {});
  });
}

describe('dialects with auth', () => {
  let h: RunningHub;
  let ws: string;

  before(async () => {
    h = await startHub({
      metrics: { collect_interval: 0 },
      auth: {
        api_keys: [
          { key: ADMIN, name: 'admin', scopes: ['admin'] },
          { key: READ_ALERTS, name: 'alerts-reader', scopes: ['read'], channels: ['alerts'] },
          { key: PUBLISH, name: 'publisher', scopes: ['publish'] },
        ],
      },
    });
    ws = h.url.replace('http', 'ws');
  });
  after(() => h.stop());

  test('no token, a bad token, or a token without read: refused at the upgrade', async () => {
    assert.equal(await upgradeStatus(`${ws}/perfmon/ws`), 401);
    assert.equal(await upgradeStatus(`${ws}/api/ws/connect?token=not-a-key`), 401);
    assert.equal(await upgradeStatus(`${ws}/incident/ws`, { authorization: `Bearer ${PUBLISH}` }), 403);
    assert.equal(await upgradeStatus(`${ws}/api/ws/connect?token=${ADMIN}`), 101);
    assert.equal(h.hub.dialects.counts().perfmon, 0);
  });

  test('subscriptions stay within the credential; commands need what their v1 method needs', async () => {
    const rec = new Recorder();
    const socket = new WebSocket(`${ws}/perfmon/ws`, { headers: { authorization: `Bearer ${READ_ALERTS}` } });
    socket.on('message', (d) => rec.fn('message')(JSON.parse(String(d))));
    await rec.waitFor('message', (m) => m.type === 'initial_state');
    try {
      await until(() => h.hub.gateway.subscriptions.count >= 1);
      const list = (await (
        await fetch(`${h.url}/api/v1/dialects/sessions`, { headers: { authorization: `Bearer ${ADMIN}` } })
      ).json()) as { sessions: { principal: string; channels: string[] }[] };
      const mine = list.sessions.find((s) => s.principal === 'alerts-reader')!;
      assert.deepEqual(mine.channels, ['alerts']);
      socket.send(JSON.stringify({ command: 'get_summary' }));
      socket.send(JSON.stringify({ command: 'get_alerts' }));
      socket.send(JSON.stringify({ command: 'acknowledge_alert', rule_name: 'x' }));
      const errors: Record<string, unknown>[] = [];
      await until(() => {
        errors.splice(
          0,
          errors.length,
          ...rec
            .of('message')
            .map((c) => c.args[0] as Record<string, unknown>)
            .filter((m) => m.type === 'error'),
        );
        return errors.length >= 2 && rec.of('message').some((c) => (c.args[0] as { type: string }).type === 'alerts');
      });
      assert.deepEqual(
        errors.map((e) => e.code),
        ['forbidden', 'forbidden'],
      );
      assert.match(String(errors[1]!.message), /admin/);
      assert.equal(
        (await fetch(`${h.url}/api/v1/dialects/sessions`, { headers: { authorization: `Bearer ${READ_ALERTS}` } }))
          .status,
        403,
      );
    } finally {
      socket.close();
    }
  });
});
