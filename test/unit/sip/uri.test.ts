import { describe, expect, it } from 'vitest';
import {
  aorKey, formatUri, isSipError, isSipUri, isTelUri, parseUri, uriEquals, type SipUri,
} from '../../../src/sip/index.js';

function sip(text: string): SipUri {
  const u = parseUri(text);
  if (!isSipUri(u)) throw new Error('not sip');
  return u;
}

describe('parseUri: sip and sips', () => {
  const cases: Array<[string, Partial<SipUri> & { paramList?: Array<[string, string | null]>; headerList?: Array<[string, string]> }]> = [
    ['sip:alice@atlanta.com', { scheme: 'sip', user: 'alice', password: undefined, host: 'atlanta.com', port: undefined }],
    ['sip:alice:secretword@atlanta.com;transport=tcp', { user: 'alice', password: 'secretword', paramList: [['transport', 'tcp']] }],
    ['sips:alice@atlanta.com?subject=project%20x&priority=urgent', {
      scheme: 'sips', headerList: [['subject', 'project x'], ['priority', 'urgent']],
    }],
    ['sip:+1-212-555-1212:1234@gateway.com;user=phone', { user: '+1-212-555-1212', password: '1234', paramList: [['user', 'phone']] }],
    ['sips:1212@gateway.com', { scheme: 'sips', user: '1212' }],
    ['sip:alice@192.0.2.4', { host: '192.0.2.4' }],
    ['sip:atlanta.com;method=REGISTER?to=alice%40atlanta.com', {
      user: undefined, host: 'atlanta.com', paramList: [['method', 'REGISTER']], headerList: [['to', 'alice@atlanta.com']],
    }],
    ['sip:alice;day=tuesday@atlanta.com', { user: 'alice;day=tuesday', host: 'atlanta.com' }],
    ['sip:[2001:DB8::1]:5070;lr', { host: '[2001:db8::1]', port: 5070, paramList: [['lr', null]] }],
    ['SIP:Bob@BILOXI.Example.COM:5060', { scheme: 'sip', user: 'Bob', host: 'biloxi.example.com', port: 5060 }],
    ['sip:%61lice@atlanta.com;%6Cr', { user: 'alice', paramList: [['lr', null]] }],
    ['sip:j%C3%B6rg@example.com', { user: 'jörg' }],
    ['sip:%E9t%E9@example.com', { user: 'été' }], // not UTF-8: read as Latin-1
    ['sip:*98#@pbx.example.com', { user: '*98#' }], // lenient: unescaped "#"
    ['sip:alice@example.com;Transport=TCP;transport=udp', { paramList: [['transport', 'TCP']] }],
    ['sip:host_name.example.com', { host: 'host_name.example.com' }],
    ['sip:alice:@example.com', { user: 'alice', password: '' }],
  ];
  it.each(cases)('%s', (text, expected) => {
    const u = sip(text);
    const { paramList, headerList, ...fields } = expected;
    expect(u).toMatchObject(fields);
    if (paramList) expect([...u.params]).toEqual(paramList);
    if (headerList) expect([...u.headers]).toEqual(headerList);
  });

  const bad = [
    '', 'alice@example.com', ':x', '1sip:alice@x', 'sip:', 'sip:@example.com', 'sip:alice@', 'sip:alice@example.com:',
    'sip:alice@example.com:65536', 'sip:alice@example.com:123456', 'sip:alice@exa mple.com', ' sip:alice@example.com',
    'sip:alice@example.com ', 'sip:al"ice@example.com', 'sip:alice@[::1', 'sip:alice@[zz::1]', 'sip:alice@[1234]',
    'sip:alice@example.com;', 'sip:alice@example.com;=x', 'sip:alice@example.com;a=', 'sip:alice@example.com?',
    'sip:alice@example.com?x', 'sip:al%4ice@example.com', 'sip:alice%@example.com', 'sip:alice@example.com>',
    'sip:alice<@example.com', 'tel:', 'tel:;x=1', 'tel:+1 555', 'foo:', 'foo:bar baz', 'foo:<x>', 'foo:%zz',
  ];
  it.each(bad)('rejects %j with BAD_URI', (text) => {
    let caught: unknown;
    try {
      parseUri(text);
    } catch (err) {
      caught = err;
    }
    expect(isSipError(caught) && caught.code === 'BAD_URI' && caught.status === 400).toBe(true);
  });
});

describe('parseUri: tel and other schemes', () => {
  it('parses tel: with visual separators and parameters (RFC 3966)', () => {
    const u = parseUri('tel:+1-201-555-0123;ext=1234;Phone-Context=example.com');
    expect(isTelUri(u)).toBe(true);
    expect(u).toEqual({
      scheme: 'tel', number: '+1-201-555-0123', params: new Map([['ext', '1234'], ['phone-context', 'example.com']]),
    });
  });

  it('parses a local tel: number with * and #', () => {
    expect(parseUri('tel:*67#;phone-context=+1')).toMatchObject({ number: '*67#' });
  });

  it.each([
    ['im:alice@example.com', 'im', 'im:alice@example.com'],
    ['PRES:alice@example.com', 'pres', 'pres:alice@example.com'],
    ['http://www.example.com/a?b=c', 'http', 'http://www.example.com/a?b=c'],
    ['urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6', 'urn', 'urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6'],
  ])('%s is an OtherUri', (text, scheme, raw) => {
    const u = parseUri(text);
    expect(u).toEqual({ scheme, raw });
    expect(isSipUri(u) || isTelUri(u)).toBe(false);
  });
});

