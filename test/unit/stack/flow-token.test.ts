import { describe, expect, it } from 'vitest';
import { FlowTokens, isSameFlow } from '../../../src/stack/embedded/flow-token.js';
import { hashOfBranch, loopBranch, loopHash } from '../../../src/stack/embedded/loop-detection.js';
import { parseMessage, type SipRequest } from '../../../src/sip/index.js';

describe('flow tokens (Record-Route user part)', () => {
  const tokens = new FlowTokens(Buffer.alloc(32, 7));
  const flow = { transport: 'tcp' as const, address: '192.0.2.1', port: 5071, flow: 'node/tcp/abc-1' };

  it('round-trips an address with its flow, as a valid SIP user part', () => {
    const t = tokens.encode(flow);
    expect(t).toMatch(/^ft[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    expect(tokens.decode(t)).toEqual(flow);
    expect(tokens.decode(tokens.encode({ transport: 'udp', address: '::1', port: 5060 }))).toEqual({ transport: 'udp', address: '::1', port: 5060 });
  });

  it('refuses forged, altered or foreign tokens', () => {
    const t = tokens.encode(flow);
    const payload = Buffer.from('tcp|203.0.113.9|5060|').toString('base64url');
    expect(tokens.decode(`ft${payload}${t.slice(t.indexOf('.'))}`)).toBeUndefined();
    expect(new FlowTokens(Buffer.alloc(32, 8)).decode(t)).toBeUndefined();
    expect(tokens.decode('alice')).toBeUndefined();
    expect(tokens.decode(undefined)).toBeUndefined();
    expect(tokens.decode(`${t}x`)).toBeUndefined();
  });

  it('tells the flow a request came on from another', () => {
    expect(isSameFlow(flow, { transport: 'tcp', address: '192.0.2.1', port: 5071, flow: 'node/tcp/abc-1' })).toBe(true);
    expect(isSameFlow(flow, { transport: 'tcp', address: '192.0.2.1', port: 5071, flow: 'node/tcp/abc-2' })).toBe(false);
    expect(isSameFlow({ transport: 'udp', address: '192.0.2.1', port: 5060 }, { transport: 'udp', address: '192.0.2.1', port: 5060 })).toBe(true);
    expect(isSameFlow({ transport: 'udp', address: '192.0.2.1', port: 5060 }, { transport: 'udp', address: '192.0.2.2', port: 5060 })).toBe(false);
  });
});

describe('loop detection hash (RFC 3261 §16.6 step 8)', () => {
  const req = (ruri: string, extra = ''): SipRequest => parseMessage(Buffer.from([
    `MESSAGE ${ruri} SIP/2.0`,
    'Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK1',
    'From: <sip:a@x>;tag=1',
    'To: <sip:b@y>',
    'Call-ID: c1',
    'CSeq: 7 MESSAGE',
    ...(extra ? [extra] : []),
    'Content-Length: 0',
    '', '',
  ].join('\r\n'))) as SipRequest;

  it('is stable for the same request, differs when the Request-URI or Proxy-Require changes', () => {
    expect(loopHash(req('sip:b@y'))).toBe(loopHash(req('sip:b@y')));
    expect(loopHash(req('sip:b@y'))).not.toBe(loopHash(req('sip:b@z')));
    expect(loopHash(req('sip:b@y'))).not.toBe(loopHash(req('sip:b@y', 'Proxy-Require: foo')));
  });

  it('is carried in a fresh branch each time', () => {
    const h = loopHash(req('sip:b@y'));
    const b1 = loopBranch(h);
    const b2 = loopBranch(h);
    expect(b1).not.toBe(b2);
    expect(b1.startsWith('z9hG4bK')).toBe(true);
    expect(hashOfBranch(b1)).toBe(h);
    expect(hashOfBranch('z9hG4bKabc')).toBeUndefined();
  });
});
