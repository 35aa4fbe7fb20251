/**
 * @module credentials.test
 * Token verification: API keys, HS/RS/ES JWTs, required `exp`, issuer and audience, the accepted algorithms (no
 * alg confusion), the scope and channel claims, and the Bearer header parser.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { tmpdir } from 'node:os';
import { test } from 'node:test';
import { SignJWT } from 'jose';
import { loadConfig } from '../config/load.js';
import { Authenticator, AuthFailure, bearerToken } from './credentials.js';
import { PUB_KEY, SECRET, token } from './test-support.js';

function authenticator(auth: Record<string, unknown>): Authenticator {
  return new Authenticator(loadConfig({ env: {}, cwd: tmpdir(), overrides: { auth } }).auth!);
}

async function refused(p: Promise<unknown>, expired = false): Promise<void> {
  await assert.rejects(
    p,
    (err: unknown) => err instanceof AuthFailure && err.code === 'unauthorized' && err.expired === expired,
  );
}

const exp = () => Math.floor(Date.now() / 1000) + 60;

test('API keys and HS256 tokens', async () => {
  const a = authenticator({
    jwt: { secret: SECRET, clock_tolerance: '5s' },
    api_keys: [{ key: PUB_KEY, name: 'pub', scopes: ['publish'], channels: ['demo.>'] }],
  });
  const k = await a.verify(PUB_KEY);
  assert.deepEqual(
    [k.name, k.kind, [...k.scopes], k.channels, k.expiresAt],
    ['pub', 'api_key', ['publish'], ['demo.>'], undefined],
  );
  await refused(a.verify(`${PUB_KEY}x`));
  const p = await a.verify(await token({ scope: 'read publish bogus', channels: ['a.*'] }, 60));
  assert.deepEqual([p.name, p.kind, [...p.scopes].sort(), p.channels], ['tester', 'jwt', ['publish', 'read'], ['a.*']]);
  assert.equal(p.expiresAt, p.exp! + 5000, 'expiresAt includes the clock tolerance');
  const arr = await a.verify(await token({ scopes: ['admin', 7] }));
  assert.deepEqual([...arr.scopes], ['admin']);
  const none = await a.verify(await token({}));
  assert.equal(none.scopes.size, 0, 'a token without known scopes is valid but may do nothing');
  await refused(a.verify(await token({ scope: 'read' }, -60)), true);
  assert.ok(await a.verify(await token({ scope: 'read' }, -2)), 'within the clock tolerance');
  await refused(a.verify(await token({ scope: 'read' }, 60, 'x'.repeat(40))));
  await refused(a.verify(await token({ channels: 'demo.>' })));
  await refused(a.verify('a.b.c'));
});

test('RS256 and ES256 tokens; an HS256 token made with the public key is refused', async () => {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const rsaPem = rsa.publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const a = authenticator({ jwt: { public_key: rsaPem } });
  const rs = await new SignJWT({ scope: 'read' })
    .setProtectedHeader({ alg: 'RS256' })
    .setExpirationTime(exp())
    .sign(rsa.privateKey);
  assert.equal((await a.verify(rs)).name, 'jwt');
  const confused = await new SignJWT({ scope: 'admin' })
    .setProtectedHeader({ alg: 'HS256' })
    .setExpirationTime(exp())
    .sign(new TextEncoder().encode(rsaPem));
  await refused(a.verify(confused));
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const b = authenticator({ jwt: { public_key: ec.publicKey.export({ type: 'spki', format: 'pem' }).toString() } });
  const es = await new SignJWT({ scope: 'read' })
    .setProtectedHeader({ alg: 'ES256' })
    .setExpirationTime(exp())
    .sign(ec.privateKey);
  assert.ok((await b.verify(es)).scopes.has('read'));
  await refused(b.verify(rs));
});

test('issuer, audience and algorithms are enforced', async () => {
  const a = authenticator({
    jwt: { secret: SECRET, issuer: 'https://idp', audience: ['vigil'], algorithms: ['HS512'] },
  });
  const key = new TextEncoder().encode(SECRET);
  const good = new SignJWT({ scope: 'read' }).setIssuer('https://idp').setAudience('vigil').setExpirationTime(exp());
  assert.ok(await a.verify(await good.setProtectedHeader({ alg: 'HS512' }).sign(key)));
  const hs256 = new SignJWT({ scope: 'read' }).setIssuer('https://idp').setAudience('vigil').setExpirationTime(exp());
  await refused(a.verify(await hs256.setProtectedHeader({ alg: 'HS256' }).sign(key)));
  const wrongAud = new SignJWT({ scope: 'read' })
    .setIssuer('https://idp')
    .setAudience('other')
    .setExpirationTime(exp());
  await refused(a.verify(await wrongAud.setProtectedHeader({ alg: 'HS512' }).sign(key)));
  const noIss = new SignJWT({ scope: 'read' }).setAudience('vigil').setExpirationTime(exp());
  await refused(a.verify(await noIss.setProtectedHeader({ alg: 'HS512' }).sign(key)));
});

test('bearerToken: the header first, then the query token', () => {
  assert.equal(bearerToken('Bearer abc', 'q'), 'abc');
  assert.equal(bearerToken('bearer  abc ', null), 'abc');
  assert.equal(bearerToken('Basic abc', 'q'), 'q');
  assert.equal(bearerToken(undefined, ''), null);
  assert.equal(bearerToken('Bearer', undefined), null);
});
