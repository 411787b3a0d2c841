/**
 * Where a request goes when nobody named a destination: the first Route, else the
 * Request-URI (RFC 3261 §8.1.2, §16.6 step 7), turned into a transport address.
 *
 * DEVIATION(RFC 3263 §4): until the RFC 3263 locator (src/dns) lands, a host name is resolved
 * with the system resolver (A/AAAA only, no NAPTR/SRV), port 5060 and UDP unless the URI says
 * otherwise. IP literals and explicit ports/transports already follow RFC 3263 §4.1/§4.2.
 */
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { SipError, isSipUri, type NameAddr, type Uri } from '../../sip/index.js';
import type { TransportAddress, TransportKind } from '../port.js';

export interface NextHop {
  address: TransportAddress;
  /** True when the URI fixed the transport (then the 1300-byte rule must not switch it). */
  explicitTransport: boolean;
}

/** The URI a request goes to: its first Route if any (loose routing), else the Request-URI. */
export function nextHopUri(requestUri: Uri, routes: readonly NameAddr[]): Uri {
  return routes.length > 0 ? routes[0]!.uri : requestUri;
}

export async function resolveNextHop(uri: Uri): Promise<NextHop> {
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
  let address = host;
  if (isIP(host) === 0) {
    try {
      address = (await lookup(host)).address;
    } catch (err) {
      throw new SipError('NOT_FOUND', { detail: `cannot resolve ${host}`, cause: err });
    }
  }
  return { address: { transport, address, port: uri.port ?? 5060 }, explicitTransport };
}
