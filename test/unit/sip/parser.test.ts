import { describe, expect, it } from 'vitest';
import {
  ParseError, SipRequest, SipResponse, findHeaderEnd, isSipError, parseMessage, partialOf,
  scanContentLength, serializeMessage,
} from '../../../src/sip/index.js';

const REGISTER = [
  'REGISTER sip:example.com SIP/2.0',
  'Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKnashds7;rport',
  'Max-Forwards: 70',
  'From: "Alice" <sip:alice@example.com>;tag=456248',
  'To: <sip:alice@example.com>',
  'Call-ID: 843817637684230@998sdasdh09',
  'CSeq: 1826 REGISTER',
  'Contact: <sip:alice@192.0.2.10:5060;transport=udp>;expires=3600;+sip.instance="<urn:uuid:00000000-0000-1000-8000-AABBCCDDEEFF>"',
  'User-Agent: Herald-Test/1.0',
  'Allow: INVITE, ACK, CANCEL, BYE, OPTIONS, MESSAGE, SUBSCRIBE, NOTIFY',
  'Expires: 3600',
  'Content-Length: 0',
  '',
  '',
].join('\r\n');

function msg(lines: string[], body = ''): Buffer {
  return Buffer.from(lines.join('\r\n') + '\r\n\r\n' + body);
}

const BASE = [
  'Via: SIP/2.0/UDP a.example.com;branch=z9hG4bK1',
  'From: <sip:a@example.com>;tag=1',
  'To: <sip:b@example.com>',
  'Call-ID: c1',
];

function errorOf(data: Buffer, datagram = false) {
  try {
    parseMessage(data, { datagram });
  } catch (err) {
    if (!isSipError(err)) throw err;
    return err;
  }
  throw new Error('expected a SipError');
}

describe('parseMessage: requests', () => {
  it('parses a typical REGISTER', () => {
    const m = parseMessage(Buffer.from(REGISTER));
    expect(m).toBeInstanceOf(SipRequest);
    const r = m as SipRequest;
    expect(r.method).toBe('REGISTER');
    expect(r.uriText).toBe('sip:example.com');
    expect(r.headers.map((h) => h.name)).toEqual([
      'via', 'max-forwards', 'from', 'to', 'call-id', 'cseq', 'contact', 'user-agent', 'allow', 'expires',
      'content-length',
    ]);
    expect(r.cseq).toEqual({ seq: 1826, method: 'REGISTER' });
    expect(r.expires).toBe(3600);
    expect(r.getAll('allow')).toHaveLength(8);
    expect(r.body.length).toBe(0);
  });

  it('expands compact forms and lower-cases names', () => {
    const m = parseMessage(msg([
      'SUBSCRIBE sip:b@example.com SIP/2.0', 'v: SIP/2.0/TCP h;branch=z9hG4bK2', 'f: <sip:a@example.com>;tag=1',
      't: sip:b@example.com', 'i: abc', 'CSEQ: 1 SUBSCRIBE', 'o: presence', 'u: presence, dialog', 'k: eventlist',
      'm: <sip:a@h>', 'c: text/plain', 'l: 2', 'X-Weird-Case: v',
    ], 'hi'));
    expect(m.headers.map((h) => h.name)).toEqual([
      'via', 'from', 'to', 'call-id', 'cseq', 'event', 'allow-events', 'supported', 'contact', 'content-type',
      'content-length', 'x-weird-case',
    ]);
    expect(m.getAll('allow-events')).toEqual(['presence', 'dialog']);
    expect(m.body.toString()).toBe('hi');
  });

  it('joins folded lines with a single space', () => {
    const m = parseMessage(msg([
      'OPTIONS sip:b@example.com SIP/2.0', ...BASE, 'CSeq: 1', '  \t OPTIONS', 'Subject: first  ', '\t second',
      '   third', 'Contact:', '  <sip:a@h>',
    ]));
    expect(m.cseq).toEqual({ seq: 1, method: 'OPTIONS' });
    expect(m.get('subject')).toBe('first second third');
    expect(m.get('contact')).toBe('<sip:a@h>');
  });

  it('tolerates bare LF line ends and leading CRLFs', () => {
    const text = '\r\n\r\n\nOPTIONS sip:b@example.com SIP/2.0\n' + BASE.join('\n') + '\nCSeq: 1 OPTIONS\nContent-Length: 3\n\nabc';
    const m = parseMessage(Buffer.from(text));
    expect((m as SipRequest).method).toBe('OPTIONS');
    expect(m.callId).toBe('c1');
    expect(m.body.toString()).toBe('abc');
  });

  it('keeps whitespace before the colon out of the name and trims values', () => {
    const m = parseMessage(msg(['OPTIONS sip:b@example.com SIP/2.0', ...BASE, 'CSeq  \t:   7 OPTIONS   ']));
    expect(m.cseq.seq).toBe(7);
    expect(m.headers.find((h) => h.name === 'cseq')?.value).toBe('7 OPTIONS');
  });

  it('decodes UTF-8 header values', () => {
    const m = parseMessage(msg(['MESSAGE sip:b@example.com SIP/2.0', ...BASE.slice(0, 1),
      'From: "Zoë 😀" <sip:a@example.com>;tag=1', ...BASE.slice(2), 'CSeq: 1 MESSAGE']));
    expect(m.from.displayName).toBe('Zoë 😀');
  });

  it('accepts a request without Max-Forwards and any URI scheme', () => {
    const m = parseMessage(msg(['MESSAGE im:bob@example.com SIP/2.0', ...BASE, 'CSeq: 1 MESSAGE'])) as SipRequest;
    expect(m.uri).toEqual({ scheme: 'im', raw: 'im:bob@example.com' });
    expect(m.maxForwards).toBeUndefined();
  });
});

