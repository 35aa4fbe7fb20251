/**
 * @module test-support
 * Test support for the auth tests: a shared HMAC secret, API keys, and tokens signed with jose.
 */
import { SignJWT } from 'jose';

export const SECRET = 'a-test-secret-of-at-least-32-characters!';
export const READ_KEY = 'read-only-key-0123456789';
export const PUB_KEY = 'publisher-key-0123456789';
export const ADMIN_KEY = 'admin-key-0123456789abcdef';

/** An HS256 token for `sub: tester`, expiring `ttlS` seconds from now (negative: already expired). */
export async function token(claims: Record<string, unknown>, ttlS = 300, secret = SECRET): Promise<string> {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject('tester')
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + ttlS)
    .sign(new TextEncoder().encode(secret));
}
