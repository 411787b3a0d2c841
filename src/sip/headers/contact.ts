/**
 * Contact (RFC 3261 §20.10, §10.2.1.1, §10.2.2).
 *
 * Conformance:
 * - a value is `*` (the wildcard of a REGISTER that removes all bindings) or a name-addr /
 *   addr-spec with header parameters (name-addr.ts). Split a header line with `splitList` first.
 * - `contactExpires`: RFC 3261 §20.10 "Malformed values SHOULD be treated as equivalent to 3600";
 *   values above 2**32-1 are clamped to it (delta-seconds, RFC 3261 §25.1 / RFC 4475 scalar02).
 * - `contactQ`: qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] ) (RFC 3261 §25.1);
 *   anything else throws BAD_HEADER (400).
 */
import { SipError } from '../errors.js';
import type { ContactValue } from '../types.js';
import { parseNameAddr } from '../name-addr.js';

/** Parse one Contact value. Throws BAD_HEADER / BAD_URI. */
export function parseContact(value: string): ContactValue {
  if (value.trim() === '*') return { star: true };
  return { star: false, ...parseNameAddr(value) };
}

/** Largest delta-seconds value we keep (RFC 3261 §20.19 / §20.10: 32-bit). */
export const MAX_DELTA_SECONDS = 0xffffffff;

/** RFC 3261 §20.10: "Malformed values SHOULD be treated as equivalent to 3600." */
export const MALFORMED_EXPIRES = 3600;

/** The `expires` parameter of a Contact in seconds, or undefined when absent (or `*`). */
export function contactExpires(c: ContactValue): number | undefined {
  if (c.star) return undefined;
  if (!c.params.has('expires')) return undefined;
  const v = c.params.get('expires');
  if (v === null || v === undefined || v.length === 0) return MALFORMED_EXPIRES;
  let n = 0;
  for (let i = 0; i < v.length; i++) {
    const d = v.charCodeAt(i) - 0x30;
    if (d < 0 || d > 9) return MALFORMED_EXPIRES;
    if (n <= MAX_DELTA_SECONDS) n = n * 10 + d;
  }
  return n > MAX_DELTA_SECONDS ? MAX_DELTA_SECONDS : n;
}

/** The `q` parameter of a Contact as a number in [0, 1], or undefined when absent. Throws BAD_HEADER when malformed. */
export function contactQ(c: ContactValue): number | undefined {
  if (c.star) return undefined;
  if (!c.params.has('q')) return undefined;
  const v = c.params.get('q');
  if (v === null || v === undefined || !isQValue(v)) {
    throw new SipError('BAD_HEADER', { detail: 'bad Contact: invalid q value' });
  }
  return Number(v);
}

function isQValue(v: string): boolean {
  const n = v.length;
  if (n === 0 || n > 5) return false;
  const first = v.charCodeAt(0);
  if (first !== 0x30 && first !== 0x31) return false;
  if (n === 1) return true;
  if (v.charCodeAt(1) !== 0x2e) return false;
  for (let i = 2; i < n; i++) {
    const c = v.charCodeAt(i);
    if (first === 0x31 ? c !== 0x30 : c < 0x30 || c > 0x39) return false;
  }
  return true;
}
