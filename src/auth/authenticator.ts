/**
 * Digest authentication for a registrar, UAS or proxy (RFC 3261 §22, RFC 7616, RFC 8760):
 * build challenges, verify credentials, and recognise trusted peers. Mechanical only: which
 * requests must authenticate, and whether the user may use the AOR, is the caller's policy.
 *
 * Conformance:
 * - challenges: one WWW-Authenticate (401) or Proxy-Authenticate (407) per configured algorithm,
 *   most preferred first, sharing one nonce; every challenge carries qop="auth" (RFC 8760 §1: it
 *   "adds required support for the "qop" parameter"). No opaque or domain is sent (both optional).
 * - credentials: MD5, SHA-256 and their -sess variants when configured; qop auth, auth-int, and
 *   none (RFC 2069 form, then the nonce is single-use since there is no nc to track).
 * - `stale=true` is asked for only when the digest was right for a nonce we no longer accept
 *   (expired, replayed nc, or not ours, e.g. issued before a restart) — RFC 2617 §3.2.1: "The server
 *   should only set stale to TRUE if it receives a request for which the nonce is invalid but with
 *   a valid digest for that nonce (indicating that the client knows the correct username/password)."
 * - not supported (all optional, so no MUST is broken): `userhash` (RFC 7616 §3.4.4; never offered,
 *   so credentials with userhash=true are bad-header), `username*` (RFC 8187 encoding; bad-header
 *   when it replaces `username`), Authentication-Info with rspauth/nextnonce (RFC 7616 §3.5),
 *   SHA-512-256.
 * - `uri` must name the Request-URI unless `checkDigestUri: false` (RFC 3261 §22.4 item 6 lets a
 *   SIP server accept a difference caused by retargeting).
 */
import type { Logger } from 'pino';
import type { Clock } from '../util/clock.js';
import type { AuthParams } from '../sip/index.js';
import { CHALLENGE_QUOTED_PARAMS, formatAuthParams, parseAuthParams } from '../sip/index.js';
import { CidrSet } from './cidr.js';
import type { CredentialSource, UserCredentials } from './credential-source.js';
import {
  computeHa1, computeResponse, digestEquals, hashOf, isSessionAlgorithm, parseDigestAlgorithm,
} from './digest.js';
import type { DigestAlgorithm, DigestQop } from './digest.js';
import { digestUriMatches } from './digest-uri.js';
import { NonceManager } from './nonce-manager.js';

export interface DigestAuthenticatorOptions {
  credentials: CredentialSource;
  clock: Clock;
  logger: Logger;
  /** Algorithms offered, most preferred first. Default ['SHA-256', 'MD5'] (RFC 8760 §2.3). */
  algorithms?: readonly DigestAlgorithm[];
  /** Nonce lifetime, ms. Default 300 000. */
  nonceTtlMs?: number;
  /** Peers not challenged (gateways, peer proxies): IPv4/IPv6 addresses or CIDR prefixes. */
  trustedPeers?: readonly string[];
  /** Bound on the nonce-count memory. Default 100 000 nonces. */
  maxTrackedNonces?: number;
  /** HMAC key for nonces; share it between nodes that answer for one another. Default random. */
  nonceSecret?: Buffer;
  /**
   * Refuse credentials whose `uri` does not name the Request-URI (reason `uri-mismatch`).
   * Default true. RFC 3261 §22.4 item 6 allows a server not to treat a difference as a failure
   * (a proxy may have retargeted the request); turn this off for such deployments.
   */
  checkDigestUri?: boolean;
}

/** What verify needs of a request: the raw header lines as in SipMessage.headers. */
export interface AuthRequest {
  method: string;
  /** The Request-URI as it appears on the request line. */
  uriText: string;
  body?: Buffer;
  headers: ReadonlyArray<{ name: string; value: string }>;
}

export type AuthFailureReason =
  | 'missing' | 'unknown-user' | 'bad-response' | 'stale' | 'replay' | 'bad-header'
  | 'realm-mismatch' | 'uri-mismatch' | 'algorithm-unavailable';

export type AuthResult =
  | { ok: true; user: string; realm: string }
  | {
    ok: false;
    reason: AuthFailureReason;
    /** Challenge again with stale=true (the client knows the password; RFC 7616 §3.3). */
    stale: boolean;
    /**
     * With `algorithm-unavailable`: the offered algorithms this user has secrets for (a user
     * configured with an MD5 HA1 only answered a SHA-256 challenge). Challenge again with
     * `{ algorithms, stale: true }` so the client retries without prompting its user.
     */
    algorithms?: readonly DigestAlgorithm[];
  };

export interface ChallengeOptions {
  /** true: Proxy-Authenticate (for a 407); false: WWW-Authenticate (for a 401). */
  proxy: boolean;
  stale?: boolean;
  /** Restrict to these algorithms (kept in our preference order); default all configured. */
  algorithms?: readonly DigestAlgorithm[];
}

const HEX8 = /^[0-9a-fA-F]{1,8}$/;

