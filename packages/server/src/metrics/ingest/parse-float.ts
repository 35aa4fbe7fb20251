/**
 * @module metrics/ingest/parse-float
 * Strict decimal float parsing for the text ingest formats: `[+-]digits[.digits][(e|E)[+-]digits]`, with at least
 * one mantissa digit (`.5` and `5.` are accepted). No hex, no underscores, no surrounding blanks, no NaN/Infinity
 * (callers that allow special values check for them first).
 */

const DIGIT_0 = 48;
const DIGIT_9 = 57;

function isDigitAt(s: string, i: number): boolean {
  const c = s.charCodeAt(i);
  return c >= DIGIT_0 && c <= DIGIT_9;
}

/** Parses a decimal float token, or returns undefined when it is not one. */
export function parseDecimalFloat(token: string): number | undefined {
  const n = token.length;
  let i = 0;
  const first = token.charCodeAt(0);
  if (first === 43 || first === 45) i++; // + -
  let digits = 0;
  while (i < n && isDigitAt(token, i)) {
    i++;
    digits++;
  }
  if (i < n && token.charCodeAt(i) === 46) {
    i++;
    while (i < n && isDigitAt(token, i)) {
      i++;
      digits++;
    }
  }
  if (digits === 0) return undefined;
  if (i < n && (token.charCodeAt(i) | 32) === 101) {
    i++;
    if (i < n && (token.charCodeAt(i) === 43 || token.charCodeAt(i) === 45)) i++;
    const expStart = i;
    while (i < n && isDigitAt(token, i)) i++;
    if (i === expStart) return undefined;
  }
  if (i !== n) return undefined;
  return Number(token);
}

/** True when every character of `s` from `start` to `end` (exclusive) is an ASCII digit, and the range is not empty. */
export function isDigits(s: string, start: number, end: number): boolean {
  if (end <= start) return false;
  for (let i = start; i < end; i++) {
    if (!isDigitAt(s, i)) return false;
  }
  return true;
}
