/**
 * RFC 4475 torture messages (test/fixtures/rfc4475, see SOURCE.md there). Each case follows what
 * the RFC's section says a parser must do with the message; DEVIATION notes match parser.ts.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  SipRequest, SipResponse, contactExpires, contactQ, getTag, isSipError, isSipUri, isTelUri,
  parseMessage, partialOf, serializeMessage, viaBranch, viaReceived, type SipUri, type Uri,
} from '../../../src/sip/index.js';

const DIR = fileURLToPath(new URL('../../fixtures/rfc4475/', import.meta.url));

function load(name: string): Buffer {
  return readFileSync(`${DIR}${name}.dat`);
}

function parse(name: string): SipRequest | SipResponse {
  return parseMessage(load(name), { datagram: true });
}

function request(name: string): SipRequest {
  const m = parse(name);
  if (!(m instanceof SipRequest)) throw new Error(`${name} is not a request`);
  return m;
}

function response(name: string): SipResponse {
  const m = parse(name);
  if (!(m instanceof SipResponse)) throw new Error(`${name} is not a response`);
  return m;
}

function sip(u: Uri): SipUri {
  if (!isSipUri(u)) throw new Error(`not a SIP URI: ${u.scheme}`);
  return u;
}

/** The SipError a message raises (fails the test when it parses or throws something else). */
function failure(name: string) {
  let caught: unknown;
  try {
    parse(name);
  } catch (err) {
    caught = err;
  }
  expect(caught, `${name} should not parse`).toBeDefined();
  expect(isSipError(caught)).toBe(true);
  if (!isSipError(caught)) throw caught;
  return { err: caught, partial: partialOf(caught) };
}

/** Parse -> serialize -> parse gives the same start line, headers (Content-Length aside) and body. */
function expectRoundTrip(m: SipRequest | SipResponse): void {
  const again = parseMessage(serializeMessage(m));
  const strip = (x: SipRequest | SipResponse) => x.headers.filter((h) => h.name !== 'content-length');
  expect(strip(again)).toEqual(strip(m));
  expect(again.body.equals(m.body)).toBe(true);
  if (m instanceof SipRequest) {
    expect(again).toBeInstanceOf(SipRequest);
    expect((again as SipRequest).method).toBe(m.method);
    expect((again as SipRequest).uriText).toBe(m.uriText);
  } else {
    expect((again as SipResponse).status).toBe(m.status);
    expect((again as SipResponse).reason).toBe(m.reason);
  }
}

