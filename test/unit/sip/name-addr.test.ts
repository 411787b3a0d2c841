import { describe, expect, it } from 'vitest';
import {
  formatNameAddr, getTag, isSipError, parseNameAddr, parseUri, type NameAddr,
} from '../../../src/sip/index.js';

describe('parseNameAddr', () => {
  const cases: Array<[string, string | undefined, string, Array<[string, string | null]>]> = [
    // text, display name, URI (formatted), header params
    ['<sip:alice@atlanta.com>', undefined, 'sip:alice@atlanta.com', []],
    ['"Alice" <sip:alice@atlanta.com>;tag=1928301774', 'Alice', 'sip:alice@atlanta.com', [['tag', '1928301774']]],
    ['Bob <sip:bob@biloxi.com>', 'Bob', 'sip:bob@biloxi.com', []],
    ['Lee  M.\tSmith <sip:lee@x.com>', 'Lee M. Smith', 'sip:lee@x.com', []],
    ['caller<sip:caller@example.com>;tag=323', 'caller', 'sip:caller@example.com', [['tag', '323']]],
    ['"A \\"quoted\\" \\\\ name"<sip:a@b.c>', 'A "quoted" \\ name', 'sip:a@b.c', []],
    ['"" <sip:a@b.c>', '', 'sip:a@b.c', []],
    ['sip:alice@atlanta.com;tag=88sja8x', undefined, 'sip:alice@atlanta.com', [['tag', '88sja8x']]],
    ['sip:alice@atlanta.com ;  tag = 88sja8x ', undefined, 'sip:alice@atlanta.com', [['tag', '88sja8x']]],
    ['  <sip:alice@atlanta.com;transport=tcp>;expires=60;+sip.instance="<urn:uuid:00000000-0000-1000-8000-000A95A0E128>"',
      undefined, 'sip:alice@atlanta.com;transport=tcp',
      [['expires', '60'], ['+sip.instance', '"<urn:uuid:00000000-0000-1000-8000-000A95A0E128>"']]],
    ['<sip:p1.example.com;lr>', undefined, 'sip:p1.example.com;lr', []],
    ['tel:+1-201-555-0123;tag=x', undefined, 'tel:+1-201-555-0123', [['tag', 'x']]],
    ['<tel:+1-201-555-0123;ext=2>', undefined, 'tel:+1-201-555-0123;ext=2', []],
    ['isbn:2983792873', undefined, 'isbn:2983792873', []],
    ['<sip:a@b.c>;Q=0.7;FLAG;Tag=AbC', undefined, 'sip:a@b.c', [['q', '0.7'], ['flag', null], ['tag', 'AbC']]],
    ['<sip:a@b.c>;received=[2001:db8::1]', undefined, 'sip:a@b.c', [['received', '[2001:db8::1]']]],
  ];
  it.each(cases)('%j', (text, display, uri, params) => {
    const na = parseNameAddr(text);
    expect(na.displayName).toBe(display);
    expect(na.uri).toEqual(parseUri(uri));
    expect([...na.params]).toEqual(params);
  });

  const bad: Array<[string, RegExp]> = [
    ['', /empty/],
    ['   ', /empty/],
    ['"Mr. J. User <sip:j.user@example.com>', /unterminated/], // RFC 4475 quotbal
    ['Bell, Alexander <sip:a.g.bell@example.com>;tag=43', /display name/], // baddn
    ['"Watson, Thomas" < sip:t.watson@example.org >', /URI/], // badaspec
    ['<sip:alice@atlanta.com', /">"/],
    ['"Alice" sip:alice@atlanta.com', /"<"/],
    ['<sip:a@b.c> junk', /after ">"/],
    ['<sip:a@b.c>;;', /empty parameter name/], // badinv01 Contact
    ['<sip:a@b.c>;tag=', /empty value/],
    ['<sip:a@b.c>;x="open', /unterminated/],
    ['<sip:a@b.c>;x=a b', /unexpected/],
    ['sip:user@example.com?Route=%3Csip:sip.example.com%3E', /enclosed/], // regbadct
    ['sip:a,b@example.com', /enclosed/],
    ['nourihere', /URI/],
  ];
  it.each(bad)('rejects %j', (text, detail) => {
    let caught: unknown;
    try {
      parseNameAddr(text);
    } catch (err) {
      caught = err;
    }
    expect(isSipError(caught)).toBe(true);
    if (!isSipError(caught)) return;
    expect(caught.status).toBe(400);
    expect(caught.detail).toMatch(detail);
  });
});

describe('formatNameAddr', () => {
  it.each([
    ['"Alice" <sip:alice@atlanta.com>;tag=1928301774', '"Alice" <sip:alice@atlanta.com>;tag=1928301774'],
    ['sip:alice@atlanta.com;tag=x', '<sip:alice@atlanta.com>;tag=x'],
    ['Bob <sip:bob@biloxi.com>', '"Bob" <sip:bob@biloxi.com>'],
    ['"A \\"q\\"" <sip:a@b.c>', '"A \\"q\\"" <sip:a@b.c>'],
    ['<sip:a@b.c>;+sip.instance="<urn:x>";reg-id=1', '<sip:a@b.c>;+sip.instance="<urn:x>";reg-id=1'],
  ])('%s -> %s', (text, out) => {
    expect(formatNameAddr(parseNameAddr(text))).toBe(out);
  });

  it('round-trips through parse', () => {
    const na: NameAddr = {
      displayName: 'Zoë "Z" \\', uri: parseUri('sip:zoe@example.com;transport=tcp'), params: new Map([['tag', 'a1']]),
    };
    expect(parseNameAddr(formatNameAddr(na))).toEqual(na);
  });

  it('cannot be tricked into a line break by a display name', () => {
    const na = parseNameAddr('<sip:a@b.c>');
    na.displayName = 'evil\r\nVia: x';
    expect(formatNameAddr(na)).toBe('"evil  Via: x" <sip:a@b.c>');
  });
});

describe('getTag', () => {
  it.each([
    ['<sip:a@b.c>;tag=xyz', 'xyz'],
    ['<sip:a@b.c;tag=uri-param>', undefined],
    ['<sip:a@b.c>;tag', undefined],
    ['sip:a@b.c;TAG=Up', 'Up'],
  ])('%s -> %s', (text, tag) => {
    expect(getTag(parseNameAddr(text))).toBe(tag);
  });
});
