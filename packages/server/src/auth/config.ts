/**
 * @module auth-config
 * The `auth:` section of the configuration: JWT verification keys, API keys with scopes and channel patterns, and the
 * time a WebSocket client has to authenticate. Absent means auth is off (then a non-loopback host needs --insecure).
 * Everything is checked once at load; a bad value names its key (`auth.api_keys.1.scopes`, `auth.jwt.public_key`).
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { type Static, Type } from '@sinclair/typebox';
import { DurationSchema as Duration, parseDuration } from '../config/duration.js';
import { isGrantPattern, SCOPES, type Scope } from './permissions.js';

const StringOrList = Type.Union([Type.String({ minLength: 1 }), Type.Array(Type.String({ minLength: 1 }))]);

export const HMAC_ALGORITHMS = ['HS256', 'HS384', 'HS512'] as const;
export const RSA_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'] as const;
/** EC curves (by Node's and by JOSE's name) and their algorithm. */
const EC_ALGORITHMS: Readonly<Record<string, string>> = {
  'P-256': 'ES256',
  prime256v1: 'ES256',
  'P-384': 'ES384',
  secp384r1: 'ES384',
  'P-521': 'ES512',
  secp521r1: 'ES512',
};

/** The shortest HMAC secret accepted: 32 characters (256 bits of ASCII at best). */
export const MIN_SECRET_LENGTH = 32;
/** The shortest API key accepted. */
export const MIN_API_KEY_LENGTH = 16;

export const AuthConfigSchema = Type.Optional(
  Type.Object(
    {
      jwt: Type.Optional(
        Type.Object(
          {
            secret: Type.Optional(
              Type.String({ description: `HMAC secret (HS256/384/512), at least ${MIN_SECRET_LENGTH} characters.` }),
            ),
            public_key: Type.Optional(
              Type.String({ description: 'PEM public key (SPKI) for RS*, PS* or ES* tokens.' }),
            ),
            algorithms: Type.Optional(
              Type.Array(Type.String(), {
                minItems: 1,
                description: 'Accepted `alg` values; default: all the keys fit.',
              }),
            ),
            issuer: Type.Optional(StringOrList),
            audience: Type.Optional(StringOrList),
            clock_tolerance: Duration('0s', 'Leeway for `exp` and `nbf`.'),
          },
          { additionalProperties: false },
        ),
      ),
      api_keys: Type.Array(
        Type.Object(
          {
            key: Type.String({ description: `The key itself, at least ${MIN_API_KEY_LENGTH} characters.` }),
            name: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
            scopes: Type.Array(Type.String(), { description: 'read, publish and/or admin.' }),
            channels: Type.Optional(
              Type.Array(Type.String(), { description: 'Granted channel patterns; default all.' }),
            ),
          },
          { additionalProperties: false },
        ),
        { default: [] },
      ),
      ws_auth_timeout: Duration('10s', 'How long a WebSocket may stay unauthenticated before it is closed with 4001.'),
    },
    { additionalProperties: false },
  ),
);

export type RawAuthConfig = NonNullable<Static<typeof AuthConfigSchema>>;

export interface JwtConfig {
  readonly secret: string | undefined;
  /** The PEM text; verified to parse at load. */
  readonly publicKey: string | undefined;
  readonly algorithms: readonly string[];
  readonly issuer: string | readonly string[] | undefined;
  readonly audience: string | readonly string[] | undefined;
  readonly clockToleranceMs: number;
}

export interface ApiKeyConfig {
  readonly key: string;
  readonly name: string;
  readonly scopes: readonly Scope[];
  /** Granted patterns; undefined grants every channel. */
  readonly channels: readonly string[] | undefined;
}

export interface AuthConfig {
  readonly jwt: JwtConfig | undefined;
  readonly apiKeys: readonly ApiKeyConfig[];
  readonly wsAuthTimeoutMs: number;
}

export type AuthConfigProblem = { key: string; reason: string };

