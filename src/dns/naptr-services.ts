/**
 * RFC 3263 §4.1 transport selection from NAPTR records (RFC 3403 §4.1 fields).
 *
 * Conformance: services SIP+D2U (UDP), SIP+D2T (TCP) and SIPS+D2T (TLS over TCP) are understood
 * (the IANA registry of RFC 3263 §9); SCTP (D2S) and WebSocket (D2W) are not, so they are
 * discarded like any service the stack cannot send on. Only terminal "S" records with an empty
 * regexp are used (RFC 3263 §4.1: "The resource record will contain an empty regular expression
 * and a replacement value, which is the SRV record"); others are discarded. Of the usable
 * records, only those with the lowest Order are kept, by Preference (RFC 3403 §4.1); so the
 * result is "the most preferred transport protocol of the server that is supported by the
 * client" (RFC 3263 §4.1), with same-Order alternatives after it. Service and flag comparisons
 * ignore case.
 */
import type { DnsRecord } from './dns-message.js';

export type SipTransport = 'udp' | 'tcp' | 'tls';

export interface NaptrChoice {
  transport: SipTransport;
  /** The SRV owner name to look up (the NAPTR replacement). */
  replacement: string;
  order: number;
  preference: number;
}

const SERVICES: ReadonlyMap<string, { transport: SipTransport; secure: boolean }> = new Map([
  ['sip+d2u', { transport: 'udp', secure: false }],
  ['sip+d2t', { transport: 'tcp', secure: false }],
  ['sips+d2t', { transport: 'tls', secure: true }],
]);

/** The usable NAPTR records of the lowest usable Order for a SIP (or SIPS) URI, by Preference. */
export function selectNaptr(
  records: readonly DnsRecord[],
  secure: boolean,
  supported: ReadonlySet<SipTransport>,
): NaptrChoice[] {
  const out: NaptrChoice[] = [];
  for (const r of records) {
    if (r.type !== 'NAPTR') continue;
    if (r.flags.toLowerCase() !== 's' || r.regexp !== '' || r.replacement === '') continue;
    const service = SERVICES.get(r.service.toLowerCase());
    if (!service) continue;
    // RFC 3263 §4.1: "a client resolving a SIPS URI MUST discard any services that do not
    // contain "SIPS" as the protocol in the service field."
    if (secure && !service.secure) continue;
    // "A client resolving a SIP URI SHOULD retain records with "SIPS" as the protocol, if the
    // client supports TLS." And: "a client MUST discard any service fields that identify a
    // resolution service whose value is not "D2X", for values of X that indicate transport
    // protocols supported by the client."
    if (!supported.has(service.transport)) continue;
    out.push({ transport: service.transport, replacement: r.replacement, order: r.order, preference: r.preference });
  }
  // RFC 3403 §4.1: Order is "specifying the order in which the NAPTR records MUST be processed";
  // "once a match is found the client MUST NOT consider records with a different Order but they
  // MAY process records with the same Order but different Preferences."
  out.sort((a, b) => a.order - b.order || a.preference - b.preference);
  if (out.length === 0) return out;
  const first = out[0].order;
  let end = 1;
  while (end < out.length && out[end].order === first) end++;
  return out.slice(0, end);
}
