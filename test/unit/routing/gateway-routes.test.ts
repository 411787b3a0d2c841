import { describe, expect, it } from 'vitest';
import { GatewayRoutes, phoneNumberOf } from '../../../src/routing/index.js';
import { parseUri } from '../../../src/sip/index.js';

describe('phoneNumberOf', () => {
  it('reads tel: URIs and number-shaped sip: users, without visual separators', () => {
    expect(phoneNumberOf(parseUri('tel:+1-555-(123).4567'))).toBe('+15551234567');
    expect(phoneNumberOf(parseUri('sip:+1(555)1234567@example.com;user=phone'))).toBe('+15551234567');
    expect(phoneNumberOf(parseUri('sip:0044.20.7946@example.com'))).toBe('0044207946');
  });

  it('refuses what is not a number', () => {
    for (const u of ['sip:alice@example.com', 'sip:+@example.com', 'sip:1+2@example.com', 'sip:example.com', 'sip:12a@example.com']) {
      expect(phoneNumberOf(parseUri(u)), u).toBeUndefined();
    }
  });
});

describe('GatewayRoutes', () => {
  const routes = new GatewayRoutes([
    { name: 'any', uri: 'sip:gw0.example.net', prefixes: [], peers: [], users: [] },
    { name: 'us', uri: 'sip:gw1.example.net:5070;transport=tcp', prefixes: ['+1'], peers: ['192.0.2.0/24'], users: ['smsgw'] },
    { name: 'tollfree', uri: 'sip:gw2.example.net', prefixes: ['+1800', '+1888'], peers: [], users: ['relay@other.example'] },
  ], 'example.com');

  it('picks the longest matching prefix, a prefix-less gateway last', () => {
    expect(routes.forNumber('+18005550100')?.name).toBe('tollfree');
    expect(routes.forNumber('+15550100')?.name).toBe('us');
    expect(routes.forNumber('+445550100')?.name).toBe('any');
  });

  it('builds sip:NUMBER@gateway;user=phone with the gateway URI parameters', () => {
    const uri = routes.targetUri(routes.forNumber('+15550100')!, '+15550100');
    expect(uri).toMatchObject({ scheme: 'sip', user: '+15550100', host: 'gw1.example.net', port: 5070 });
    expect([...uri.params]).toEqual([['transport', 'tcp'], ['user', 'phone']]);
  });

  it('knows its peers and its digest users (a bare user is of the default domain)', () => {
    expect(routes.peerGateway('192.0.2.7')?.name).toBe('us');
    expect(routes.peerGateway('198.51.100.1')).toBeUndefined();
    expect(routes.isGatewayUser('smsgw', 'example.com')).toBe(true);
    expect(routes.isGatewayUser('smsgw', 'other.example')).toBe(false);
    expect(routes.isGatewayUser('relay', 'other.example')).toBe(true);
  });

  it('refuses a gateway URI with a user part or a bad peer', () => {
    expect(() => new GatewayRoutes([{ name: 'x', uri: 'sip:bob@gw.example.net', prefixes: [], peers: [], users: [] }], 'example.com')).toThrow(/without a user part/);
    expect(() => new GatewayRoutes([{ name: 'x', uri: 'sip:gw.example.net', prefixes: [], peers: ['nope'], users: [] }], 'example.com')).toThrow(/gateways x/);
  });
});
