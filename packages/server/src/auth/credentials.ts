/**
 * @module credentials
 * Turns a token into a `Principal`. A token is an API key from the configuration (looked up by its SHA-256, so the
 * lookup takes the same time whatever the key) or a JWT verified with jose: signature with the configured secret or
 * public key, `alg` in the accepted list, `exp` required, `iss`/`aud` when configured. Claims: `scope` (space
 * separated) or `scopes` (array) for the scopes, `channels` (array of patterns) to restrict channels, `sub` for
 * the name. Unknown scope names are ignored (a token may carry scopes for other services).
 */
import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import { VigilError } from '@vigil/protocol';
import { type JWTPayload, errors as joseErrors, jwtVerify } from 'jose';
import type { AuthConfig, JwtConfig } from './config.js';
import { isGrantPattern, type Principal, SCOPES, type Scope } from './permissions.js';

/** A credential that was refused. `expired` tells an expired JWT from one that is wrong. */
export class AuthFailure extends VigilError {
  constructor(
    message: string,
    readonly expired = false,
  ) {
    super('unauthorized', message);
  }
}

/** The token of a request: `Authorization: Bearer <token>` first, else the `token` query parameter when allowed. */
export function bearerToken(authorization: string | undefined, queryToken: string | null | undefined): string | null {
  if (authorization !== undefined) {
    const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(authorization);
    if (m) return m[1]!;
  }
  return queryToken || null;
}

function digest(key: string): string {
  return createHash('sha256').update(key).digest('base64url');
}

export class Authenticator {
  private keys = new Map<string, Principal>();
  private jwt: JwtConfig | undefined;
  private secret: Uint8Array | undefined;
  private publicKey: KeyObject | undefined;
  private current!: AuthConfig;

  constructor(config: AuthConfig) {
    this.replace(config);
  }

  get config(): AuthConfig {
    return this.current;
  }

  /**
   * Takes new keys, secrets and settings (configuration reload). Credentials verified before keep their principal
   * until they are verified again (the gateway does that for open sessions right after a reload).
   */
  replace(config: AuthConfig): void {
    const keys = new Map<string, Principal>();
    for (const k of config.apiKeys) {
      keys.set(
        digest(k.key),
        Object.freeze({ name: k.name, kind: 'api_key', scopes: new Set(k.scopes), channels: k.channels }),
      );
    }
    const secret = config.jwt?.secret !== undefined ? new TextEncoder().encode(config.jwt.secret) : undefined;
    const publicKey = config.jwt?.publicKey !== undefined ? createPublicKey(config.jwt.publicKey) : undefined;
    this.keys = keys;
    this.jwt = config.jwt;
    this.secret = secret;
    this.publicKey = publicKey;
    this.current = config;
  }

  /** How long a WebSocket may stay without a credential. */
  get wsAuthTimeoutMs(): number {
    return this.config.wsAuthTimeoutMs;
  }

  /** Verifies `token`; throws an `AuthFailure` (code `unauthorized`) when it is not accepted. */
  async verify(token: string): Promise<Principal> {
    const key = this.keys.get(digest(token));
    if (key !== undefined) return key;
    if (this.jwt === undefined || token.split('.').length !== 3) throw new AuthFailure('Unknown API key or token');
    return this.verifyJwt(token, this.jwt);
  }

  private async verifyJwt(token: string, jwt: JwtConfig): Promise<Principal> {
    let payload: JWTPayload;
    try {
      const result = await jwtVerify(
        token,
        (header) => {
          const key = header.alg?.startsWith('HS') ? this.secret : this.publicKey;
          if (key === undefined) throw new AuthFailure(`No key configured for alg ${String(header.alg)}`);
          return key;
        },
        {
          algorithms: [...jwt.algorithms],
          requiredClaims: ['exp'],
          clockTolerance: jwt.clockToleranceMs / 1000,
          issuer: jwt.issuer as string | string[] | undefined,
          audience: jwt.audience as string | string[] | undefined,
        },
      );
      payload = result.payload;
    } catch (err) {
      if (err instanceof AuthFailure) throw err;
      if (err instanceof joseErrors.JWTExpired) throw new AuthFailure('Token expired', true);
      if (err instanceof joseErrors.JOSEError) throw new AuthFailure(`Invalid token: ${err.message}`);
      throw new AuthFailure('Invalid token');
    }
    return principalOf(payload, jwt.clockToleranceMs);
  }
}

/** The principal a verified JWT payload describes. */
export function principalOf(payload: JWTPayload, clockToleranceMs = 0): Principal {
  const scopes = new Set<Scope>();
  const claimed: unknown[] =
    typeof payload.scope === 'string'
      ? payload.scope.split(/\s+/)
      : Array.isArray(payload.scopes)
        ? payload.scopes
        : [];
  for (const s of claimed) if ((SCOPES as readonly unknown[]).includes(s)) scopes.add(s as Scope);
  let channels: string[] | undefined;
  if (payload.channels !== undefined) {
    if (!Array.isArray(payload.channels) || !payload.channels.every(isGrantPattern)) {
      throw new AuthFailure('Invalid token: `channels` must be an array of channel patterns');
    }
    channels = payload.channels.includes('>') ? undefined : [...new Set(payload.channels as string[])];
  }
  const exp = (payload.exp ?? 0) * 1000;
  return Object.freeze({
    name: typeof payload.sub === 'string' && payload.sub.length > 0 ? payload.sub.slice(0, 128) : 'jwt',
    kind: 'jwt',
    scopes,
    channels,
    exp,
    expiresAt: exp + clockToleranceMs,
  });
}