/** Checks a parsed `auth:` section and resolves it; the first problem found names its key. */
export function toAuthConfig(raw: RawAuthConfig): AuthConfig | AuthConfigProblem {
  if (raw.jwt === undefined && raw.api_keys.length === 0) {
    return { key: 'auth', reason: 'configure auth.jwt or auth.api_keys (or remove the auth section)' };
  }
  let jwt: JwtConfig | undefined;
  if (raw.jwt !== undefined) {
    const j = toJwtConfig(raw.jwt);
    if ('key' in j) return j;
    jwt = j;
  }
  const apiKeys: ApiKeyConfig[] = [];
  const seen = new Set<string>();
  for (let i = 0; i < raw.api_keys.length; i++) {
    const k = raw.api_keys[i]!;
    const at = `auth.api_keys.${i}`;
    if (k.key.length < MIN_API_KEY_LENGTH) {
      return { key: `${at}.key`, reason: `an API key needs at least ${MIN_API_KEY_LENGTH} characters` };
    }
    if (/\s/.test(k.key)) return { key: `${at}.key`, reason: 'an API key may not contain whitespace' };
    if (seen.has(k.key)) return { key: `${at}.key`, reason: 'duplicate API key' };
    seen.add(k.key);
    const scopes = checkScopes(k.scopes);
    if (typeof scopes === 'string') return { key: `${at}.scopes`, reason: scopes };
    let channels: string[] | undefined;
    if (k.channels !== undefined) {
      const bad = k.channels.findIndex((p) => !isGrantPattern(p));
      if (bad >= 0) {
        return {
          key: `${at}.channels.${bad}`,
          reason: `not a channel name or pattern: ${JSON.stringify(k.channels[bad])}`,
        };
      }
      channels = k.channels.includes('>') ? undefined : [...new Set(k.channels)];
    }
    apiKeys.push({ key: k.key, name: k.name ?? `api-key-${i}`, scopes, channels });
  }
  return { jwt, apiKeys, wsAuthTimeoutMs: Math.max(10, parseDuration(raw.ws_auth_timeout) ?? 10_000) };
}

function checkScopes(scopes: readonly string[]): Scope[] | string {
  if (scopes.length === 0) return `give at least one of ${SCOPES.join(', ')}`;
  const unknown = scopes.find((s) => !(SCOPES as readonly string[]).includes(s));
  if (unknown !== undefined) return `unknown scope ${JSON.stringify(unknown)}; use ${SCOPES.join(', ')}`;
  return [...new Set(scopes as Scope[])];
}

function toJwtConfig(raw: NonNullable<RawAuthConfig['jwt']>): JwtConfig | AuthConfigProblem {
  if (raw.secret === undefined && raw.public_key === undefined) {
    return { key: 'auth.jwt', reason: 'give auth.jwt.secret (HS*) or auth.jwt.public_key (RS*, PS*, ES*)' };
  }
  const fits: string[] = [];
  if (raw.secret !== undefined) {
    if (raw.secret.length < MIN_SECRET_LENGTH) {
      return { key: 'auth.jwt.secret', reason: `an HMAC secret needs at least ${MIN_SECRET_LENGTH} characters` };
    }
    fits.push(...HMAC_ALGORITHMS);
  }
  if (raw.public_key !== undefined) {
    let key: KeyObject;
    try {
      key = createPublicKey(raw.public_key);
    } catch (err) {
      return { key: 'auth.jwt.public_key', reason: `not a PEM public key: ${(err as Error).message}` };
    }
    const type = key.asymmetricKeyType;
    if (type === 'rsa') fits.push(...RSA_ALGORITHMS);
    else if (type === 'rsa-pss') fits.push('PS256', 'PS384', 'PS512');
    else if (type === 'ec') {
      const alg = EC_ALGORITHMS[key.asymmetricKeyDetails?.namedCurve ?? ''];
      if (alg === undefined) {
        return { key: 'auth.jwt.public_key', reason: 'EC keys must use the P-256, P-384 or P-521 curve' };
      }
      fits.push(alg);
    } else return { key: 'auth.jwt.public_key', reason: `unsupported key type ${String(type)}; use RSA or EC` };
  }
  const algorithms = raw.algorithms ?? fits;
  for (let i = 0; i < algorithms.length; i++) {
    if (!fits.includes(algorithms[i]!)) {
      return {
        key: `auth.jwt.algorithms.${i}`,
        reason: `${JSON.stringify(algorithms[i])} does not fit the configured key(s); use one of ${fits.join(', ')}`,
      };
    }
  }
  return {
    secret: raw.secret,
    publicKey: raw.public_key,
    algorithms: [...new Set(algorithms)],
    issuer: raw.issuer,
    audience: raw.audience,
    clockToleranceMs: parseDuration(raw.clock_tolerance) ?? 0,
  };
}
