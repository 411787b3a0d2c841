/**
 * Digest computations (RFC 7616 §3.4.1-§3.4.3, RFC 2617 §3.2.2, RFC 3261 §22.4, RFC 8760 §2):
 * pure functions, no state.
 *
 * Conformance:
 * - algorithms MD5, MD5-sess, SHA-256, SHA-256-sess (names compared case-insensitively).
 *   SHA-512-256 is not supported (Node's OpenSSL may lack it and no SIP client we target sends
 *   it); a challenge never offers it, so no MUST is broken.
 * - qop `auth`, `auth-int` (the body hash H(entity-body); an empty body hashes the empty string,
 *   RFC 3261 §22.4 item 7) and no qop (RFC 2069 / RFC 2617 compatibility: H(HA1:nonce:HA2)).
 * - comparisons of digests in constant time (crypto.timingSafeEqual).
 */
import { createHash, timingSafeEqual } from 'node:crypto';

export type DigestAlgorithm = 'MD5' | 'MD5-sess' | 'SHA-256' | 'SHA-256-sess';
export type DigestQop = 'auth' | 'auth-int';

const ALGORITHMS: ReadonlyMap<string, DigestAlgorithm> = new Map<string, DigestAlgorithm>([
  ['md5', 'MD5'], ['md5-sess', 'MD5-sess'], ['sha-256', 'SHA-256'], ['sha-256-sess', 'SHA-256-sess'],
]);

/** The canonical algorithm name for `name` (case-insensitive), or undefined when unsupported. */
export function parseDigestAlgorithm(name: string): DigestAlgorithm | undefined {
  return ALGORITHMS.get(name.toLowerCase());
}

/** The hash function an algorithm uses: `md5` or `sha256`. */
export function hashOf(algorithm: DigestAlgorithm): 'md5' | 'sha256' {
  return algorithm === 'MD5' || algorithm === 'MD5-sess' ? 'md5' : 'sha256';
}

/** True for the `-sess` variants. */
export function isSessionAlgorithm(algorithm: DigestAlgorithm): boolean {
  return algorithm === 'MD5-sess' || algorithm === 'SHA-256-sess';
}

/** Length in hex digits of the algorithm's digests: 32 for MD5, 64 for SHA-256. */
export function digestLength(algorithm: DigestAlgorithm): number {
  return hashOf(algorithm) === 'md5' ? 32 : 64;
}

/** H(data) as lower-case hex (RFC 7616 §3.4: "the string obtained by applying the hash"). */
export function digestHash(algorithm: DigestAlgorithm, data: string | Buffer): string {
  return createHash(hashOf(algorithm)).update(data).digest('hex');
}

/**
 * HA1 = H(username ":" realm ":" passwd) (RFC 7616 §3.4.2). For the `-sess` variants this is the
 * stored base value; computeResponse derives the session key H(HA1:nonce:cnonce) from it.
 */
export function computeHa1(algorithm: DigestAlgorithm, username: string, realm: string, password: string): string {
  return digestHash(algorithm, `${username}:${realm}:${password}`);
}

export interface DigestResponseInput {
  algorithm: DigestAlgorithm;
  /** H(username:realm:password), lower-case hex. */
  ha1: string;
  method: string;
  /** The digest-uri exactly as the client sent it in `uri=`. */
  uri: string;
  nonce: string;
  /** Absent: the RFC 2069 form without nc/cnonce. */
  qop?: DigestQop;
  /** The nc value exactly as sent (8 hex digits). Required with qop. */
  nc?: string;
  /** Required with qop and with the `-sess` algorithms. */
  cnonce?: string;
  /** The message body, for qop=auth-int. */
  body?: Buffer;
}

/**
 * The request-digest (RFC 7616 §3.4.1):
 *   response = KD(H(A1), nonce ":" nc ":" cnonce ":" qop ":" H(A2))    with qop
 *   response = KD(H(A1), nonce ":" H(A2))                               without (RFC 2617 §3.2.2.1)
 * with KD(secret, data) = H(secret ":" data), A2 = method ":" uri (qop=auth or none) or
 * method ":" uri ":" H(entity-body) (qop=auth-int), and for `-sess`
 * A1 = H(username:realm:passwd) ":" nonce ":" cnonce (RFC 7616 §3.4.2).
 * Throws TypeError when qop or -sess is asked for without nc/cnonce (a caller bug).
 */
export function computeResponse(input: DigestResponseInput): string {
  const { algorithm, method, uri, nonce, qop } = input;
  let ha1 = input.ha1.toLowerCase();
  if (isSessionAlgorithm(algorithm)) {
    if (input.cnonce === undefined) throw new TypeError(`${algorithm} needs a cnonce`);
    ha1 = digestHash(algorithm, `${ha1}:${nonce}:${input.cnonce}`);
  }
  const ha2 = qop === 'auth-int'
    ? digestHash(algorithm, `${method}:${uri}:${digestHash(algorithm, input.body ?? '')}`)
    : digestHash(algorithm, `${method}:${uri}`);
  if (qop === undefined) return digestHash(algorithm, `${ha1}:${nonce}:${ha2}`);
  if (input.nc === undefined || input.cnonce === undefined) throw new TypeError(`qop=${qop} needs nc and cnonce`);
  return digestHash(algorithm, `${ha1}:${nonce}:${input.nc}:${input.cnonce}:${qop}:${ha2}`);
}

/**
 * Compare two hex digests in constant time (for equal lengths; the length is not secret).
 * Case-insensitive: RFC 7616 asks for lower-case hex, some clients send upper-case.
 */
export function digestEquals(expected: string, received: string): boolean {
  if (expected.length !== received.length) return false;
  const a = Buffer.from(expected.toLowerCase(), 'latin1');
  const b = Buffer.from(received.toLowerCase(), 'latin1');
  // Buffer.from(latin1) keeps one byte per UTF-16 unit, so equal string lengths give equal buffers.
  return a.length === b.length && timingSafeEqual(a, b);
}
