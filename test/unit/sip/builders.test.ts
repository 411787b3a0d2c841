import { describe, expect, it } from 'vitest';
import {
  SipRequest, createResponse, defaultReason, generateBranch, generateCallId, generateTag, getTag, isToken,
  parseMessage, partialOf, isSipError,
} from '../../../src/sip/index.js';

function req(extra: string[] = [], to = 'To: Bob <sip:bob@biloxi.com>'): SipRequest {
  const text = [
    'INVITE sip:bob@biloxi.com SIP/2.0',
    'Via: SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bKnashds8;received=192.0.2.1',
    'Via: SIP/2.0/UDP bigbox3.site3.atlanta.com;branch=z9hG4bK77ef4c2312983.1, SIP/2.0/TCP p.example.com;branch=z9hG4bK3',
    'Max-Forwards: 70',
    to,
    'From: Alice <sip:alice@atlanta.com>;tag=1928301774',
    'Call-ID: a84b4c76e66710',
    'CSeq: 314159 INVITE',
    'Contact: <sip:alice@pc33.atlanta.com>',
    'Record-Route: <sip:p1.example.com;lr>',
    'Timestamp: 54',
    ...extra,
    'Content-Length: 0',
    '', '',
  ].join('\r\n');
  return parseMessage(Buffer.from(text)) as SipRequest;
}

describe('createResponse (RFC 3261 §8.2.6.2)', () => {
  it('copies Via (in order), From, To, Call-ID, CSeq and nothing else', () => {
    const res = createResponse(req(), 486);
    expect(res.status).toBe(486);
    expect(res.reason).toBe('Busy Here');
    expect(res.headers.map((h) => h.name)).toEqual(['via', 'via', 'to', 'from', 'call-id', 'cseq']);
    expect(res.via.map((v) => v.host)).toEqual(['pc33.atlanta.com', 'bigbox3.site3.atlanta.com', 'p.example.com']);
    expect(res.get('from')).toBe('Alice <sip:alice@atlanta.com>;tag=1928301774');
    expect(res.cseq).toEqual({ seq: 314159, method: 'INVITE' });
    expect(res.callId).toBe('a84b4c76e66710');
    expect(res.body.length).toBe(0);
  });

  it('adds the To tag when the request has none', () => {
    const res = createResponse(req(), 200, undefined, { toTag: 'a6c85cf' });
    expect(res.get('to')).toBe('Bob <sip:bob@biloxi.com>;tag=a6c85cf');
    expect(getTag(res.to)).toBe('a6c85cf');
  });

  it('adds the tag to an addr-spec To as a header parameter', () => {
    const res = createResponse(req([], 'To: sip:bob@biloxi.com'), 200, 'OK', { toTag: 't1' });
    expect(getTag(res.to)).toBe('t1');
  });

  it('keeps an existing To tag', () => {
    const res = createResponse(req([], 'To: <sip:bob@biloxi.com>;tag=existing'), 200, 'OK', { toTag: 'new' });
    expect(res.get('to')).toBe('<sip:bob@biloxi.com>;tag=existing');
  });

  it('copies Timestamp into 100 only, Record-Route only when asked', () => {
    expect(createResponse(req(), 100).get('timestamp')).toBe('54');
    expect(createResponse(req(), 180).has('timestamp')).toBe(false);
    expect(createResponse(req(), 200).has('record-route')).toBe(false);
    expect(createResponse(req(), 200, 'OK', { recordRoute: true }).get('record-route')).toBe('<sip:p1.example.com;lr>');
  });

  it('answers a partial request from the parser without throwing', () => {
    let partial: SipRequest | undefined;
    try {
      parseMessage(Buffer.from('OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nTo: "unterminated <sip:a@b>\r\nFrom: <sip:c@d>;tag=1\r\nCall-ID: x\r\nCSeq: 1 OPTIONS\r\n\r\n'));
    } catch (err) {
      expect(isSipError(err)).toBe(true);
      partial = partialOf(err);
    }
    expect(partial).toBeDefined();
    const res = createResponse(partial!, 400, 'Bad Request', { toTag: 'x' });
    expect(res.get('to')).toBe('"unterminated <sip:a@b>');
    expect(res.toString()).toMatch(/^SIP\/2\.0 400 Bad Request\r\nVia: SIP\/2\.0\/UDP h;branch=z9hG4bK1\r\n/);
  });
});

describe('defaultReason', () => {
  it.each([
    [100, 'Trying'], [180, 'Ringing'], [200, 'OK'], [202, 'Accepted'], [204, 'No Notification'],
    [301, 'Moved Permanently'], [401, 'Unauthorized'], [404, 'Not Found'], [412, 'Conditional Request Failed'],
    [415, 'Unsupported Media Type'], [416, 'Unsupported URI Scheme'], [423, 'Interval Too Brief'],
    [481, 'Call/Transaction Does Not Exist'], [489, 'Bad Event'], [500, 'Server Internal Error'],
    [503, 'Service Unavailable'], [504, 'Server Time-out'], [505, 'Version Not Supported'], [603, 'Decline'],
    [199, 'Early Dialog Terminated'], [299, 'Successful'], [499, 'Request Failure'], [699, 'Global Failure'],
  ])('%i -> %s', (status, reason) => {
    expect(defaultReason(status)).toBe(reason);
  });
});

describe('identifiers', () => {
  it('branches carry the magic cookie, are tokens and unique', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const b = generateBranch();
      expect(b.startsWith('z9hG4bK')).toBe(true);
      expect(b.length).toBeGreaterThan(7 + 10);
      expect(isToken(b)).toBe(true);
      seen.add(b);
    }
    expect(seen.size).toBe(200);
  });

  it('tags are tokens with at least 32 random bits and unique', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const t = generateTag();
      expect(isToken(t)).toBe(true);
      expect(t.length).toBeGreaterThanOrEqual(8);
      seen.add(t);
    }
    expect(seen.size).toBe(200);
  });

  it('Call-IDs are word@host and unique', () => {
    const a = generateCallId('192.0.2.1');
    const b = generateCallId('192.0.2.1');
    expect(a).toMatch(/^[0-9a-f]{32}@192\.0\.2\.1$/);
    expect(a).not.toBe(b);
    expect(generateCallId('')).toMatch(/^[0-9a-f]{32}$/);
  });
});
