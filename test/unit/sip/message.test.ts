import { describe, expect, it } from 'vitest';
import { SipRequest, SipResponse, isSipError, parseUri } from '../../../src/sip/index.js';

function base(): SipRequest {
  return new SipRequest('OPTIONS', 'sip:b@example.com', [
    { name: 'via', value: 'SIP/2.0/UDP a;branch=z9hG4bK1, SIP/2.0/UDP b;branch=z9hG4bK2' },
    { name: 'via', value: 'SIP/2.0/UDP c;branch=z9hG4bK3' },
    { name: 'from', value: '<sip:a@x>;tag=1' },
    { name: 'to', value: 'sip:b@example.com' },
    { name: 'call-id', value: ' id1 ' },
    { name: 'cseq', value: '2 OPTIONS' },
    { name: 'route', value: '<sip:p1;lr>, <sip:p2;lr>' },
  ]);
}

describe('SipMessage header access', () => {
  it('get/getAll split list headers only', () => {
    const m = base();
    expect(m.get('Via')).toBe('SIP/2.0/UDP a;branch=z9hG4bK1');
    expect(m.getAll('via')).toHaveLength(3);
    m.append('subject', 'a, b');
    expect(m.get('subject')).toBe('a, b');
    expect(m.getAll('subject')).toEqual(['a, b']);
    expect(m.get('absent')).toBeUndefined();
    expect(m.has('CALL-ID')).toBe(true);
  });

  it('typed getters parse and memoize; mutations drop the memo', () => {
    const m = base();
    expect(m.via.map((v) => v.host)).toEqual(['a', 'b', 'c']);
    expect(m.via).toBe(m.via);
    m.prepend('via', 'SIP/2.0/TCP top;branch=z9hG4bK0');
    expect(m.topVia?.host).toBe('top');
    m.removeFirst('via');
    expect(m.via.map((v) => v.host)).toEqual(['a', 'b', 'c']);
    m.removeFirst('via');
    expect(m.via.map((v) => v.host)).toEqual(['b', 'c']);
    expect(m.callId).toBe('id1');
    expect(m.routes).toHaveLength(2);
    m.set('to', '<sip:c@example.com>;tag=9');
    expect(m.to.params.get('tag')).toBe('9');
  });

  it('set replaces every line at the first one\'s place', () => {
    const m = base();
    m.set('via', 'SIP/2.0/UDP only');
    expect(m.headers.map((h) => h.name)).toEqual(['via', 'from', 'to', 'call-id', 'cseq', 'route']);
    m.set('expires', '60');
    expect(m.headers[m.headers.length - 1]).toEqual({ name: 'expires', value: '60' });
    expect(m.expires).toBe(60);
    m.remove('expires');
    expect(m.expires).toBeUndefined();
  });

  it('required headers throw MISSING_HEADER when absent', () => {
    const m = new SipResponse(200, 'OK');
    let caught: unknown;
    try {
      void m.from;
    } catch (err) {
      caught = err;
    }
    expect(isSipError(caught) && caught.code === 'MISSING_HEADER').toBe(true);
  });

  it('Request-URI is re-parsed when uriText changes', () => {
    const m = base();
    expect(m.uri).toBe(m.uri);
    m.setUri(parseUri('sip:c@example.org;transport=tcp'));
    expect(m.uriText).toBe('sip:c@example.org;transport=tcp');
    expect(m.uri).toMatchObject({ user: 'c', host: 'example.org' });
    m.uriText = 'tel:+123';
    expect(m.uri).toMatchObject({ scheme: 'tel', number: '+123' });
  });

  it('contentType drops parameters and lower-cases', () => {
    const m = base();
    m.set('content-type', 'Application/PIDF+XML ; charset=utf-8');
    expect(m.contentType).toBe('application/pidf+xml');
  });
});
