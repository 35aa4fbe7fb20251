/**
 * @module permissions
 * What a credential may do. A `Principal` carries scopes (`read`, `publish`, `admin`; `admin` implies the other two)
 * and, optionally, the channel patterns it was granted. The rules for WebSocket ops and `call` methods live here;
 * the HTTP routes' rules are in `http-rules.ts`.
 *
 * Channel grants:
 * - a concrete channel is allowed when one granted pattern matches it (`matchChannel`);
 * - a subscription pattern is allowed when one granted pattern covers it: every channel the requested pattern can
 *   match is matched by that granted pattern (see `covers`).
 */
import { type ClientFrame, isValidChannel, isValidPattern, matchChannel, VigilError } from '@vigil/protocol';

export const SCOPES = ['read', 'publish', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

/** Who is calling, once a credential has been verified. */
export interface Principal {
  /** The API key's name, or the JWT's `sub` (`jwt` when it has none). */
  readonly name: string;
  readonly kind: 'jwt' | 'api_key';
  readonly scopes: ReadonlySet<Scope>;
  /** Granted channel patterns; undefined grants every channel. */
  readonly channels: readonly string[] | undefined;
  /** For a JWT: ms since the Unix epoch after which it is no longer accepted (`exp` plus the clock tolerance). */
  readonly expiresAt?: number;
  /** For a JWT: its `exp` claim, in ms. */
  readonly exp?: number;
}

/** A granted pattern: a channel name, a subscription pattern, or a bare `>` meaning every channel. */
export function isGrantPattern(p: unknown): p is string {
  return p === '>' || isValidPattern(p);
}

/** Whether the principal holds `scope` (`admin` holds every scope). */
export function hasScope(principal: Principal, scope: Scope): boolean {
  return principal.scopes.has(scope) || principal.scopes.has('admin');
}

/**
 * Whether the granted pattern `granted` covers the requested pattern `requested`: every concrete channel that
 * `requested` matches is also matched by `granted`. Segment by segment:
 * - a granted `>` covers whatever the request has left, as long as it has at least one segment left;
 * - a granted `*` covers one requested segment that is a name or `*` (not `>`, which may span several);
 * - a granted name covers only the same name;
 * - the two must end together, unless the granted side ended with `>`.
 * Both must be valid patterns. A request covered only by the union of several grants (`a.*` and `a.*.>` for `a.>`)
 * is not covered.
 */
export function covers(granted: string, requested: string): boolean {
  if (granted === requested) return true;
  const g = granted.split('.');
  const r = requested.split('.');
  for (let i = 0; i < g.length; i++) {
    const gs = g[i]!;
    if (gs === '>') return r.length > i;
    if (i >= r.length) return false;
    const rs = r[i]!;
    if (rs === '>') return false;
    if (gs !== '*' && gs !== rs) return false;
  }
  return g.length === r.length;
}

/** Whether the principal may subscribe to the pattern (or read the channel) `requested`. */
export function grantsPattern(principal: Principal, requested: string): boolean {
  return principal.channels === undefined || principal.channels.some((g) => covers(g, requested));
}

/** Whether the principal may publish to the concrete channel `channel`. */
export function grantsChannel(principal: Principal, channel: string): boolean {
  return principal.channels === undefined || principal.channels.some((g) => matchChannel(g, channel));
}

/** What a `call` method needs: a scope, and the channel whose data it returns or changes, if any. */
export interface Requirement {
  scope: Scope;
  /** A pattern the principal's grants must cover. */
  channel?: string;
}

/**
 * What each `call` method needs. A method added later and not listed here needs `admin` on every channel, and the
 * route-permission test fails until it is listed.
 */
const METHODS: Readonly<Record<string, Requirement>> = {
  stats: { scope: 'read' },
  'channels.history': { scope: 'read' },
  'metrics.summary': { scope: 'read', channel: 'metrics.>' },
  'metrics.current': { scope: 'read', channel: 'metrics.>' },
  'metrics.query': { scope: 'read', channel: 'metrics.>' },
  'alerts.list': { scope: 'read', channel: 'alerts' },
  'alerts.ack': { scope: 'admin', channel: 'alerts' },
  'tasks.list': { scope: 'read', channel: 'tasks' },
  'hosts.list': { scope: 'read', channel: 'nodes' },
  'hosts.get': { scope: 'read', channel: 'nodes' },
  'incidents.list': { scope: 'read', channel: 'incidents' },
};

/** Methods not listed above need `admin` on every channel. */
const UNLISTED: Requirement = { scope: 'admin', channel: '>' };

export function methodRequirement(method: string): Requirement {
  return Object.hasOwn(METHODS, method) ? METHODS[method]! : UNLISTED;
}

/** The error for a principal lacking `scope`. */
export function missingScope(principal: Principal, scope: Scope, what: string): VigilError {
  return new VigilError('forbidden', `${what} needs the '${scope}' scope, which '${principal.name}' lacks`, {
    scope,
  });
}

/** The error for a channel or pattern outside the principal's grants. */
export function channelDenied(principal: Principal, channel: string): VigilError {
  return new VigilError('forbidden', `'${principal.name}' may not use channel '${channel}'`, { channel });
}

/** Checks a requirement; returns the error to answer with, or undefined when it is met. */
export function check(principal: Principal, req: Requirement, what: string): VigilError | undefined {
  if (!hasScope(principal, req.scope)) return missingScope(principal, req.scope, what);
  if (req.channel !== undefined && !grantsPattern(principal, req.channel)) return channelDenied(principal, req.channel);
  return undefined;
}

/**
 * Why `frame` may not run for `principal` while auth is on, or undefined when it may. `ping` and `auth` always may;
 * anything else needs a principal. Malformed channels are let through, for the op itself to answer
 * `invalid_channel`.
 */
export function refuseFrame(principal: Principal | undefined, frame: ClientFrame): VigilError | undefined {
  if (frame.op === 'ping' || frame.op === 'auth') return undefined;
  if (principal === undefined) {
    return new VigilError('unauthorized', 'Not authenticated: send the `auth` op with a token first');
  }
  switch (frame.op) {
    case 'subscribe': {
      if (!hasScope(principal, 'read')) return missingScope(principal, 'read', 'subscribe');
      const denied = frame.channels.find((p) => isValidPattern(p) && !grantsPattern(principal, p));
      return denied === undefined ? undefined : channelDenied(principal, denied);
    }
    case 'publish':
      if (!hasScope(principal, 'publish')) return missingScope(principal, 'publish', 'publish');
      if (isValidChannel(frame.channel) && !grantsChannel(principal, frame.channel)) {
        return channelDenied(principal, frame.channel);
      }
      return undefined;
    case 'call': {
      const denied = check(principal, methodRequirement(frame.method), `'${frame.method}'`);
      if (denied) return denied;
      const params = frame.params as { channel?: unknown } | undefined;
      if (frame.method === 'channels.history' && isValidChannel(params?.channel)) {
        if (!grantsChannel(principal, params.channel)) return channelDenied(principal, params.channel);
      }
      return undefined;
    }
    default:
      return undefined;
  }
}