describe('formatUri', () => {
  it.each([
    'sip:alice@atlanta.com',
    'sip:alice:secretword@atlanta.com;transport=tcp',
    'sips:alice@atlanta.com?Subject=project%20x&Priority=urgent',
    'sip:+1-212-555-1212:1234@gateway.com;user=phone',
    'sip:[2001:db8::1]:5070;lr',
    'sip:alice;day=tuesday@atlanta.com',
    'sip:atlanta.com;method=REGISTER?To=alice%40atlanta.com',
    'tel:+1-201-555-0123;ext=1234',
    'im:alice@example.com',
  ])('round-trips %s', (text) => {
    expect(formatUri(parseUri(text))).toBe(text);
  });

  it.each([
    ['sip:%61lice@example.com', 'sip:alice@example.com'],
    ['sip:I%20have%20spaces@example.net', 'sip:I%20have%20spaces@example.net'],
    ['sip:null-%00-null@example.com', 'sip:null-%00-null@example.com'],
    ['sip:sips%3Auser%40example.com@example.net', 'sip:sips%3Auser%40example.com@example.net'],
    ['sip:*98#@pbx.example.com', 'sip:*98%23@pbx.example.com'],
    ['sip:caller@host5.example.net;%6C%72;n%61me=v%61lue%25%34%31', 'sip:caller@host5.example.net;lr;name=value%2541'],
    ['SIP:Bob@Example.COM', 'sip:Bob@example.com'],
  ])('escapes %s as %s', (text, out) => {
    expect(formatUri(parseUri(text))).toBe(out);
  });

  it('escapes non-ASCII as UTF-8 and re-parses to the same user', () => {
    const u = sip('sip:x@example.com');
    u.user = 'jörg 😀';
    const text = formatUri(u);
    expect(text).toBe('sip:j%C3%B6rg%20%F0%9F%98%80@example.com');
    expect(sip(text).user).toBe('jörg 😀');
  });

  it('writes a lone surrogate as U+FFFD', () => {
    const u = sip('sip:x@example.com');
    u.user = 'a\ud800b';
    expect(formatUri(u)).toBe('sip:a%EF%BF%BDb@example.com');
  });
});

describe('uriEquals (RFC 3261 §19.1.4 examples)', () => {
  it.each([
    ['sip:%61lice@atlanta.com;transport=TCP', 'sip:alice@AtLanTa.CoM;Transport=tcp'],
    ['sip:carol@chicago.com', 'sip:carol@chicago.com;newparam=5'],
    ['sip:carol@chicago.com', 'sip:carol@chicago.com;security=on'],
    ['sip:carol@chicago.com;newparam=5', 'sip:carol@chicago.com;security=on'],
    ['sip:biloxi.com;transport=tcp;method=REGISTER?to=sip:bob%40biloxi.com',
      'sip:biloxi.com;method=REGISTER;transport=tcp?to=sip:bob%40biloxi.com'],
    ['sip:alice@atlanta.com?subject=project%20x&priority=urgent', 'sip:alice@atlanta.com?priority=urgent&subject=project%20x'],
    ['tel:+1-201-555-0123', 'tel:+1.201.555.0123'],
    ['im:alice@example.com', 'IM:alice@example.com'],
  ])('%s == %s', (a, b) => {
    expect(uriEquals(parseUri(a), parseUri(b))).toBe(true);
    expect(uriEquals(parseUri(b), parseUri(a))).toBe(true);
  });

  it.each([
    ['SIP:ALICE@AtLanTa.CoM;Transport=udp', 'sip:alice@AtLanTa.CoM;Transport=UDP'], // user case
    ['sip:bob@biloxi.com', 'sip:bob@biloxi.com:5060'], // explicit default port
    ['sip:bob@biloxi.com', 'sip:bob@biloxi.com;transport=udp'], // transport present in one
    ['sip:bob@biloxi.com:6000;transport=tcp', 'sip:bob@biloxi.com:6000'],
    ['sip:carol@chicago.com', 'sip:carol@chicago.com?Subject=next%20meeting'], // headers never ignored
    ['sip:bob@phone21.boxesbybob.com', 'sip:bob@192.0.2.4'],
    ['sip:alice@example.com', 'sips:alice@example.com'],
    ['sip:alice@example.com;maddr=a', 'sip:alice@example.com;maddr=b'],
    ['sip:alice:x@example.com', 'sip:alice@example.com'],
    ['tel:+1-201-555-0123', 'tel:+1-201-555-0124'],
    ['tel:+1-201-555-0123;ext=1', 'tel:+1-201-555-0123'],
    ['im:alice@example.com', 'im:bob@example.com'],
    ['sip:alice@example.com', 'tel:+1'],
  ])('%s != %s', (a, b) => {
    expect(uriEquals(parseUri(a), parseUri(b))).toBe(false);
    expect(uriEquals(parseUri(b), parseUri(a))).toBe(false);
  });
});

describe('aorKey', () => {
  it.each([
    ['sip:alice@Example.COM', 'alice@example.com'],
    ['sips:alice@example.com:5061;transport=tls', 'alice@example.com'],
    ['sip:%61lice@example.com;user=phone', 'alice@example.com'],
    ['sip:Alice@example.com', 'Alice@example.com'],
    ['sip:example.com', 'example.com'],
    ['sip:bob@[2001:DB8::1]:5060', 'bob@[2001:db8::1]'],
    ['tel:+1-201-555-0123;ext=7', 'tel:+12015550123'],
    ['im:alice@example.com', 'im:alice@example.com'],
  ])('%s -> %s', (text, key) => {
    expect(aorKey(parseUri(text))).toBe(key);
  });
});
