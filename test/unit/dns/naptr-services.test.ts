import { describe, expect, it } from 'vitest';
import { selectNaptr, type DnsRecord, type SipTransport } from '../../../src/dns/index.js';

function naptr(order: number, preference: number, service: string, replacement: string, flags = 's', regexp = ''): DnsRecord {
  return { name: 'example.com', ttl: 60, type: 'NAPTR', order, preference, flags, service, regexp, replacement };
}

// RFC 3263 §4.1 example
const EXAMPLE = [
  naptr(90, 50, 'SIP+D2T', '_sip._tcp.example.com'),
  naptr(50, 50, 'SIPS+D2T', '_sips._tcp.example.com'),
  naptr(100, 50, 'SIP+D2U', '_sip._udp.example.com'),
];

const set = (...t: SipTransport[]): ReadonlySet<SipTransport> => new Set(t);

describe('selectNaptr (RFC 3263 §4.1)', () => {
  it('the RFC example: a client with TCP and UDP uses TCP, and no record of another Order (RFC 3403 §4.1)', () => {
    expect(selectNaptr(EXAMPLE, false, set('udp', 'tcp')).map((c) => [c.transport, c.replacement])).toEqual([
      ['tcp', '_sip._tcp.example.com'],
    ]);
    expect(selectNaptr(EXAMPLE, false, set('udp')).map((c) => c.transport)).toEqual(['udp']);
  });

  it('keeps SIPS records for a sip: URI when TLS is supported', () => {
    expect(selectNaptr(EXAMPLE, false, set('udp', 'tcp', 'tls')).map((c) => c.transport)).toEqual(['tls']);
  });

  it('keeps only SIPS records for a sips: URI', () => {
    expect(selectNaptr(EXAMPLE, true, set('udp', 'tcp', 'tls')).map((c) => c.transport)).toEqual(['tls']);
    expect(selectNaptr(EXAMPLE, true, set('udp', 'tcp'))).toEqual([]);
  });

  it('keeps the lowest usable Order, its records by Preference', () => {
    const records = [
      naptr(10, 20, 'SIP+D2U', 'b'),
      naptr(10, 10, 'SIP+D2T', 'a'),
      naptr(20, 1, 'SIP+D2U', 'later'),
      naptr(5, 99, 'SIP+D2S', 'unusable'),
    ];
    expect(selectNaptr(records, false, set('udp', 'tcp')).map((c) => c.replacement)).toEqual(['a', 'b']);
    expect(selectNaptr(records, false, set('udp')).map((c) => c.replacement)).toEqual(['b']);
  });

  it('discards unknown services, non-terminal flags, regexps and empty replacements; ignores case', () => {
    const out = selectNaptr([
      naptr(1, 1, 'SIP+D2S', 'sctp'),
      naptr(1, 1, 'SIP+D2W', 'ws'),
      naptr(1, 1, 'SIPS+D2U', 'tls-over-udp'),
      naptr(1, 1, 'E2U+sip', 'enum'),
      naptr(1, 1, 'SIP+D2U', 'a-flag', 'a'),
      naptr(1, 1, 'SIP+D2U', 'regexp', 's', '!^.*$!sip:x@y!'),
      naptr(1, 1, 'SIP+D2U', ''),
      naptr(2, 1, 'sip+d2u', 'lower', 'S'),
    ], false, set('udp', 'tcp', 'tls'));
    expect(out.map((c) => c.replacement)).toEqual(['lower']);
  });
});