describe('RFC 4475 §3.1.1 valid messages parse', () => {
  it('3.1.1.1 wsinv: short tortuous INVITE', () => {
    const m = request('wsinv');
    expect(m.method).toBe('INVITE');
    expect(sip(m.uri).params.has('unknownparam')).toBe(true);
    expect(m.to.uri).toMatchObject({ user: 'vivekg', host: 'chair-dnrc.example.com' });
    expect(getTag(m.to)).toBe('1918181833n');
    expect(m.from.displayName).toBe('J Rosenberg \\"');
    expect(getTag(m.from)).toBe('98asjd8');
    expect(m.maxForwards).toBe(68);
    expect(m.callId).toBe('wsinv.ndaksdj@192.0.2.1');
    expect(m.cseq).toEqual({ seq: 9, method: 'INVITE' });
    expect(m.via).toHaveLength(3);
    expect(m.via[0]).toMatchObject({ protocol: 'SIP/2.0', transport: 'UDP', host: '192.0.2.2' });
    expect(viaBranch(m.via[0]!)).toBe('390skdjuw');
    expect(m.via[1]).toMatchObject({ transport: 'TCP', host: 'spindle.example.com' });
    expect(viaBranch(m.via[1]!)).toBe('z9hG4bK9ikj8');
    expect(m.via[2]).toMatchObject({ transport: 'UDP', host: '192.168.255.111' });
    expect(viaBranch(m.via[2]!)).toBe('z9hG4bK30239');
    expect(m.get('subject')).toBe('');
    expect(m.get('newfangledheader')).toBe('newfangled value continued newfangled value');
    expect(m.get('unknownheaderwithunusualvalue')).toBe(';;,,;;,;');
    expect(m.routes).toHaveLength(1);
    expect([...sip(m.routes[0]!.uri).params.keys()]).toEqual(['lr', 'unknownwith', 'unknown-no-value']);
    const [contact] = m.contacts;
    if (!contact || contact.star) throw new Error('expected a Contact');
    expect(contact.displayName).toBe('Quoted string ""');
    expect(contact.params.get('newparam')).toBe('newvalue');
    expect(contact.params.get('secondparam')).toBeNull();
    expect(contactQ(contact)).toBe(0.33);
    expect(m.contentType).toBe('application/sdp');
    expect(m.body.length).toBe(150);
    expectRoundTrip(m);
  });

  it('3.1.1.2 intmeth: wide range of valid characters', () => {
    const m = request('intmeth');
    expect(m.method).toBe("!interesting-Method0123456789_*+`.%indeed'~");
    expect(m.cseq).toEqual({ seq: 139122385, method: m.method });
    const ruri = sip(m.uri);
    expect(ruri.user).toBe("1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*");
    expect(ruri.password).toBe("&it+has=1,weird!*pas$wo~d_too.(doesn't-it)");
    expect(ruri.host).toBe('example.com');
    expect(m.to.displayName).toBe('BEL:\x07 NUL:\x00 DEL:\x7f');
    expect(sip(m.to.uri).user).toBe("1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*");
    expect(m.from.displayName).toBe("token1~` token2'+_ token3*%!.-");
    expect(m.from.params.get("fromparam''~+*_!.-%")).toBe('"работающий"');
    expect(getTag(m.from)).toBe("_token~1'+`*%!-.");
    expect(m.callId).toBe("intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{");
    expect(m.maxForwards).toBe(255);
    expect(m.get("extensionheader-!.%*+_`'~")).toBe('\ufeff\u5927\u505c\u96fb');
    expect(viaBranch(m.via[0]!)).toBe("z9hG4bK-.!%66*_+`'~");
    expectRoundTrip(m);
  });

  it('3.1.1.3 esc01: valid use of the % escaping mechanism', () => {
    const m = request('esc01');
    // "the Request-URI ... user part is 'sips:user@example.com'"
    expect(sip(m.uri)).toMatchObject({ user: 'sips:user@example.com', host: 'example.net' });
    expect(sip(m.to.uri).user).toBe('user');
    expect(sip(m.from.uri).user).toBe('I have spaces');
    const [contact] = m.contacts;
    if (!contact || contact.star) throw new Error('expected a Contact');
    const curi = sip(contact.uri);
    expect(curi.user).toBe('caller');
    expect(curi.params.get('lr')).toBeNull();
    expect(curi.params.get('name')).toBe('value%41');
    expect(m.contentType).toBe('application/sdp');
    expectRoundTrip(m);
  });

  it('3.1.1.4 escnull: escaped nulls in URIs', () => {
    const m = request('escnull');
    expect(sip(m.to.uri).user).toBe('null-\0-null');
    expect(m.contacts.map((c) => (c.star ? '*' : sip(c.uri).user))).toEqual(['\0', '\0\0']);
    expect(m.body.length).toBe(0);
    expectRoundTrip(m);
  });

  it('3.1.1.5 esc02: % that is not an escape', () => {
    const m = request('esc02');
    expect(m.method).toBe('RE%47IST%45R'); // an unknown method, not REGISTER
    expect(m.cseq.method).toBe('RE%47IST%45R');
    expect(m.to.displayName).toBe('%Z%45');
    expect(viaBranch(m.via[0]!)).toBe('z9hG4bK209%fzsnel234');
    // `C%6Fntact` is an unknown header, not a Contact.
    expect(m.contacts.map((c) => (c.star ? '*' : sip(c.uri).user))).toEqual(['alias1', 'alias3']);
    expect(m.get('c%6fntact')).toBe('<sip:alias2@host2.example.com>');
    expectRoundTrip(m);
  });

  it('3.1.1.6 lwsdisp: no LWS between display name and <', () => {
    const m = request('lwsdisp');
    expect(m.from.displayName).toBe('caller');
    expect(sip(m.from.uri).user).toBe('caller');
    expect(getTag(m.from)).toBe('323');
    expectRoundTrip(m);
  });

  it('3.1.1.7 longreq: long values in header fields', () => {
    const m = request('longreq');
    expect(m.to.displayName).toBe(`I have a user name of ${'extreme'.repeat(10)} proportion`);
    expect(sip(m.to.uri).port).toBe(6000);
    expect(getTag(m.from)).toBe(`12${'982'.repeat(50)}424`);
    expect(m.callId).toBe(`longreq.one${'really'.repeat(20)}longcallid`);
    expect(m.via).toHaveLength(34);
    for (let i = 0; i < 33; i++) expect(m.via[i]!.host).toBe(`sip${33 - i}.example.com`);
    expect(viaBranch(m.via[33]!)).toBe(`very${'long'.repeat(50)}branchvalue`);
    expect(viaReceived(m.via[33]!)).toBe('192.0.2.5');
    const [contact] = m.contacts;
    if (!contact || contact.star) throw new Error('expected a Contact');
    expect(sip(contact.uri).user).toBe('amazinglylongcallername'.repeat(5));
    expect(m.body.length).toBe(150);
    expectRoundTrip(m);
  });

  it('3.1.1.8 dblreq: extra trailing octets in a UDP datagram are discarded', () => {
    const m = request('dblreq');
    expect(m.method).toBe('REGISTER');
    expect(m.callId).toBe('dblreq.0ha0isndaksdj99sdfafnl3lk233412');
    expect(m.body.length).toBe(0);
    // On a stream the buffer must be exactly one message: the trailing INVITE is a framing error.
    expect(() => parseMessage(load('dblreq'))).toThrow(/bytes after the body/);
  });

  it('3.1.1.9 semiuri: semicolon-separated parameters in the URI user part', () => {
    const m = request('semiuri');
    const ruri = sip(m.uri);
    expect(ruri.user).toBe('user;par=u@example.net');
    expect(ruri.host).toBe('example.com');
    expect(ruri.params.size).toBe(0);
    expect(m.getAll('accept')).toEqual([
      'application/sdp', 'application/pkcs7-mime', 'multipart/mixed', 'multipart/signed', 'message/sip',
      'message/sipfrag',
    ]);
    expectRoundTrip(m);
  });

  it('3.1.1.10 transports: varied and unknown transport types', () => {
    const m = request('transports');
    expect(m.via.map((v) => v.transport)).toEqual(['UDP', 'SCTP', 'TLS', 'UNKNOWN', 'TCP']);
    expect(m.callId).toBe('transports.kijh4akdnaqjkwendsasfdj');
    expectRoundTrip(m);
  });

  it('3.1.1.11 mpart01: multipart MIME body kept byte for byte', () => {
    const m = request('mpart01');
    expect(m.method).toBe('MESSAGE');
    expect(m.contentType).toBe('multipart/mixed');
    expect(m.body.length).toBe(553);
    const raw = load('mpart01');
    expect(m.body.equals(raw.subarray(raw.length - 553))).toBe(true);
    expect(m.get('identity')).toMatch(/^r5mwreLuyDRYBi/);
    expectRoundTrip(m);
  });

  it('3.1.1.12 unreason: unusual reason phrase (UTF-8)', () => {
    const m = response('unreason');
    expect(m.status).toBe(200);
    expect(m.reason).toBe('= 2**3 * 5**2 но сто девяносто девять - простое');
    expect(m.body.length).toBe(154);
    expectRoundTrip(m);
  });

  it('3.1.1.13 noreason: empty reason phrase', () => {
    const m = response('noreason');
    expect(m.status).toBe(100);
    expect(m.reason).toBe('');
    expectRoundTrip(m);
  });
});

