import { describe, expect, it } from 'vitest';
import { SipRequest, SipResponse, parseMessage, parseUri, serializeMessage } from '../../../src/sip/index.js';

describe('serializeMessage', () => {
  it('writes a request with canonical names and Content-Length from the body', () => {
    const req = new SipRequest('MESSAGE', 'sip:bob@example.com', [
      { name: 'via', value: 'SIP/2.0/UDP h;branch=z9hG4bK1' },
      { name: 'call-id', value: 'x@y' },
      { name: 'cseq', value: '1 MESSAGE' },
      { name: 'www-authenticate', value: 'Digest realm="r"' },
      { name: 'sip-if-match', value: 'e1' },
      { name: 'x-custom-thing', value: 'v' },
      { name: 'content-type', value: 'text/plain' },
    ], Buffer.from('héllo'));
    expect(serializeMessage(req).toString('utf8')).toBe([
      'MESSAGE sip:bob@example.com SIP/2.0',
      'Via: SIP/2.0/UDP h;branch=z9hG4bK1',
      'Call-ID: x@y',
      'CSeq: 1 MESSAGE',
      'WWW-Authenticate: Digest realm="r"',
      'SIP-If-Match: e1',
      'X-Custom-Thing: v',
      'Content-Type: text/plain',
      'Content-Length: 6',
      '',
      'héllo',
    ].join('\r\n'));
  });

  it('replaces Content-Length in place and drops duplicates', () => {
    const res = new SipResponse(200, 'OK', [
      { name: 'via', value: 'v' },
      { name: 'content-length', value: '999' },
      { name: 'to', value: 't' },
      { name: 'content-length', value: '5' },
    ]);
    expect(serializeMessage(res).toString()).toBe('SIP/2.0 200 OK\r\nVia: v\r\nContent-Length: 0\r\nTo: t\r\n\r\n');
  });

  it('writes an empty value without a trailing space, and the empty reason', () => {
    const res = new SipResponse(100, '', [{ name: 'subject', value: '' }]);
    expect(serializeMessage(res).toString()).toBe('SIP/2.0 100 \r\nSubject:\r\nContent-Length: 0\r\n\r\n');
  });

  it('cannot be split by CR/LF in values, reason or Request-URI (header injection)', () => {
    const req = new SipRequest('OPTIONS', 'sip:a@b\r\nX: y', [{ name: 'subject', value: 'hi\r\nVia: evil' }]);
    const text = serializeMessage(req).toString();
    expect(text).toBe('OPTIONS sip:a@b  X: y SIP/2.0\r\nSubject: hi  Via: evil\r\nContent-Length: 0\r\n\r\n');
    const res = new SipResponse(200, 'OK\r\nVia: evil', []);
    expect(serializeMessage(res).toString().split('\r\n')[0]).toBe('SIP/2.0 200 OK  Via: evil');
  });

  it('keeps binary bodies', () => {
    const body = Buffer.from([0, 255, 13, 10, 13, 10, 1]);
    const res = new SipResponse(200, 'OK', [], body);
    const wire = serializeMessage(res);
    expect(wire.subarray(wire.length - body.length).equals(body)).toBe(true);
    expect(wire.toString('latin1')).toContain('Content-Length: 7\r\n\r\n');
  });

  it('uses the Request-URI set from an object', () => {
    const req = new SipRequest('INVITE', parseUri('sip:%61lice@Example.com;transport=tcp'));
    expect(req.uriText).toBe('sip:alice@example.com;transport=tcp');
    expect(serializeMessage(req).toString().startsWith('INVITE sip:alice@example.com;transport=tcp SIP/2.0\r\n')).toBe(true);
  });

  it('toBuffer/toString go through the serializer and re-parse', () => {
    const req = new SipRequest('OPTIONS', 'sip:b@example.com', [
      { name: 'via', value: 'SIP/2.0/TCP h;branch=z9hG4bK9' }, { name: 'from', value: '<sip:a@x>;tag=1' },
      { name: 'to', value: '<sip:b@example.com>' }, { name: 'call-id', value: 'id' }, { name: 'cseq', value: '9 OPTIONS' },
    ]);
    expect(req.toString()).toBe(req.toBuffer().toString());
    const again = parseMessage(req.toBuffer()) as SipRequest;
    expect(again.method).toBe('OPTIONS');
    expect(again.cseq.seq).toBe(9);
  });
});