describe('parseMessage: responses', () => {
  it.each([
    ['SIP/2.0 200 OK', 200, 'OK'],
    ['SIP/2.0 180 Ringing Loudly Now', 180, 'Ringing Loudly Now'],
    ['SIP/2.0 100 ', 100, ''],
    ['SIP/2.0 100', 100, ''],
    ['sip/2.0 699 x', 699, 'x'],
  ])('%j', (line, status, reason) => {
    const m = parseMessage(msg([line, ...BASE, 'CSeq: 1 INVITE']));
    expect(m).toBeInstanceOf(SipResponse);
    expect((m as SipResponse).status).toBe(status);
    expect((m as SipResponse).reason).toBe(reason);
  });

  it.each([
    ['SIP/2.0 99 Low', 'BAD_START_LINE'], ['SIP/2.0 700 High', 'BAD_START_LINE'], ['SIP/2.0 2000 OK', 'BAD_START_LINE'],
    ['SIP/2.0 20x OK', 'BAD_START_LINE'], ['SIP/2.0', 'BAD_START_LINE'], ['SIP/2.0  200 OK', 'BAD_START_LINE'],
    ['SIP/3.0 200 OK', 'VERSION_NOT_SUPPORTED'], ['SIP/x 200 OK', 'BAD_START_LINE'],
  ])('rejects %j', (line, code) => {
    expect(errorOf(msg([line, ...BASE, 'CSeq: 1 INVITE'])).code).toBe(code);
  });

  it('validates response headers too, without a partial request', () => {
    const err = errorOf(msg(['SIP/2.0 200 OK', ...BASE.slice(1), 'CSeq: 1 INVITE']));
    expect(err.code).toBe('MISSING_HEADER');
    expect(err.detail).toBe('missing Via');
    expect(partialOf(err)).toBeUndefined();
    expect((err as ParseError).partial).toBeInstanceOf(SipResponse);
  });
});

