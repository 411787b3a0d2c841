/**
 * Who must authenticate, and as whom (RFC 3261 §22, §10.3 steps 3–4, §16.3).
 *
 * - REGISTER: always challenged with 401 (the registrar is a UAS, §22.1); the authenticated user
 *   must own the address-of-record (403 otherwise).
 * - Other requests whose From claims a user of a local domain: challenged with 407 (we act as a
 *   proxy, §22.3); the authenticated user must be that user (403 otherwise).
 * - Trusted peers (IP/CIDR, gateways) and lab mode (`auth: off`) skip the challenge.
 * - A user marked as acting for a gateway authenticates, then may use any From (phone numbers).
 * DEVIATION(RFC 3261 §22.3): in-dialog requests (To-tag present), ACK and CANCEL are not
 *   challenged — ACK and CANCEL cannot be (§22.1: "CANCEL ... cannot be challenged"), and the
 *   dialog was authorized when it was created; Kamailio's default script does the same.
 */
import type { Logger } from 'pino';
import type { IncomingRequest } from '../stack/port.js';
import { SipError, isSipUri, parseAuthParams } from '../sip/index.js';
import type { DigestAuthenticator } from './authenticator.js';

/** The identity a request was accepted under. */
export type RequestIdentity =
  | { kind: 'user'; user: string; domain: string }
  | { kind: 'trusted-peer'; address: string }
  /** A digest user acting for a telephony gateway: its From may name any number. */
  | { kind: 'gateway'; user: string; domain: string }
  | { kind: 'lab'; user: string | undefined; domain: string | undefined }
  | { kind: 'none' };

export interface OwnedAddress {
  user: string;
  domain: string;
}

export interface RequestGuardOptions {
  /** Undefined in lab mode (`auth: off`): nobody is challenged. */
  authenticator: DigestAuthenticator | undefined;
  /** Canonical local domain of a host, or undefined when the host is not ours. */
  localDomainOf(host: string): string | undefined;
  /** A fixed realm for every challenge; by default the user's domain. */
  realm?: string;
  /** True when an authenticated user acts for a gateway (its From may be any number). */
  isGatewayUser?(user: string, domain: string): boolean;
  logger: Logger;
}

export class RequestGuard {
  readonly #o: RequestGuardOptions;
  readonly #log: Logger;
  readonly #decided = new WeakMap<IncomingRequest, Promise<RequestIdentity>>();

  constructor(options: RequestGuardOptions) {
    this.#o = options;
    this.#log = options.logger.child({ component: 'auth' });
  }

  get labMode(): boolean {
    return this.#o.authenticator === undefined;
  }

  /** §10.3 steps 3–4 for a REGISTER of `aor`; throws 401/403. */
  async authorizeRegistration(request: IncomingRequest, aor: OwnedAddress): Promise<void> {
    const auth = this.#o.authenticator;
    if (!auth) return;
    const identity = await this.#authenticate(request, aor.domain, false);
    if (identity.user !== aor.user || identity.domain !== aor.domain) {
      this.#log.info({ user: `${identity.user}@${identity.domain}`, aor: `${aor.user}@${aor.domain}`, source: request.source.address }, 'REGISTER for an address the user does not own');
      throw new SipError('FORBIDDEN', { detail: 'not the owner of this address-of-record' });
    }
  }

  /**
   * The identity of a non-REGISTER request; throws 407/403 when a local From is not proven.
   * Decided once per request: asking again (the router tries a local user, then a gateway)
   * returns the same answer — verifying the credentials twice would spend their nonce-count
   * twice and turn a good request into a replay (RFC 7616 §3.4.5).
   */
  authorizeRequest(request: IncomingRequest): Promise<RequestIdentity> {
    let decided = this.#decided.get(request);
    if (!decided) {
      decided = this.#authorizeRequest(request);
      this.#decided.set(request, decided);
    }
    return decided;
  }