/** True when the credentials' scheme (the first token, after LWS) is Digest, case-insensitively. */
function isDigestScheme(value: string): boolean {
  let i = 0;
  while (i < value.length && (value[i] === ' ' || value[i] === '\t' || value[i] === '\r' || value[i] === '\n')) i++;
  if (value.slice(i, i + 6).toLowerCase() !== 'digest') return false;
  const next = value.charCodeAt(i + 6);
  return Number.isNaN(next) || next === 0x20 || next === 0x09 || next === 0x0d || next === 0x0a;
}

export class DigestAuthenticator {
  readonly #credentials: CredentialSource;
  readonly #logger: Logger;
  readonly #algorithms: readonly DigestAlgorithm[];
  readonly #nonces: NonceManager;
  readonly #trusted: CidrSet;
  readonly #checkUri: boolean;

  constructor(options: DigestAuthenticatorOptions) {
    this.#credentials = options.credentials;
    this.#logger = options.logger.child({ component: 'auth' });
    const algorithms = options.algorithms ?? ['SHA-256', 'MD5'];
    if (algorithms.length === 0) throw new RangeError('auth.algorithms must name at least one algorithm');
    const seen = new Set<DigestAlgorithm>();
    for (const a of algorithms) {
      const canonical = typeof a === 'string' ? parseDigestAlgorithm(a) : undefined;
      if (canonical !== a) throw new RangeError(`auth.algorithms: unsupported algorithm "${String(a)}" (MD5, MD5-sess, SHA-256, SHA-256-sess)`);
      if (seen.has(a)) throw new RangeError(`auth.algorithms: "${a}" listed twice`);
      seen.add(a);
    }
    this.#algorithms = Object.freeze([...algorithms]);
    const nonceOptions: ConstructorParameters<typeof NonceManager>[0] = { clock: options.clock };
    if (options.nonceTtlMs !== undefined) nonceOptions.ttlMs = options.nonceTtlMs;
    if (options.maxTrackedNonces !== undefined) nonceOptions.maxTrackedNonces = options.maxTrackedNonces;
    if (options.nonceSecret !== undefined) nonceOptions.secret = options.nonceSecret;
    this.#nonces = new NonceManager(nonceOptions);
    try {
      this.#trusted = new CidrSet(options.trustedPeers ?? []);
    } catch (err) {
      throw new RangeError(`auth.trustedPeers: ${(err as Error).message}`, { cause: err });
    }
    this.#checkUri = options.checkDigestUri ?? true;
  }

  /** The algorithms offered, most preferred first. */
  get algorithms(): readonly DigestAlgorithm[] {
    return this.#algorithms;
  }

  /** True when `address` (the packet's source IP) is covered by `trustedPeers`. */
  isTrustedPeer(address: string): boolean {
    return this.#trusted.contains(address);
  }

  /**
   * The challenge headers for a 401 (WWW-Authenticate) or 407 (Proxy-Authenticate), one per
   * algorithm. RFC 8760 §2.3: "The UAS MUST add these header fields to the response in the order
   * that it would prefer to see them used, starting with the most preferred algorithm at the top."
   */
  challenge(realm: string, options: ChallengeOptions): Array<readonly [string, string]> {
    const name = options.proxy ? 'Proxy-Authenticate' : 'WWW-Authenticate';
    const wanted = options.algorithms;
    let algorithms = wanted ? this.#algorithms.filter((a) => wanted.includes(a)) : this.#algorithms;
    if (algorithms.length === 0) algorithms = this.#algorithms;
    const nonce = this.#nonces.issue(realm);
    const out: Array<readonly [string, string]> = [];
    for (const algorithm of algorithms) {
      const params = new Map<string, string>([
        ['realm', realm], ['nonce', nonce], ['algorithm', algorithm], ['qop', 'auth'],
      ]);
      if (options.stale) params.set('stale', 'true');
      const challenge: AuthParams = { scheme: 'Digest', params };
      out.push([name, formatAuthParams(challenge, CHALLENGE_QUOTED_PARAMS)] as const);
    }
    return out;
  }

  /**
   * Check the request's Authorization (or, with `proxy`, Proxy-Authorization) credentials for
   * `realm`. Never throws on client input; a failing CredentialSource rejects the promise.
   */
  async verify(request: AuthRequest, realm: string, options: { proxy: boolean }): Promise<AuthResult> {
    const headerName = options.proxy ? 'proxy-authorization' : 'authorization';
    let sawBad = false;
    let sawOtherRealm = false;
    let first: Map<string, string> | undefined;
    let preferred: Map<string, string> | undefined;
    for (const h of request.headers) {
      if (h.name !== headerName && (h.name.length !== headerName.length || h.name.toLowerCase() !== headerName)) continue;
      // RFC 3261 §22.1: Basic "MUST NOT be accepted"; other schemes (whose syntax may be a
      // token68, not auth-params) are not ours either.
      if (!isDigestScheme(h.value)) continue;
      let parsed: AuthParams;
      try {
        parsed = parseAuthParams(h.value);
      } catch {
        sawBad = true;
        continue;
      }
      const r = parsed.params.get('realm');
      if (r === undefined) {
        sawBad = true;
        continue;
      }
      // Credentials for another realm belong to another server on the path (RFC 3261 §22.3).
      if (r !== realm) {
        sawOtherRealm = true;
        continue;
      }
      // Several for our realm (a client answering more than one of our challenges): the first
      // whose algorithm we offer, else the first.
      first ??= parsed.params;
      const alg = parseDigestAlgorithm(parsed.params.get('algorithm') ?? 'MD5');
      if (alg !== undefined && this.#algorithms.includes(alg)) {
        preferred = parsed.params;
        break;
      }
    }
    const chosen = preferred ?? first;
    if (chosen === undefined) {
      return this.#fail(sawBad ? 'bad-header' : sawOtherRealm ? 'realm-mismatch' : 'missing', realm);
    }
    return this.#verifyCredentials(request, realm, chosen);
  }

