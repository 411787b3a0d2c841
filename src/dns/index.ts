/**
 * DNS (L1): the RFC 3263 locator and the pieces under it — a wire-format client (RFC 1035) over
 * UDP and TCP, a TTL and negative cache (RFC 2308), RFC 2782 SRV ordering. The only entry point
 * other folders import from.
 */
export { Locator, parseServerEntry } from './locator.js';
export type { LocatorOptions, ServerTarget, SipTransport } from './locator.js';
export { DnsClient } from './dns-client.js';
export type { DnsClientOptions, DnsQuerier, DnsServerAddress } from './dns-client.js';
export { DnsCache } from './dns-cache.js';
export type { DnsAnswer, DnsCacheOptions } from './dns-cache.js';
export { Resolver, negativeTtl } from './resolver.js';
export type { ResolverOptions } from './resolver.js';
export { orderSrv } from './srv-order.js';
export type { SrvLike } from './srv-order.js';
export { selectNaptr } from './naptr-services.js';
export type { NaptrChoice } from './naptr-services.js';
export {
  CLASS_IN, EDNS_UDP_PAYLOAD_SIZE, MAX_MESSAGE_SIZE, RCODE, RR_TYPE, canonicalName, decodeMessage,
  domainNameProblem, encodeMessage, encodeQuery, formatIpv6, nameToLabels, parseIpv4, parseIpv6, rcodeName,
} from './dns-message.js';
export type {
  DnsEdns, DnsFlags, DnsMessage, DnsMessageInput, DnsQuestion, DnsRecord, EncodeOptions, RawRecord,
  RecordTypeName,
} from './dns-message.js';