describe('RFC 4475 §3.1.2 invalid messages are rejected', () => {
  it('3.1.2.1 badinv01: extraneous header field separators', () => {
    const { err, partial } = failure('badinv01');
    expect(err.code).toBe('BAD_HEADER');
    expect(err.status).toBe(400);
    expect(err.detail).toMatch(/Via/);
    expect(partial?.callId).toBe('badinv01.0ha0isndaksdjasdf3234nas');
  });

  it('3.1.2.2 clerr: Content-Length larger than the datagram', () => {
    const { err, partial } = failure('clerr');
    expect(err.code).toBe('BAD_CONTENT_LENGTH');
    expect(err.status).toBe(400);
    expect(err.detail).toMatch(/9999/);
    expect(partial?.method).toBe('INVITE');
  });

  it('3.1.2.3 ncl: negative Content-Length', () => {
    const { err, partial } = failure('ncl');
    expect(err.status).toBe(400);
    expect(err.detail).toMatch(/Content-Length/);
    expect(partial).toBeDefined();
  });

  it('3.1.2.4 scalar02: request scalar fields with overlarge values', () => {
    const { err, partial } = failure('scalar02');
    expect(err.status).toBe(400);
    expect(err.detail).toMatch(/CSeq/);
    expect(partial?.method).toBe('REGISTER');
  });

  it('3.1.2.4 scalar02: Max-Forwards 300 alone is rejected too', () => {
    const text = load('scalar02').toString('latin1').replace('36893488147419103232', '1');
    expect(() => parseMessage(Buffer.from(text, 'latin1'), { datagram: true })).toThrow(/Max-Forwards/);
  });

  it('3.1.2.5 scalarlg: response scalar fields with overlarge values', () => {
    const { err, partial } = failure('scalarlg');
    expect(err.status).toBe(400);
    expect(err.detail).toMatch(/CSeq/);
    expect(partial).toBeUndefined(); // a response is discarded, never answered
  });

  it('3.1.2.6 quotbal: unterminated quoted string in display name', () => {
    const { err, partial } = failure('quotbal');
    expect(err.code).toBe('BAD_HEADER');
    expect(err.detail).toMatch(/^bad To: .*quoted/);
    expect(partial?.callId).toBe('quotbal.aksdj');
  });

  it('3.1.2.7 ltgtruri: <> enclosing the Request-URI', () => {
    const { err, partial } = failure('ltgtruri');
    expect(err.code).toBe('BAD_URI');
    expect(err.status).toBe(400);
    expect(err.detail).toMatch(/Request-URI/);
    expect(partial?.uriText).toBe('<sip:user@example.com>');
  });

  it('3.1.2.8 lwsruri: embedded LWS in the Request-URI', () => {
    const { err, partial } = failure('lwsruri');
    expect(err.code).toBe('BAD_START_LINE');
    expect(err.detail).toMatch(/Request-URI/);
    expect(partial?.method).toBe('INVITE');
    expect(partial?.callId).toBe('lwsruri.asdfasdoeoi2323-asdfwrn23-asd834rk423');
  });

  it('3.1.2.9 lwsstart: multiple SP separating Request-Line elements (DEVIATION: rejected)', () => {
    const { err, partial } = failure('lwsstart');
    expect(err.code).toBe('BAD_START_LINE');
    expect(partial?.uriText).toBe('sip:user@example.com');
  });

  it('3.1.2.10 trws: SP characters at the end of the Request-Line (DEVIATION: rejected)', () => {
    const { err, partial } = failure('trws');
    expect(err.code).toBe('BAD_START_LINE');
    expect(partial?.method).toBe('OPTIONS');
    expect(partial?.uriText).toBe('sip:remote-target@example.com');
  });

  it('3.1.2.11 escruri: escaped headers in the SIP Request-URI', () => {
    const { err, partial } = failure('escruri');
    expect(err.code).toBe('BAD_URI');
    expect(err.detail).toMatch(/headers/);
    expect(partial?.method).toBe('INVITE');
  });

  it('3.1.2.12 baddate: non-GMT Date (DEVIATION: Date is not interpreted, the message parses)', () => {
    const m = request('baddate');
    expect(m.get('date')).toBe('Fri, 01 Jan 2010 16:00:00 EST');
  });

  it('3.1.2.13 regbadct: addr-spec Contact with "?" (DEVIATION: rejected when Contact is read)', () => {
    const m = request('regbadct');
    let caught: unknown;
    try {
      void m.contacts;
    } catch (err) {
      caught = err;
    }
    expect(isSipError(caught) && caught.status === 400 && caught.code === 'BAD_HEADER').toBe(true);
  });

  it('3.1.2.14 badaspec: spaces within addr-spec', () => {
    const { err, partial } = failure('badaspec');
    expect(err.code).toBe('BAD_HEADER');
    expect(err.detail).toMatch(/^bad To/);
    expect(partial?.method).toBe('OPTIONS');
  });

  it('3.1.2.15 baddn: non-token characters in display name', () => {
    const { err } = failure('baddn');
    expect(err.code).toBe('BAD_HEADER');
    expect(err.detail).toMatch(/^bad From: .*display name/);
  });

  it('3.1.2.16 badvers: unknown protocol version -> 505', () => {
    const { err, partial } = failure('badvers');
    expect(err.code).toBe('VERSION_NOT_SUPPORTED');
    expect(err.status).toBe(505);
    expect(partial?.callId).toBe('badvers.31417@c.example.com');
  });

  it('3.1.2.17 mismatch01: start line and CSeq method mismatch', () => {
    const { err, partial } = failure('mismatch01');
    expect(err.code).toBe('CSEQ_METHOD_MISMATCH');
    expect(err.status).toBe(400);
    expect(partial?.method).toBe('OPTIONS');
  });

  it('3.1.2.18 mismatch02: unknown method with CSeq method mismatch (400; RFC allows 400 or 501)', () => {
    const { err, partial } = failure('mismatch02');
    expect(err.code).toBe('CSEQ_METHOD_MISMATCH');
    expect(partial?.method).toBe('NEWMETHOD');
  });

  it('3.1.2.19 bigcode: overlarge response code', () => {
    const { err, partial } = failure('bigcode');
    expect(err.code).toBe('BAD_START_LINE');
    expect(err.detail).toMatch(/Status-Code/);
    expect(partial).toBeUndefined();
  });
});

