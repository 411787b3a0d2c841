/**
 * Telephony gateways (issue 4 item 4): which gateway serves a phone number, and who speaks for a
 * gateway.
 *
 * - A number is a `tel:` URI (RFC 3966) or the user part of a `sip:` URI that is all digits with
 *   an optional leading `+` once RFC 3966 visual separators (`-`, `.`, `(`, `)`) are removed
 *   (RFC 3261 §19.1.1: `user=phone` marks such a user part, but clients often omit it).
 * - The gateway whose prefix is the longest match serves the number; a gateway without prefixes
 *   serves every number, after every gateway with a matching prefix. Ties go to the gateway
 *   listed first.
 * - The branch goes to `sip:NUMBER@<gateway host:port>;user=phone` with the gateway URI's
 *   parameters (transport...): RFC 3261 §19.1.6 maps a tel URL to a SIP URI this way.
 * DEVIATION(RFC 3966 §5.1.5): local numbers (no `+`) are matched as written; their
 *   phone-context is not interpreted. Configure prefixes in the form your users dial.
 */
import { CidrSet } from '../auth/index.js';
import { SipError, isSipUri, isTelUri, parseUri, telDigits, type SipUri, type Uri } from '../sip/index.js';

/** A gateway from the configuration (GatewayConfig). */
export interface GatewayDefinition {
  name: string;
  uri: string;
  prefixes: readonly string[];
  peers: readonly string[];
  /** `user` or `user@domain`. */
  users: readonly string[];
}

export interface Gateway {
  readonly name: string;
  readonly uri: SipUri;
  readonly prefixes: readonly string[];
  readonly peers: CidrSet;
}

export class GatewayRoutes {
  readonly #gateways: readonly Gateway[];
  /** AOR keys (`user@domain`) of digest users acting for a gateway. */
  readonly #users: ReadonlySet<string>;

  /**
   * `defaultDomain` completes a gateway user given without a domain. Throws RangeError naming
   * the gateway when its URI or peers do not parse.
   */
  constructor(definitions: readonly GatewayDefinition[], defaultDomain: string) {
    const users = new Set<string>();
    this.#gateways = definitions.map((d) => {
      let uri: Uri;
      try {
        uri = parseUri(d.uri);
      } catch (err) {
        throw new RangeError(`gateways ${d.name}: uri ${d.uri} is not a SIP URI`, { cause: err });
      }
      if (!isSipUri(uri) || uri.user !== undefined) throw new RangeError(`gateways ${d.name}: uri must be sip:HOST[:PORT][;params] without a user part`);
      let peers: CidrSet;
      try {
        peers = new CidrSet(d.peers);
      } catch (err) {
        throw new RangeError(`gateways ${d.name}: ${(err as Error).message}`, { cause: err });
      }
      for (const u of d.users) users.add((u.includes('@') ? u : `${u}@${defaultDomain}`).toLowerCase());
      return { name: d.name, uri, prefixes: [...d.prefixes], peers };
    });
    this.#users = users;
  }

  get size(): number {
    return this.#gateways.length;
  }

  /** The gateway serving `number`, or undefined when none does. */
  forNumber(number: string): Gateway | undefined {
    let best: Gateway | undefined;
    let bestLength = -1;
    for (const gw of this.#gateways) {
      if (gw.prefixes.length === 0) {
        if (bestLength < 0) { best = gw; bestLength = 0; }
        continue;
      }
      for (const p of gw.prefixes) {
        if (p.length > bestLength && number.startsWith(p)) { best = gw; bestLength = p.length; }
      }
    }
    return best;
  }

  /** The gateway whose peers cover `address` (a packet's source IP). */
  peerGateway(address: string): Gateway | undefined {
    return this.#gateways.find((gw) => gw.peers.contains(address));
  }

  /** True when the authenticated `user@domain` acts for a gateway (its From may be any number). */
  isGatewayUser(user: string, domain: string): boolean {
    return this.#users.size > 0 && this.#users.has(`${user}@${domain}`.toLowerCase());
  }

  /** RFC 3261 §19.1.6: the SIP URI of `number` at `gateway` (`user=phone`). */
  targetUri(gateway: Gateway, number: string): SipUri {
    const params = new Map(gateway.uri.params);
    params.set('user', 'phone');
    return { scheme: gateway.uri.scheme, user: number, password: undefined, host: gateway.uri.host, port: gateway.uri.port, params, headers: new Map() };
  }
}

/**
 * The phone number a URI names: a tel: URI's number, or a sip: user part that is a number, with
 * visual separators removed; undefined otherwise.
 */
export function phoneNumberOf(uri: Uri): string | undefined {
  let raw: string | undefined;
  if (isTelUri(uri)) raw = uri.number;
  else if (isSipUri(uri) && uri.user !== undefined) {
    // RFC 3261 §19.1.1: with user=phone the user part is a telephone-subscriber, which may carry
    // its own ;parameters after the number.
    const semi = uri.user.indexOf(';');
    raw = semi < 0 ? uri.user : uri.user.slice(0, semi);
  }
  if (raw === undefined) return undefined;
  const out = telDigits(raw);
  // What is left must be digits, with a leading + for a global number.
  for (let i = out.startsWith('+') ? 1 : 0; i < out.length; i++) {
    const c = out.charCodeAt(i);
    if (c < 48 || c > 57) return undefined;
  }
  const digits = out.startsWith('+') ? out.length - 1 : out.length;
  return digits > 0 ? out : undefined;
}

/** A SipError for a number no gateway serves (RFC 3261 §21.4.5: 404 "does not exist at the domain"). */
export function noRouteToNumber(number: string): SipError {
  return new SipError('NOT_FOUND', { detail: `no gateway serves ${number}` });
}