describe('parseMessage: errors carry the partial request', () => {
  it.each([
    [['OPTIONS sip:b@example.com SIP/2.0', ...BASE], 'MISSING_HEADER', 'missing CSeq'],
    [['OPTIONS sip:b@example.com SIP/2.0', 'CSeq: 1 OPTIONS'], 'MISSING_HEADER', 'missing Via, From, To, Call-ID'],
    [['OPTIONS sip:b@example.com SIP/2.0', ...BASE, 'Via:', 'CSeq: 1 OPTIONS'], 'BAD_HEADER', /^bad Via/],
    [['OPTIONS sip:b@example.com SIP/2.0', ...BASE.slice(0, 3), 'Call-ID:   ', 'CSeq: 1 OPTIONS'], 'BAD_HEADER', 'bad Call-ID: empty'],
    [['OPTIONS sip:b@example.com SIP/2.0', ...BASE, 'CSeq: 1 OPTIONS', 'Max-Forwards: 256'], 'BAD_HEADER', 'bad Max-Forwards'],
    [['OPTIONS sip:b@example.com SIP/2.0', ...BASE, 'CSeq: 1 OPTIONS', 'Max-Forwards: -1'], 'BAD_HEADER', 'bad Max-Forwards'],
    [['OPTIONS sip:b@example.com SIP/2.0', ...BASE, 'CSeq: 1 OPTIONS', 'Max-Forwards: 70', 'Max-Forwards: 69'], 'BAD_HEADER', 'multiple Max-Forwards header fields'],
    [['OPTIONS sip:b@example.com SIP/2.0', ...BASE, 'CSeq: 1 OPTIONS', 'Content-Length: 1e3'], 'BAD_HEADER', 'bad Content-Length'],
    [['OPTIONS sip:b@example.com SIP/2.0', ...BASE, 'CSeq: 1 OPTIONS', 'Content-Length: 99999999999'], 'BAD_HEADER', 'bad Content-Length'],
    [['OPTIONS sip:b@example.com SIP/2.0', ...BASE, 'CSeq: 2147483648 OPTIONS'], 'BAD_HEADER', /^bad CSeq/],
    [['OPTIONS sip:b@example.com SIP/2.0', ...BASE, 'CSeq: 1 INVITE'], 'CSEQ_METHOD_MISMATCH', 'CSeq method INVITE does not match OPTIONS'],
    [['OPTIONS sip:b@example.com SIP/2.0', ...BASE, 'CSeq: 1 options'], 'CSEQ_METHOD_MISMATCH', /options/],
    [['OPTIONS sip:b@ex ample.com SIP/2.0', ...BASE, 'CSeq: 1 OPTIONS'], 'BAD_START_LINE', /Request-URI/],
    [['OPTIONS sip:b@exa"mple.com SIP/2.0', ...BASE, 'CSeq: 1 OPTIONS'], 'BAD_URI', /^bad Request-URI/],
    [['OPTIONS sip:b@example.com SIP/2.1', ...BASE, 'CSeq: 1 OPTIONS'], 'VERSION_NOT_SUPPORTED', undefined],
    [['OPTIONS sip:b@example.com SIP/2.0', ...BASE, 'CSeq: 1 OPTIONS', 'Bad Name: x'], 'BAD_HEADER', 'invalid header name'],
    [['OPTIONS sip:b@example.com SIP/2.0', ...BASE, 'CSeq: 1 OPTIONS', 'NoColonHere'], 'BAD_HEADER', 'header line without ":"'],
    [['OPTIONS sip:b@example.com SIP/2.0', ...BASE, 'CSeq: 1 OPTIONS', ': empty name'], 'BAD_HEADER', 'invalid header name'],
    [['OPTIONS sip:b@example.com SIP/2.0', ...BASE, 'CSeq: 1 OPTIONS', 'Subject: a\rb'], 'BAD_HEADER', 'bare CR in header section'],
    [['OPTIONS sip:b@example.com SIP/2.0', ' folded: first', ...BASE, 'CSeq: 1 OPTIONS'], 'BAD_HEADER', /continuation/],
  ])('%j -> %s', (lines, code, detail) => {
    const err = errorOf(msg(lines as string[]));
    expect(err.code).toBe(code);
    expect(err.status).toBe(code === 'VERSION_NOT_SUPPORTED' ? 505 : 400);
    if (typeof detail === 'string') expect(err.detail).toBe(detail);
    else if (detail) expect(err.detail).toMatch(detail);
    const partial = partialOf(err);
    expect(partial).toBeInstanceOf(SipRequest);
    expect(partial?.method).toBe('OPTIONS');
    expect(partial?.body.length).toBe(0);
  });

  it.each([
    ['', 'empty message'], ['\r\n\r\n', 'empty message'], ['garbage', 'bad Request-Line'],
    ['INVITE\r\n\r\n', 'bad Request-Line'], ['INV(TE sip:a@b SIP/2.0\r\n\r\n', 'bad Request-Line'],
    ['INVITE sip:a@b HTTP/1.1\r\n\r\n', 'bad Request-Line'],
  ])('%j has no partial', (text, detail) => {
    const err = errorOf(Buffer.from(text));
    expect(err.code).toBe('BAD_START_LINE');
    expect(err.detail).toBe(detail);
    expect(partialOf(err)).toBeUndefined();
  });

  it('partialOf ignores other errors', () => {
    expect(partialOf(new Error('x'))).toBeUndefined();
    expect(partialOf(undefined)).toBeUndefined();
  });

  it('ParseError is a SipError by name', () => {
    const err = errorOf(msg(['OPTIONS sip:b@example.com SIP/2.0', ...BASE]));
    expect(err).toBeInstanceOf(ParseError);
    expect(err.name).toBe('SipError');
    expect(err.reasonPhrase).toBe('Bad Request (missing CSeq)');
  });
});

