/**
 * What is kept of an incoming MESSAGE and the MESSAGE that later delivers it (stored-message.ts).
 */
import { describe, expect, it } from 'vitest';
import { parseMessage, parseNameAddr, parseUri, type SipRequest } from '../../../src/sip/index.js';
import { deliveryRequest, storedMessageOf } from '../../../src/messaging/stored-message.js';

const NOW = 1_700_000_000_000;

function incoming(extra: string[], body = Buffer.from('hi')): SipRequest {
  const head = [
    'MESSAGE sip:bob@localhost SIP/2.0',
    'Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK-1',
    'Max-Forwards: 69',
    'Route: <sip:proxy.example.com;lr>',
    'f: "A" <sip:alice@localhost>;tag=t1',
    't: <sip:bob@localhost>',
    'i: orig@client',
    'CSeq: 7 MESSAGE',
    'Contact: <sip:alice@192.0.2.1>',
    'Authorization: Digest username="alice"',
    ...extra,
    `Content-Length: ${body.length}`,
  ].join('\r\n');
  return parseMessage(Buffer.concat([Buffer.from(`${head}\r\n\r\n`), body]), { datagram: true }) as SipRequest;
}

describe('storedMessageOf', () => {
  it('keeps From (tag), To, Date, Content-Type with parameters, the end-to-end headers in order, and the body', () => {
    const body = Buffer.from([0xde, 0xad, 0xbe, 0xef, 0x00]);
    const req = incoming(['Date: Sat, 13 Nov 2010 23:29:00 GMT', 'Subject: one', 'c: application/octet-stream; x=1', 'Priority: urgent', 'Subject: two', 'Expires: 60', 'X-Custom: no'], body);
    const m = storedMessageOf(req, { id: 'id1', recipient: 'bob@localhost', now: NOW, expiresAt: NOW + 5 });
    expect(m).toStrictEqual({
      id: 'id1',
      recipient: 'bob@localhost',
      from: '"A" <sip:alice@localhost>;tag=t1',
      to: '<sip:bob@localhost>',
      date: 'Sat, 13 Nov 2010 23:29:00 GMT',
      contentType: 'application/octet-stream; x=1',
      headers: [['Subject', 'one'], ['Priority', 'urgent'], ['Subject', 'two']],
      body,
      callId: 'orig@client',
      receivedAt: NOW,
      expiresAt: NOW + 5,
      attempts: 0,
    });
  });

  it('dates a MESSAGE without Date at its arrival (RFC 1123)', () => {
    const m = storedMessageOf(incoming([]), { id: 'x', recipient: 'bob@localhost', now: NOW, expiresAt: NOW });
    expect(m.date).toBe('Tue, 14 Nov 2023 22:13:20 GMT');
    expect(m.contentType).toBe('');
  });
});

describe('deliveryRequest', () => {
  const stored = {
    ...storedMessageOf(incoming(['Content-Type: text/plain', 'Subject: s', 'Date: Sat, 13 Nov 2010 23:29:00 GMT']), { id: 'x', recipient: 'bob@localhost', now: NOW, expiresAt: NOW + 1 }),
    seq: 1,
  };

  it('is a new MESSAGE to the contact with the original From, To, Date, headers and body', () => {
    const req = deliveryRequest(stored, { uri: parseUri('sip:bob@10.0.0.9:5062;transport=tcp') }, 'new-call@localhost');
    expect(req.method).toBe('MESSAGE');
    expect(req.uriText).toBe('sip:bob@10.0.0.9:5062;transport=tcp');
    expect(req.headers).toEqual([
      { name: 'from', value: '"A" <sip:alice@localhost>;tag=t1' },
      { name: 'to', value: '<sip:bob@localhost>' },
      { name: 'call-id', value: 'new-call@localhost' },
      { name: 'cseq', value: '1 MESSAGE' },
      { name: 'max-forwards', value: '70' },
      { name: 'date', value: 'Sat, 13 Nov 2010 23:29:00 GMT' },
      { name: 'subject', value: 's' },
      { name: 'content-type', value: 'text/plain' },
    ]);
    expect(req.body.toString()).toBe('hi');
    // With the Via the stack adds, it serializes and parses back (From tag, body intact).
    req.prepend('via', 'SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK-d1');
    const again = parseMessage(req.toBuffer()) as SipRequest;
    expect(again.from.params.get('tag')).toBe('t1');
    expect(again.body.toString()).toBe('hi');
  });

  it('routes through the Path of the registration, in order', () => {
    const path = [parseNameAddr('<sip:edge1.example.com;lr>'), parseNameAddr('<sip:edge2.example.com;lr>')];
    const req = deliveryRequest(stored, { uri: parseUri('sip:bob@10.0.0.9'), path }, 'c@h');
    expect(req.getAll('route')).toEqual(['<sip:edge1.example.com;lr>', '<sip:edge2.example.com;lr>']);
  });
});