  async #verifyCredentials(request: AuthRequest, realm: string, c: Map<string, string>): Promise<AuthResult> {
    const username = c.get('username');
    const nonce = c.get('nonce');
    const uri = c.get('uri');
    const response = c.get('response');
    if (username === undefined || nonce === undefined || uri === undefined || response === undefined) {
      return this.#fail('bad-header', realm, username);
    }
    const userhash = c.get('userhash');
    if (userhash !== undefined && userhash.toLowerCase() === 'true') return this.#fail('bad-header', realm, username);

    // RFC 2617 §3.2.1 (algorithm): "If this is not present it is assumed to be "MD5"."
    const algorithm = parseDigestAlgorithm(c.get('algorithm') ?? 'MD5');
    if (algorithm === undefined || !this.#algorithms.includes(algorithm)) return this.#fail('bad-header', realm, username);

    let qop: DigestQop | undefined;
    let nc: number | undefined;
    const qopText = c.get('qop');
    const ncText = c.get('nc');
    const cnonce = c.get('cnonce');
    if (qopText !== undefined) {
      const q = qopText.toLowerCase();
      if (q !== 'auth' && q !== 'auth-int') return this.#fail('bad-header', realm, username);
      qop = q;
      // With qop the client sends nc and cnonce (RFC 7616 §3.4; RFC 3261 §25.1 message-qop).
      if (ncText === undefined || cnonce === undefined || !HEX8.test(ncText)) return this.#fail('bad-header', realm, username);
      nc = parseInt(ncText, 16);
    }
    // RFC 3261 §22.4 item 8: "any algorithms that have a dependency on the cnonce (including
    // "MD5-Sess") require that the qop directive be sent."
    if (isSessionAlgorithm(algorithm) && qop === undefined) return this.#fail('bad-header', realm, username);

    // RFC 2617 §3.2.2.5 (kept by RFC 7616 §3.4.6): "The authenticating server must assure that the
    // resource designated by the "uri" directive is the same as the resource specified in the
    // Request-Line". RFC 3261 §22.4 item 6 relaxes this for SIP (see checkDigestUri).
    if (this.#checkUri && !digestUriMatches(uri, request.uriText)) return this.#fail('uri-mismatch', realm, username);

    const user = await this.#credentials.lookup(username, realm);
    if (user === undefined) return this.#fail('unknown-user', realm, username);
    const ha1 = this.#ha1For(user, algorithm, username, realm);
    if (ha1 === undefined) {
      const usable = this.#algorithms.filter((a) => this.#ha1For(user, a, username, realm) !== undefined);
      const result: AuthResult = { ok: false, reason: 'algorithm-unavailable', stale: usable.length > 0, algorithms: usable };
      this.#logger.debug({ realm, user: username, algorithm, usable }, 'digest: no secret for this algorithm');
      return result;
    }

    const input: Parameters<typeof computeResponse>[0] = { algorithm, ha1, method: request.method, uri, nonce };
    if (qop !== undefined) {
      input.qop = qop;
      input.nc = ncText;
      input.cnonce = cnonce;
    }
    if (request.body !== undefined) input.body = request.body;
    const expected = computeResponse(input);
    if (!digestEquals(expected, response)) return this.#fail('bad-response', realm, username);

    // Only now, with a correct digest, does the nonce state change (a forger cannot burn counts).
    switch (this.#nonces.use(nonce, realm, nc)) {
      case 'ok':
        this.#logger.debug({ realm, user: username, algorithm }, 'digest: authenticated');
        return { ok: true, user: username, realm };
      case 'stale':
      case 'invalid':
        return this.#fail('stale', realm, username, true);
      case 'replay':
        return this.#fail('replay', realm, username, true);
    }
  }

  /** The HA1 for `algorithm`: the stored one for its hash, else computed from the password. */
  #ha1For(user: UserCredentials, algorithm: DigestAlgorithm, username: string, realm: string): string | undefined {
    const stored = hashOf(algorithm) === 'md5' ? user.ha1?.md5 : user.ha1?.sha256;
    if (stored !== undefined) return stored;
    if (user.password !== undefined) return computeHa1(algorithm, username, realm, user.password);
    return undefined;
  }

  #fail(reason: AuthFailureReason, realm: string, user?: string, stale = false): AuthResult {
    this.#logger.debug({ realm, user, reason, stale }, 'digest: not authenticated');
    return { ok: false, reason, stale };
  }
}