describe('parseMessage: body and Content-Length (RFC 3261 §18.3)', () => {
  const head = ['MESSAGE sip:b@example.com SIP/2.0', ...BASE, 'CSeq: 1 MESSAGE', 'Content-Type: text/plain'];

  it('datagram without Content-Length: the rest of the packet is the body', () => {
    const m = parseMessage(msg(head, 'hello\r\nworld'), { datagram: true });
    expect(m.body.toString()).toBe('hello\r\nworld');
  });

  it('datagram with a shorter Content-Length: extra bytes are discarded', () => {
    const m = parseMessage(msg([...head, 'Content-Length: 5'], 'hello world'), { datagram: true });
    expect(m.body.toString()).toBe('hello');
  });

  it('datagram with a longer Content-Length: error with partial', () => {
    const err = errorOf(msg([...head, 'Content-Length: 50'], 'hello'), true);
    expect(err.code).toBe('BAD_CONTENT_LENGTH');
    expect(err.detail).toBe('Content-Length 50 exceeds the 5 bytes received');
    expect(partialOf(err)?.method).toBe('MESSAGE');
  });

  it('stream: exact Content-Length', () => {
    expect(parseMessage(msg([...head, 'Content-Length: 5'], 'hello')).body.toString()).toBe('hello');
  });

  it('stream: bytes after the body are a framing error', () => {
    expect(errorOf(msg([...head, 'Content-Length: 5'], 'hello world')).detail).toBe('6 bytes after the body');
  });

  it('stream: no Content-Length means the buffer holds the body', () => {
    expect(parseMessage(msg(head, 'hi')).body.toString()).toBe('hi');
  });

  it('keeps binary bodies byte for byte', () => {
    const body = Buffer.from([0, 1, 2, 0xff, 0xfe, 13, 10, 13, 10, 0x80]);
    const data = Buffer.concat([msg([...head, `Content-Length: ${body.length}`]), body]);
    expect(parseMessage(data).body.equals(body)).toBe(true);
  });

  it('a message without the empty line has no body', () => {
    const m = parseMessage(Buffer.from(`${head.join('\r\n')}\r\n`), { datagram: true });
    expect(m.body.length).toBe(0);
    expect(m.get('content-type')).toBe('text/plain');
  });
});

describe('round trip: parse -> serialize -> parse', () => {
  it.each([
    ['REGISTER', Buffer.from(REGISTER)],
    ['folded', msg(['NOTIFY sip:a@h SIP/2.0', ...BASE, 'CSeq: 3 NOTIFY', 'Subscription-State: active;', '  expires=60',
      'Event: presence', 'Content-Type: application/pidf+xml', 'Content-Length: 7'], '<x/>\r\n\x00')],
    ['response', msg(['SIP/2.0 401 Unauthorized', ...BASE, 'CSeq: 1 REGISTER',
      'WWW-Authenticate: Digest realm="example.com", nonce="abc", algorithm=MD5, qop="auth"', 'Content-Length: 0'])],
  ])('%s', (_name, data) => {
    const first = parseMessage(data);
    const wire = serializeMessage(first);
    const second = parseMessage(wire);
    expect(second.headers).toEqual(first.headers);
    expect(second.body.equals(first.body)).toBe(true);
    expect(serializeMessage(second).equals(wire)).toBe(true);
  });
});

describe('findHeaderEnd', () => {
  it.each([
    ['A\r\nB\r\n\r\nbody', 8],
    ['A\nB\n\nbody', 5],
    ['A\r\nB\n\r\nbody', 7],
    ['A\nB\r\n\nbody', 6],
    ['A\r\nB\r\n', -1],
    ['', -1],
  ])('%j -> %i', (text, index) => {
    expect(findHeaderEnd(Buffer.from(text), 0)).toBe(index);
  });

  it('searches from the given offset', () => {
    const buf = Buffer.from('X\r\n\r\nA\r\nB\r\n\r\n');
    expect(findHeaderEnd(buf, 5)).toBe(buf.length);
  });
});

describe('scanContentLength', () => {
  const start = 'INVITE sip:a@b SIP/2.0\r\n';
  it.each([
    [`${start}Via: x\r\nContent-Length: 150\r\n\r\n`, 150],
    [`${start}l: 0\r\n\r\n`, 0],
    [`${start}L:7\r\n\r\n`, 7],
    [`${start}content-LENGTH   :  42  \r\n\r\n`, 42],
    [`${start}Content-Length:\r\n  12\r\n\r\n`, 12],
    [`\r\n\r\n${start}Content-Length: 3\r\n\r\n`, 3],
    [`${start}Via: x\r\n\r\n`, undefined],
    [`${start}Via: x\r\n\r\nContent-Length: 5\r\n`, undefined], // in the body, not a header
    [`${start}X-Content-Length: 5\r\n\r\n`, undefined],
    [`${start}Content-Length: 5\r\nContent-Length: 5\r\n\r\n`, 5],
    [`${start}Content-Length: 13\r\nContent-Length: 5\r\n\r\n`, 'invalid'], // RFC 4475 mcl01
    [`${start}Content-Length: -999\r\n\r\n`, 'invalid'], // ncl
    [`${start}Content-Length: \r\n\r\n`, 'invalid'],
    [`${start}Content-Length: 1 2\r\n\r\n`, 'invalid'],
    [`${start}Content-Length: 12345678901\r\n\r\n`, 'invalid'],
    [`${start}Content-Length: 00000000000000150\r\n\r\n`, 150],
    [`${start}Content-Length: 9\nVia: x\n\n`, 9],
  ])('%j -> %s', (text, expected) => {
    expect(scanContentLength(Buffer.from(text))).toBe(expected);
  });
});
