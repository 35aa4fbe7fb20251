/**
 * @module channels
 * Channel names and subscription patterns. A name is segments of `[A-Za-z0-9_:-]+` joined by `.`, at most 255
 * characters. A pattern may use `*` for exactly one segment and `>` (last only) for one or more trailing segments.
 */

export const MAX_CHANNEL_LENGTH = 255;

const SEGMENT = /^[A-Za-z0-9_:-]+$/;

function segmentsOk(name: string, allowWildcards: boolean): boolean {
  if (name.length === 0 || name.length > MAX_CHANNEL_LENGTH) return false;
  const parts = name.split('.');
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i]!;
    if (allowWildcards) {
      if (p === '*') continue;
      if (p === '>') {
        if (i !== parts.length - 1 || i === 0) return false;
        continue;
      }
    }
    if (!SEGMENT.test(p)) return false;
  }
  return true;
}

/** True when `name` is a concrete channel name (no wildcards). */
export function isValidChannel(name: unknown): name is string {
  return typeof name === 'string' && segmentsOk(name, false);
}

/**
 * True when `pattern` is a valid subscription: a channel name, or a pattern with `*` segments and/or a trailing `>`.
 * A bare `>` is rejected (it would subscribe to everything); `*` alone is a one-segment pattern.
 */
export function isValidPattern(pattern: unknown): pattern is string {
  return typeof pattern === 'string' && segmentsOk(pattern, true);
}

/** True when the pattern contains a wildcard segment. */
export function isWildcard(pattern: string): boolean {
  return pattern === '*' || pattern.includes('*') || pattern.endsWith('.>');
}

/** Does `pattern` match the concrete `channel`? Both are assumed valid. */
export function matchChannel(pattern: string, channel: string): boolean {
  if (pattern === channel) return true;
  const p = pattern.split('.');
  const c = channel.split('.');
  for (let i = 0; i < p.length; i++) {
    const seg = p[i]!;
    if (seg === '>') return c.length > i;
    if (i >= c.length) return false;
    if (seg !== '*' && seg !== c[i]) return false;
  }
  return p.length === c.length;
}

/** Could some channel match both patterns? Both are assumed valid. */
export function patternsOverlap(a: string, b: string): boolean {
  if (a === b) return true;
  if (!isWildcard(a) && !isWildcard(b)) return false;
  return segmentsOverlap(a.split('.'), b.split('.'));
}

/**
 * `patternsOverlap` on patterns already split at their dots: for callers that compare one pattern with many (a
 * connection's subscriptions), so that each is split once.
 */
export function segmentsOverlap(p: readonly string[], q: readonly string[]): boolean {
  for (let i = 0; ; i++) {
    const x = p[i];
    const y = q[i];
    // `>` takes one or more segments: it meets anything that still has a segment here.
    if (x === '>') return y !== undefined;
    if (y === '>') return x !== undefined;
    if (x === undefined || y === undefined) return x === y;
    if (x !== '*' && y !== '*' && x !== y) return false;
  }
}