describe('RFC 4475 §3.2 transaction layer', () => {
  it('3.2.1 badbranch: a bare magic cookie still parses', () => {
    const m = request('badbranch');
    expect(viaBranch(m.topVia!)).toBe('z9hG4bK');
    expectRoundTrip(m);
  });
});

describe('RFC 4475 §3.3 application layer: the parser accepts, the server decides', () => {
  it('3.3.1 insuf: missing required header fields', () => {
    const { err, partial } = failure('insuf');
    expect(err.code).toBe('MISSING_HEADER');
    expect(err.detail).toBe('missing From, To, Call-ID');
    expect(partial?.cseq).toEqual({ seq: 193942, method: 'INVITE' });
    expect(partial?.topVia?.host).toBe('192.0.2.95');
  });

  it('3.3.2 unkscm: unknown Request-URI scheme parses (the server answers 416)', () => {
    const m = request('unkscm');
    expect(m.uri.scheme).toBe('nobodyknowsthisscheme');
    expect(isSipUri(m.uri) || isTelUri(m.uri)).toBe(false);
    expectRoundTrip(m);
  });

  it('3.3.3 novelsc: known but atypical scheme', () => {
    const m = request('novelsc');
    expect(m.uri).toEqual({ scheme: 'soap.beep', raw: 'soap.beep://192.0.2.103:3002' });
  });

  it('3.3.4 unksm2: unknown schemes in To, From and Contact', () => {
    const m = request('unksm2');
    expect(m.to.uri).toEqual({ scheme: 'isbn', raw: 'isbn:2983792873' });
    expect(m.from.uri.scheme).toBe('http');
    expect(getTag(m.from)).toBe('3234233');
    const [contact] = m.contacts;
    expect(contact && !contact.star && contact.uri.scheme).toBe('name');
    expectRoundTrip(m);
  });

  it('3.3.5 bext01: Require and Proxy-Require lists', () => {
    const m = request('bext01');
    expect(m.getAll('require')).toEqual(['nothingSupportsThis', 'nothingSupportsThisEither']);
    expect(m.getAll('proxy-require')).toEqual(['noProxiesSupportThis', 'norDoAnyProxiesSupportThis']);
  });

  it('3.3.6 invut: unknown Content-Type', () => {
    const m = request('invut');
    expect(m.contentType).toBe('application/unknownformat');
    expect(m.body.toString()).toBe('<audio>\r\n <pcmu port="443"/>\r\n</audio>\r\n');
  });

  it('3.3.7 regaut01: unknown authorization scheme is kept raw', () => {
    const m = request('regaut01');
    expect(m.get('authorization')).toBe('NoOneKnowsThisScheme opaque-data=here');
    expect(m.body.length).toBe(0);
  });

  it('3.3.8 multi01: multiple values in single-value fields', () => {
    const { err, partial } = failure('multi01');
    expect(err.code).toBe('BAD_HEADER');
    expect(err.detail).toMatch(/^multiple /);
    expect(partial?.method).toBe('INVITE');
  });

  it('3.3.9 mcl01: multiple Content-Length values', () => {
    const { err, partial } = failure('mcl01');
    expect(err.code).toBe('BAD_CONTENT_LENGTH');
    expect(partial?.method).toBe('OPTIONS');
  });

  it('3.3.10 bcast: response with a broadcast Via', () => {
    const m = response('bcast');
    expect(m.via.map((v) => v.host)).toEqual(['192.0.2.198', '255.255.255.255']);
  });

  it('3.3.11 zeromf: Max-Forwards of zero', () => {
    expect(request('zeromf').maxForwards).toBe(0);
  });

  it('3.3.12 cparam01: addr-spec Contact parameter belongs to the header', () => {
    const [c] = request('cparam01').contacts;
    if (!c || c.star) throw new Error('expected a Contact');
    expect(c.params.has('unknownparam')).toBe(true);
    expect(sip(c.uri).params.size).toBe(0);
    expect(sip(c.uri).user).toBe('+19725552222');
  });

  it('3.3.13 cparam02: name-addr Contact parameter belongs to the URI', () => {
    const [c] = request('cparam02').contacts;
    if (!c || c.star) throw new Error('expected a Contact');
    expect(c.params.size).toBe(0);
    expect(sip(c.uri).params.has('unknownparam')).toBe(true);
  });

  it('3.3.14 regescrt: escaped header in a Contact URI', () => {
    const [c] = request('regescrt').contacts;
    if (!c || c.star) throw new Error('expected a Contact');
    expect(sip(c.uri).headers.get('route')).toBe('<sip:sip.example.com>');
  });

  it('3.3.15 sdp01: unacceptable Accept offering parses', () => {
    expect(request('sdp01').get('accept')).toBe('text/nobodyKnowsThis');
  });
});