  async #authorizeRequest(request: IncomingRequest): Promise<RequestIdentity> {
    const msg = request.message;
    const from = msg.from.uri;
    const fromDomain = isSipUri(from) ? this.#o.localDomainOf(from.host) : undefined;
    const fromUser = isSipUri(from) ? from.user : undefined;
    const auth = this.#o.authenticator;
    if (!auth) return { kind: 'lab', user: fromUser, domain: fromDomain };
    if (auth.isTrustedPeer(request.source.address)) return { kind: 'trusted-peer', address: request.source.address };
    if (fromDomain === undefined) return { kind: 'none' };
    const method = msg.method;
    if (method === 'ACK' || method === 'CANCEL' || msg.to.params.get('tag') != null) return { kind: 'none' };
    const identity = await this.#authenticate(request, fromDomain, true);
    // The authenticated user "must own the From" (RFC 3261 §22.3 leaves the policy to the proxy)
    // — except a gateway's user, which sends on behalf of phone numbers (issue 4 item 4).
    if (identity.user !== fromUser || identity.domain !== fromDomain) {
      if (this.#o.isGatewayUser?.(identity.user, identity.domain)) return { kind: 'gateway', user: identity.user, domain: identity.domain };
      this.#log.info({ user: `${identity.user}@${identity.domain}`, from: `${fromUser ?? ''}@${fromDomain}`, method }, 'From does not match the authenticated user');
      throw new SipError('FORBIDDEN', { detail: 'From does not match the authenticated user' });
    }
    return { kind: 'user', user: identity.user, domain: identity.domain };
  }

  /** Whether `address` is a trusted peer (gateways). */
  isTrustedPeer(address: string): boolean {
    return this.#o.authenticator?.isTrustedPeer(address) ?? false;
  }

  async #authenticate(request: IncomingRequest, realm: string, proxy: boolean): Promise<{ user: string; domain: string }> {
    const auth = this.#o.authenticator!;
    const msg = request.message;
    const challengeRealm = this.#o.realm ?? realm;
    const result = await auth.verify(msg, challengeRealm, { proxy });
    // Credentials name the user; the domain is the one being claimed (a fixed realm may span domains).
    if (result.ok) {
      if (proxy) consumeCredentials(msg, challengeRealm);
      return { user: result.user, domain: realm };
    }
    if (result.reason !== 'missing') {
      this.#log.info({ reason: result.reason, method: msg.method, callId: msg.callId, source: request.source.address }, 'authentication failed');
    }
    // A user who gave credentials for an unknown name gets a plain 403 (§22.1 leaves it open;
    // a fresh challenge would loop a client that cannot change its username).
    if (result.reason === 'unknown-user') throw new SipError('FORBIDDEN', { detail: 'unknown user' });
    throw new SipError(proxy ? 'PROXY_AUTH_REQUIRED' : 'UNAUTHORIZED', {
      // A user whose secrets exist for fewer algorithms (an MD5-only HA1) is offered just those.
      headers: auth.challenge(challengeRealm, { proxy, stale: result.stale, ...(result.algorithms ? { algorithms: result.algorithms } : {}) }),
    });
  }
}

/**
 * Remove the Proxy-Authorization credentials for our own realm once they were accepted: the
 * next hop has no use for them, and the callee should not receive the caller's digest (Kamailio's
 * consume_credentials). RFC 3261 §22.3 keeps credentials for other realms: "the proxy MUST NOT
 * modify" those meant for proxies further along.
 */
function consumeCredentials(msg: IncomingRequest['message'], realm: string): void {
  const values = msg.getAll('proxy-authorization');
  const others = values.filter((v) => {
    try {
      return parseAuthParams(v).params.get('realm') !== realm;
    } catch {
      return true;
    }
  });
  if (others.length === values.length) return;
  msg.remove('proxy-authorization');
  for (const v of others) msg.append('proxy-authorization', v);
}
