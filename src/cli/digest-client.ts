/**
 * The client side of HTTP Digest (RFC 7616 §3.4) for `herald rules --user-password`: answers a
 * server's challenge with MD5 or SHA-256 (and their -sess variants), qop=auth or no qop.
 *
 * Conformance: the first challenge (the server's most preferred, RFC 7616 §3.7) whose algorithm we
 * support is answered; qop=auth-int is not (the server never offers it alone); userhash is not
 * sent; `opaque` is echoed (RFC 7616 §3.4: "the client MUST return it unchanged").
 */
import { randomBytes } from 'node:crypto';
import { computeHa1, computeResponse, parseDigestAlgorithm } from '../auth/index.js';
import { CREDENTIALS_QUOTED_PARAMS, formatAuthParams } from '../sip/index.js';
import type { Challenge } from './www-authenticate.js';

export interface DigestAnswerInput {
  readonly challenges: readonly Challenge[];
  readonly method: string;
  /** The request-target exactly as sent (path and query). */
  readonly uri: string;
  readonly username: string;
  readonly password: string;
  /** For tests; default 16 random bytes in hex. */
  readonly cnonce?: string;
}

/** The Authorization value answering the first usable Digest challenge, or undefined when none is. */
export function answerDigest(input: DigestAnswerInput): string | undefined {
  for (const ch of input.challenges) {
    if (ch.scheme.toLowerCase() !== 'digest') continue;
    const realm = ch.params.get('realm');
    const nonce = ch.params.get('nonce');
    if (realm === undefined || nonce === undefined) continue;
    // RFC 7616 §3.3: "If this is not present, it is assumed to be "MD5"."
    const algorithm = parseDigestAlgorithm(ch.params.get('algorithm') ?? 'MD5');
    if (algorithm === undefined) continue;
    const qopOptions = ch.params.get('qop');
    const offersAuth = qopOptions === undefined ? false : qopOptions.split(',').some((q) => q.trim().toLowerCase() === 'auth');
    if (qopOptions !== undefined && !offersAuth) continue;
    // RFC 3261 §22.4 item 8: "any algorithms that have a dependency on the cnonce (including
    // "MD5-Sess") require that the qop directive be sent."
    if (!offersAuth && (algorithm === 'MD5-sess' || algorithm === 'SHA-256-sess')) continue;
    const cnonce = input.cnonce ?? randomBytes(16).toString('hex');
    const nc = '00000001';
    const ha1 = computeHa1(algorithm, input.username, realm, input.password);
    const response = offersAuth
      ? computeResponse({ algorithm, ha1, method: input.method, uri: input.uri, nonce, qop: 'auth', nc, cnonce })
      : computeResponse({ algorithm, ha1, method: input.method, uri: input.uri, nonce });
    const params = new Map<string, string>([
      ['username', input.username], ['realm', realm], ['nonce', nonce], ['uri', input.uri], ['algorithm', algorithm],
    ]);
    if (offersAuth) {
      params.set('qop', 'auth');
      params.set('nc', nc);
      params.set('cnonce', cnonce);
    }
    params.set('response', response);
    const opaque = ch.params.get('opaque');
    if (opaque !== undefined) params.set('opaque', opaque);
    return formatAuthParams({ scheme: 'Digest', params }, CREDENTIALS_QUOTED_PARAMS);
  }
  return undefined;
}
