import { describe, expect, it } from 'vitest';
import type { Params, Via } from '../../../src/sip/index.js';
import { responseDestination, responseFallbackDestination } from '../../../src/transaction/index.js';
import { source } from './helpers.js';

function via(host: string, port: number | undefined, params: Record<string, string | null>, transport = 'UDP'): Via {
  const p: Params = new Map(Object.entries(params));
  return { protocol: 'SIP/2.0', transport, host, port, params: p };
}

describe('responseDestination (RFC 3261 §18.2.2, RFC 3581)', () => {
  it('answers over the same connection on reliable transports', () => {
    const d = responseDestination(via('client.example.com', 5070, { branch: 'z9hG4bK1' }, 'TCP'), source('tcp', 'node1:42'));
    expect(d).toEqual({ transport: 'tcp', address: '192.0.2.10', port: 5070, flow: 'node1:42' });
  });

  it('uses received and rport on UDP (RFC 3581)', () => {
    const d = responseDestination(via('10.0.0.5', 5060, { branch: 'z9hG4bK1', received: '198.51.100.7', rport: '40000' }), source());
    expect(d).toEqual({ transport: 'udp', address: '198.51.100.7', port: 40000 });
  });

  it('uses received with the sent-by port when rport has no value', () => {
    const d = responseDestination(via('10.0.0.5', 5062, { branch: 'z9hG4bK1', received: '198.51.100.7', rport: null }), source());
    expect(d).toEqual({ transport: 'udp', address: '198.51.100.7', port: 5062 });
  });

  it('defaults to port 5060 when sent-by has none', () => {
    const d = responseDestination(via('10.0.0.5', undefined, { received: '198.51.100.7' }), source());
    expect(d.port).toBe(5060);
  });

  it('uses the sent-by address when it is an IP and not receiver-tagged', () => {
    const d = responseDestination(via('192.0.2.10', 5070, { branch: 'z9hG4bK1' }), source());
    expect(d).toEqual({ transport: 'udp', address: '192.0.2.10', port: 5070 });
  });

  it('uses the packet source for an untagged host name (no resolver here)', () => {
    const d = responseDestination(via('client.example.com', 5070, { branch: 'z9hG4bK1' }), source());
    expect(d.address).toBe('192.0.2.10');
  });

  it('honours an IP maddr with the sent-by port', () => {
    const d = responseDestination(via('10.0.0.5', 5072, { maddr: '239.1.2.3', received: '198.51.100.7' }), source());
    expect(d).toEqual({ transport: 'udp', address: '239.1.2.3', port: 5072 });
  });

  it('strips IPv6 brackets', () => {
    const d = responseDestination(via('[2001:db8::1]', 5070, { branch: 'z9hG4bK1' }), source());
    expect(d.address).toBe('2001:db8::1');
  });

  it('has a TCP fallback to received + sent-by port, none for UDP or WS', () => {
    const v = via('10.0.0.5', 5080, { received: '198.51.100.7' }, 'TCP');
    expect(responseFallbackDestination(v, source('tcp', 'f1'))).toEqual({ transport: 'tcp', address: '198.51.100.7', port: 5080 });
    expect(responseFallbackDestination(v, source('udp'))).toBeUndefined();
    expect(responseFallbackDestination(v, source('ws', 'f1'))).toBeUndefined();
    expect(responseFallbackDestination(via('10.0.0.5', undefined, {}, 'TLS'), source('tls', 'f1'))).toEqual({ transport: 'tls', address: '192.0.2.10', port: 5061 });
  });
});