describe('RFC 4475 §3.4 backward compatibility', () => {
  it('3.4.1 inv2543: RFC 2543 syntax (no Max-Forwards, no branch, no Content-Length)', () => {
    const m = request('inv2543');
    expect(m.maxForwards).toBeUndefined();
    expect(viaBranch(m.topVia!)).toBeUndefined();
    expect(m.body.toString()).toMatch(/^v=0\r\n/);
    expect(m.body.length).toBe(load('inv2543').length - load('inv2543').indexOf('\r\n\r\n') - 4);
    // Addr-spec form: `;user=phone` after the URI is a header parameter (RFC 3261 §20.10)...
    expect(m.to.params.get('user')).toBe('phone');
    expect(sip(m.to.uri).params.size).toBe(0);
    // ...while inside <> it is a URI parameter.
    expect(sip(m.from.uri).params.get('user')).toBe('phone');
  });
});

describe('RFC 4475 scalar02 Contact expires', () => {
  it('a huge expires parameter is clamped (RFC 4475 §3.1.2.4)', () => {
    const text = load('scalar02').toString('latin1')
      .replace('36893488147419103232', '1').replace('Max-Forwards: 300', 'Max-Forwards: 30');
    const m = parseMessage(Buffer.from(text, 'latin1'), { datagram: true });
    const [c] = m.contacts;
    if (!c) throw new Error('expected a Contact');
    expect(contactExpires(c)).toBe(0xffffffff);
  });
});
