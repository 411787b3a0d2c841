/**
 * Where a request goes when nobody named a destination: the first Route, else the
 * Request-URI (RFC 3261 §8.1.2, §16.6 step 7), turned into the ordered list of transport
 * addresses RFC 3263 §4.3 asks the client to try in turn.
 *
 * - With a locator (src/dns, the composition root always gives one): NAPTR -> SRV -> A/AAAA,
 *   numeric hosts and explicit ports/transports as RFC 3263 §4.1/§4.2 say.
 * - `localhost` is loopback without asking DNS (RFC 6761 §6.3: "name resolution APIs and
 *   libraries SHOULD recognize localhost names as special and SHOULD always return the IP
 *   loopback address").
 * - When the operator configured no DNS servers (the system's resolvers are used) and DNS knows
 *   no SIP server for a name, or cannot be reached, the system's own name lookup (getaddrinfo:
 *   /etc/hosts...) gets a last say, UDP/5060 unless the URI says otherwise, like any other
 *   host-only lookup; when that fails too, the DNS answer (404 or 503) stands.
 * - Without a locator (stacks built directly in tests): the system's name lookup only.
 */
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { SipError, isSipError, isSipUri, type NameAddr, type Uri } from '../../sip/index.js';
import type { TransportAddress, TransportKind } from '../port.js';

export interface NextHop {
  address: TransportAddress;
  /** True when the URI fixed the transport (then the 1300-byte rule must not switch it). */
  explicitTransport: boolean;
}

/** The RFC 3263 locator as the stack uses it (src/dns Locator fits). */
export interface ServerLocator {
  locate(uri: Uri): Promise<ReadonlyArray<{ transport: 'udp' | 'tcp' | 'tls'; address: string; port: number }>>;
}

export interface NextHopOptions {
  locator?: ServerLocator;
  /** Fall back to the system's name lookup when DNS has no SIP server for a name. */
  systemFallback?: boolean;
}

/** The URI a request goes to: its first Route if any (loose routing), else the Request-URI. */
export function nextHopUri(requestUri: Uri, routes: readonly NameAddr[]): Uri {
  return routes.length > 0 ? routes[0]!.uri : requestUri;
}

/** Every next hop for `uri`, in the order to try them (never empty: it throws instead). */
export async function resolveNextHops(uri: Uri, options: NextHopOptions = {}): Promise<NextHop[]> {
  if (!isSipUri(uri)) throw new SipError('UNSUPPORTED_URI_SCHEME', { detail: `cannot route to ${uri.scheme}: URI` });
  const param = uri.params.get('transport');
  let transport: TransportKind = uri.scheme === 'sips' ? 'tls' : 'udp';
  let explicitTransport = uri.scheme === 'sips';
  if (param) {
    const t = param.toLowerCase();
    if (t !== 'udp' && t !== 'tcp' && t !== 'tls' && t !== 'ws' && t !== 'wss') {
      throw new SipError('SERVICE_UNAVAILABLE', { detail: `unsupported transport ${param}` });
    }
    transport = t;
    explicitTransport = true;
  }
  if (transport !== 'udp' && transport !== 'tcp') {
    throw new SipError('SERVICE_UNAVAILABLE', { detail: `transport ${transport} not available` });
  }
  // RFC 3261 §19.1.1: maddr "overrides the address deduced from the host field".
  const maddr = uri.params.get('maddr');
  let host = maddr ?? uri.host;
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  const port = uri.port ?? 5060;
  if (isIP(host) !== 0) return [{ address: { transport, address: host, port }, explicitTransport }];
  if (host.toLowerCase() === 'localhost' || host.toLowerCase().endsWith('.localhost')) {
    return [{ address: { transport, address: '127.0.0.1', port }, explicitTransport }];
  }
  let dnsError: unknown;
  if (options.locator) {
    try {
      const targets = await options.locator.locate(uri);
      const hops: NextHop[] = [];
      for (const t of targets) {
        // The stack speaks UDP and TCP; a TLS-only target is skipped (the locator is told so).
        if (t.transport === 'udp' || t.transport === 'tcp') {
          hops.push({ address: { transport: t.transport, address: t.address, port: t.port }, explicitTransport: explicitTransport || t.transport === 'tcp' });
        }
      }
      if (hops.length > 0) return hops;
      throw new SipError('DNS_NAME_NOT_FOUND', { detail: `${host}: no server on a transport we speak` });
    } catch (err) {
      const dnsAnswer = isSipError(err) && (err.code === 'DNS_NAME_NOT_FOUND' || err.code === 'DNS_FAILURE');
      if (!(options.systemFallback && dnsAnswer)) throw err;
      dnsError = err;
    }
  }
  try {
    const found = await lookup(host);
    return [{ address: { transport, address: found.address, port }, explicitTransport }];
  } catch (err) {
    // The DNS answer (404 or 503) says more than getaddrinfo's failure after it.
    throw dnsError ?? new SipError('DNS_NAME_NOT_FOUND', { detail: `cannot resolve ${host}`, cause: err });
  }
}
