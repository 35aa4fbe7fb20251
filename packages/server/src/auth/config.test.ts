/**
 * @module auth-config.test
 * The `auth:` section: defaults, every validation error names its key, the host rule (auth lifts the --insecure
 * requirement), and the JWT secret from VIGIL_AUTH_JWT_SECRET.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ConfigError, loadConfig } from '../config/load.js';
import { READ_KEY, SECRET } from './test-support.js';

const cwd = mkdtempSync(join(tmpdir(), 'vigil-auth-config-'));
const load = (auth: unknown, extra: Record<string, unknown> = {}) =>
  loadConfig({ env: {}, cwd, overrides: { auth, ...extra } });

function problem(auth: unknown): string {
  try {
    load(auth);
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.message;
  }
  assert.fail('expected a ConfigError');
}

const rsaPem = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ type: 'spki', format: 'pem' });
const ecPem = generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey.export({ type: 'spki', format: 'pem' });

test('auth is off by default, and resolved with defaults when configured', () => {
  assert.equal(loadConfig({ env: {}, cwd }).auth, undefined);
  const c = load({ api_keys: [{ key: READ_KEY, scopes: ['read', 'read'] }], jwt: { secret: SECRET } });
  assert.deepEqual(c.auth, {
    jwt: {
      secret: SECRET,
      publicKey: undefined,
      algorithms: ['HS256', 'HS384', 'HS512'],
      issuer: undefined,
      audience: undefined,
      clockToleranceMs: 0,
    },
    apiKeys: [{ key: READ_KEY, name: 'api-key-0', scopes: ['read'], channels: undefined }],
    wsAuthTimeoutMs: 10_000,
  });
});

test('a public key selects its algorithms; algorithms must fit the keys', () => {
  assert.deepEqual(load({ jwt: { public_key: ecPem } }).auth?.jwt?.algorithms, ['ES384']);
  assert.deepEqual(load({ jwt: { public_key: rsaPem, algorithms: ['RS256'] } }).auth?.jwt?.algorithms, ['RS256']);
  assert.match(problem({ jwt: { public_key: rsaPem, algorithms: ['RS256', 'HS256'] } }), /^auth\.jwt\.algorithms\.1:/);
  assert.match(problem({ jwt: { public_key: ecPem, algorithms: ['ES256'] } }), /^auth\.jwt\.algorithms\.0:/);
  const both = load({ jwt: { secret: SECRET, public_key: rsaPem } }).auth?.jwt?.algorithms;
  assert.ok(both?.includes('HS256') && both.includes('PS512'));
});

test('validation errors name the key', () => {
  const cases: [unknown, RegExp][] = [
    [{}, /^auth: /],
    [{ jwt: {} }, /^auth\.jwt: /],
    [{ jwt: { secret: 'short' } }, /^auth\.jwt\.secret: .*32 characters/],
    [{ jwt: { public_key: 'not a pem' } }, /^auth\.jwt\.public_key: /],
    [{ jwt: { secret: SECRET, clock_tolerance: 'soon' } }, /^auth\.jwt\.clock_tolerance/],
    [{ jwt: { secret: SECRET, audince: 'x' } }, /^auth\.jwt/],
    [{ api_keys: [{ key: 'too-short', scopes: ['read'] }] }, /^auth\.api_keys\.0\.key: .*16 characters/],
    [{ api_keys: [{ key: READ_KEY, scopes: [] }] }, /^auth\.api_keys\.0\.scopes: /],
    [{ api_keys: [{ key: READ_KEY, scopes: ['read', 'write'] }] }, /^auth\.api_keys\.0\.scopes: unknown scope "write"/],
    [{ api_keys: [{ key: READ_KEY }] }, /^auth\.api_keys\.0/],
    [
      {
        api_keys: [
          { key: READ_KEY, scopes: ['read'] },
          { key: 'another-key-0123456789', scopes: ['read'], channels: ['ok.>', 'bad..x'] },
        ],
      },
      /^auth\.api_keys\.1\.channels\.1: /,
    ],
    [
      {
        api_keys: [
          { key: READ_KEY, scopes: ['read'] },
          { key: READ_KEY, scopes: ['admin'] },
        ],
      },
      /^auth\.api_keys\.1\.key: duplicate/,
    ],
    [{ api_keys: [{ key: 'has a space 0123456789', scopes: ['read'] }] }, /^auth\.api_keys\.0\.key: /],
    [{ api_keys: [{ key: READ_KEY, scopes: ['read'] }], ws_auth_timeout: 'x' }, /^auth\.ws_auth_timeout/],
  ];
  for (const [auth, re] of cases) assert.match(problem(auth), re, JSON.stringify(auth));
});

test('channels: a bare > grants every channel, duplicates collapse', () => {
  const keys = load({
    api_keys: [
      { key: READ_KEY, scopes: ['read'], channels: ['>'] },
      { key: 'another-key-0123456789', name: 'ops', scopes: ['publish'], channels: ['ops.>', 'ops.>', 'alerts'] },
    ],
  }).auth?.apiKeys;
  assert.equal(keys?.[0]?.channels, undefined);
  assert.deepEqual(keys?.[1]?.channels, ['ops.>', 'alerts']);
  assert.equal(keys?.[1]?.name, 'ops');
});

test('a non-loopback host starts without --insecure once auth is configured', () => {
  const withAuth = load({ api_keys: [{ key: READ_KEY, scopes: ['read'] }] }, { host: '0.0.0.0' });
  assert.equal(withAuth.host, '0.0.0.0');
  assert.equal(withAuth.insecure, false);
  assert.throws(
    () => loadConfig({ env: {}, cwd, flags: { host: '0.0.0.0' } }),
    (err: unknown) => err instanceof ConfigError && err.key === 'host' && /configure auth/.test(err.message),
  );
  // A broken auth section is reported as itself, not as the host rule.
  assert.throws(
    () => load({ jwt: { secret: 'short' } }, { host: '0.0.0.0' }),
    (err: unknown) => err instanceof ConfigError && err.key === 'auth.jwt.secret',
  );
});

test('VIGIL_AUTH_JWT_SECRET sets auth.jwt.secret', () => {
  const c = loadConfig({ env: { VIGIL_AUTH_JWT_SECRET: SECRET, VIGIL_HOST: '0.0.0.0' }, cwd });
  assert.equal(c.auth?.jwt?.secret, SECRET);
  assert.deepEqual(c.auth?.apiKeys, []);
});
