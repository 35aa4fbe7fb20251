/**
 * @module auth.test
 * The dashboard with auth on: the sign-in screen; a wrong key gets the hub's clear error; a read-only key gets in,
 * and sees the acknowledge and silence buttons disabled with the reason.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { BrowserFixture, connected, skipReason } from './fixture.js';
import { api, startHub, type TestHub } from './hub.js';

const ADMIN = 'e2e-admin-key-0123456789';
const READER = 'e2e-reader-key-0123456789';

describe('Auth', { skip: skipReason }, () => {
  let hub: TestHub;
  const b = new BrowserFixture();
  before(async () => {
    hub = await startHub({
      metrics: { collect_interval: 0 },
      auth: {
        api_keys: [
          { key: ADMIN, name: 'ops-admin', scopes: ['admin'] },
          { key: READER, name: 'viewer', scopes: ['read'] },
        ],
      },
    });
    await b.start();
    await api(
      hub.url,
      'POST',
      '/api/v1/rules',
      { name: 'AuthHot', kind: 'threshold', metric: 'e2e.temp', threshold: 50, severity: 'warning' },
      ADMIN,
    );
    await api(hub.url, 'POST', '/api/v1/metrics', { name: 'e2e.temp', value: 70 }, ADMIN);
  });
  after(async () => {
    await b.stop();
    await hub.stop();
  });

  test('a wrong key gets a clear error; a read-only key sees disabled acknowledge buttons', async () => {
    b.problems.allowed.add('/api/v1/whoami 401');
    const page = await b.page(`${hub.url}/alerts`);
    const form = page.getByTestId('sign-in');
    await form.waitFor();
    await form.getByLabel('API key or token').fill('not-a-key-0123456789');
    await form.getByRole('button', { name: 'Sign in' }).click();
    const error = page.getByTestId('sign-in-error');
    await error.waitFor();
    assert.match((await error.textContent()) ?? '', /Unknown API key or token/);

    await form.getByLabel('API key or token').fill(READER);
    await form.getByRole('button', { name: 'Sign in' }).click();
    await connected(page);
    const row = page.locator('[data-testid="alert-row"]', { hasText: 'AuthHot' });
    await row.waitFor();
    const ack = row.getByTestId('ack');
    assert.equal(await ack.isDisabled(), true);
    assert.match((await ack.getAttribute('title')) ?? '', /Needs the 'admin' scope, which viewer lacks/);
    assert.equal(await row.getByTestId('silence').isDisabled(), true);
    await page.getByTestId('read-only-notice').waitFor();

    // The key is kept for the tab: a reload stays signed in.
    await page.reload();
    await connected(page);
    assert.equal(await page.getByTestId('sign-in').count(), 0);
    b.assertClean();
  });
});
