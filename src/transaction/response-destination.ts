/**
 * Where a server transaction sends its responses (RFC 3261 §18.2.2, RFC 3581 §4).
 *
 * Conformance: reliable transports answer over the connection the request came in on, and fall
 * back to a new connection to `received` (or the source address) and the sent-by port when that
 * connection is gone (TCP and TLS only: a WebSocket client cannot accept connections). Unreliable
 * unicast transports answer to `received` + `rport` (RFC 3581) or `received` + sent-by port.
 *
 * DEVIATION(RFC 3261 §18.2.2): a `maddr` that is a domain name is not resolved (the transaction
 * layer has no resolver); the response then goes to `received`/source as if `maddr` were absent.
 * A `maddr` holding an IP literal is honoured, but the multicast TTL (`ttl` param) is not applied:
 * the transport seam has no TTL option.
 * DEVIATION(RFC 3261 §18.2.2): a Via that is not receiver-tagged and names a host (not an IP) is
 * answered at the packet's source address instead of resolving sent-by per RFC 3263 §5; the stack
 * tags every Via whose sent-by differs from the source (§18.2.1), so this only happens when the
 * sent-by is the source address already.
 */
import { isIP } from 'node:net';
import type { Via } from '../sip/index.js';
import type { RequestSource, TransportAddress, TransportKind } from '../stack/port.js';
import { isReliable } from './timers.js';

/** The default port of a transport (RFC 3261 §18.2.2, §19.1.2; RFC 7118 for WS). */
export function defaultPort(transport: TransportKind): number {
  switch (transport) {
    case 'tls':
      return 5061;
    case 'ws':
      return 80;
    case 'wss':
      return 443;
    case 'udp':
    case 'tcp':
      return 5060;
  }
}

function stripBrackets(host: string): string {
  return host.length > 1 && host.charCodeAt(0) === 0x5b /* [ */ && host.endsWith(']') ? host.slice(1, -1) : host;
}

function paramValue(via: Via, name: string): string | undefined {
  const v = via.params.get(name);
  return v === null || v === undefined || v === '' ? undefined : v;
}

function parsePort(text: string | undefined): number | undefined {
  if (text === undefined || text.length === 0 || text.length > 5) return undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return undefined;
  }
  const n = Number(text);
  return n > 0 && n <= 65535 ? n : undefined;
}

/** The address a response to a request with `topVia`, received from `source`, goes to. */
export function responseDestination(topVia: Via, source: RequestSource): TransportAddress {
  // §18.2.2: "If the "sent-protocol" is a reliable transport protocol such as TCP or SCTP, or TLS
  // over those, the response MUST be sent using the existing connection to the source of the
  // original request that created the transaction, if that connection is still open."
  if (isReliable(source.transport)) {
    const destination: TransportAddress = { transport: source.transport, address: source.address, port: source.port };
    if (source.flow !== undefined) destination.flow = source.flow;
    return destination;
  }
  // §18.2.2: "Otherwise, if the Via header field value contains a "maddr" parameter, the response
  // MUST be forwarded to the address listed there, using the port indicated in "sent-by", or port
  // 5060 if none is present."
  const maddr = paramValue(topVia, 'maddr');
  if (maddr !== undefined) {
    const address = stripBrackets(maddr);
    if (isIP(address) !== 0) {
      return { transport: source.transport, address, port: topVia.port ?? defaultPort(source.transport) };
    }
  }
  // RFC 3581 §4: "there is both a "received" parameter and an "rport" parameter, the response MUST
  // be sent to the IP address listed in the "received" parameter, and the port in the "rport"
  // parameter."
  // §18.2.2: "Otherwise (for unreliable unicast transports), if the top Via has a "received"
  // parameter, the response MUST be sent to the address in the "received" parameter, using the
  // port indicated in the "sent-by" value, or using port 5060 if none is specified explicitly."
  const received = paramValue(topVia, 'received');
  const rport = parsePort(paramValue(topVia, 'rport'));
  const sentByHost = stripBrackets(topVia.host);
  const address = received !== undefined ? stripBrackets(received) : isIP(sentByHost) !== 0 ? sentByHost : source.address;
  const port = rport ?? topVia.port ?? defaultPort(source.transport);
  return { transport: source.transport, address, port };
}

/**
 * Where to open a new connection when the request's connection has closed (§18.2.2: "If that
 * connection is no longer open, the server SHOULD open a connection to the IP address in the
 * "received" parameter, if present, using the port in the "sent-by" value, or the default port for
 * that transport, if no port is specified."). Undefined for unreliable transports, for WS/WSS
 * (a browser cannot accept a connection) and when there was no connection to lose.
 */
export function responseFallbackDestination(topVia: Via, source: RequestSource): TransportAddress | undefined {
  if (source.transport !== 'tcp' && source.transport !== 'tls') return undefined;
  if (source.flow === undefined) return undefined;
  const received = paramValue(topVia, 'received');
  const address = received !== undefined ? stripBrackets(received) : source.address;
  return { transport: source.transport, address, port: topVia.port ?? defaultPort(source.transport) };
}
