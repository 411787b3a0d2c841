/**
 * CSeq (RFC 3261 §20.16, §8.1.1.5).
 *
 * Conformance: `1*DIGIT LWS Method`; the number must be below 2**31 (RFC 4475 scalar02/scalarlg
 * are rejected); leading zeros allowed (RFC 4475 wsinv `0009`); the method is a case-sensitive
 * token (RFC 3261 §7.1). Whether it matches the request method is the parser's check.
 */
import { SipError } from '../errors.js';
import type { CSeq } from '../types.js';
import { isWs, parseDigits, scanToken, skipWs } from '../syntax.js';

/** RFC 3261 §8.1.1.5: "The sequence number value MUST be expressible as a 32-bit unsigned integer and MUST be less than 2**31." */
export const MAX_CSEQ = 2 ** 31 - 1;

function bad(why: string): SipError {
  return new SipError('BAD_HEADER', { detail: `bad CSeq: ${why}` });
}

/** Parse a CSeq value. Throws `SipError('BAD_HEADER')`. */
export function parseCSeq(value: string): CSeq {
  const n = value.length;
  let i = skipWs(value, 0);
  const s = i;
  while (i < n) {
    const c = value.charCodeAt(i);
    if (c < 0x30 || c > 0x39) break;
    i++;
  }
  if (i === s) throw bad('missing sequence number');
  const seq = parseDigits(value, s, i, 10);
  if (seq < 0 || seq > MAX_CSEQ) throw bad('sequence number out of range');
  if (i >= n || !isWs(value.charCodeAt(i))) throw bad('expected whitespace before method');
  i = skipWs(value, i);
  const m = i;
  i = scanToken(value, i);
  if (i === m) throw bad('missing method');
  const method = value.slice(m, i);
  if (skipWs(value, i) !== n) throw bad('unexpected text after method');
  return { seq, method };
}

export function formatCSeq(cseq: CSeq): string {
  return `${cseq.seq} ${cseq.method}`;
}
