/**
 * The admin token check (RFC 6750 §2.1 `Authorization: Bearer <b64token>`), in constant time:
 * both sides are hashed to 32 bytes first, so neither the content nor the length of the token
 * leaks through timing.
 */
import { createHash, timingSafeEqual } from 'node:crypto';

/** The token of a `Bearer` credentials value, or undefined when the scheme is another. */
export function bearerToken(value: string): string | undefined {
  let i = 0;
  while (i < value.length && (value.charCodeAt(i) === 0x20 || value.charCodeAt(i) === 0x09)) i++;
  // RFC 9110 §11.1: "It uses a case-insensitive token to identify the authentication scheme".
  if (value.slice(i, i + 6).toLowerCase() !== 'bearer') return undefined;
  const after = value.charCodeAt(i + 6);
  if (after !== 0x20 && after !== 0x09) return undefined;
  return value.slice(i + 7).trim();
}

/** True when `presented` equals `expected`, compared in constant time. */
export function adminTokenMatches(presented: string, expected: string): boolean {
  const a = createHash('sha256').update(presented, 'utf8').digest();
  const b = createHash('sha256').update(expected, 'utf8').digest();
  return timingSafeEqual(a, b);
}
