import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  CHALLENGE_QUOTED_PARAMS, CREDENTIALS_QUOTED_PARAMS, formatAuthParams, parseAuthParams,
} from '../../../src/sip/headers/auth.js';
import { isSipError } from '../../../src/sip/errors.js';

function params(value: string): Record<string, string> {
  return Object.fromEntries(parseAuthParams(value).params);
}

function expectBad(value: string): void {
  let caught: unknown;
  try {
    parseAuthParams(value);
  } catch (err) {
    caught = err;
  }
  expect(isSipError(caught), `expected BAD_HEADER for ${JSON.stringify(value)}`).toBe(true);
  expect((caught as { code: string }).code).toBe('BAD_HEADER');
  expect((caught as { detail: string }).detail).toBe('bad Authorization');
}

describe('parseAuthParams', () => {
  it('parses SIP credentials (RFC 3261 §25.1 dig-resp)', () => {
    const a = parseAuthParams(
      'Digest username="alice", realm="localhost", nonce="abc/+=", uri="sip:localhost", '
      + 'response="0123456789abcdef0123456789abcdef", algorithm=SHA-256, qop=auth, nc=00000001, '
      + 'cnonce="xyz", opaque="op"',
    );
    expect(a.scheme).toBe('Digest');
    expect(Object.fromEntries(a.params)).toEqual({
      username: 'alice', realm: 'localhost', nonce: 'abc/+=', uri: 'sip:localhost',
      response: '0123456789abcdef0123456789abcdef', algorithm: 'SHA-256', qop: 'auth', nc: '00000001',
      cnonce: 'xyz', opaque: 'op',
    });
  });

  it('parses the RFC 7616 §3.9.1 challenge, qop list and all', () => {
    const a = parseAuthParams(
      'Digest\r\n    realm="http-auth@example.org",\r\n    qop="auth, auth-int",\r\n    algorithm=SHA-256,\r\n'
      + '    nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",\r\n'
      + '    opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"',
    );
    expect(a.params.get('qop')).toBe('auth, auth-int');
    expect(a.params.get('realm')).toBe('http-auth@example.org');
    expect(a.params.get('opaque')).toBe('FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS');
  });

  it.each([
    ['quoted commas', 'Digest realm="a, b", nonce="n"', { realm: 'a, b', nonce: 'n' }],
    ['escaped quote', 'Digest username="al\\"ice"', { username: 'al"ice' }],
    ['escaped backslash', 'Digest username="a\\\\b"', { username: 'a\\b' }],
    ['escaped ordinary char', 'Digest username="\\a\\b"', { username: 'ab' }],
    ['empty quoted value', 'Digest opaque="", realm="r"', { opaque: '', realm: 'r' }],
    ['names lower-cased', 'Digest Realm="R", NONCE="N"', { realm: 'R', nonce: 'N' }],
    ['token values kept as written', 'Digest algorithm=md5, stale=TRUE', { algorithm: 'md5', stale: 'TRUE' }],
    ['LWS around = and ,', 'Digest realm = "r" ,nonce=  "n"  ,  qop =auth', { realm: 'r', nonce: 'n', qop: 'auth' }],
    ['tabs and folded lines', 'Digest\trealm="r",\r\n\tnonce="n"', { realm: 'r', nonce: 'n' }],
    ['empty list elements', 'Digest realm="r",, ,nonce="n",', { realm: 'r', nonce: 'n' }],
    ['unquoted uri from old clients', 'Digest uri=sip:bob@example.com;transport=tcp, nc=1', { uri: 'sip:bob@example.com;transport=tcp', nc: '1' }],
    ['comma inside quotes followed by more', 'Digest a="x,y=z", b=c', { a: 'x,y=z', b: 'c' }],
    ['UTF-8 inside quotes', 'Digest username="jöns"', { username: 'jöns' }],
    ['scheme alone', 'Digest', {}],
    ['leading whitespace', '  Digest realm="r"', { realm: 'r' }],
  ])('%s', (_name, value, expected) => {
    expect(params(value)).toEqual(expected);
  });

  it('keeps the scheme as written', () => {
    expect(parseAuthParams('digest realm="r"').scheme).toBe('digest');
  });

  it.each([
    ['empty', ''],
    ['blank', '   '],
    ['quoted scheme', '"Digest" realm="r"'],
    ['no space after scheme', 'Digest,realm="r"'],
    ['name without value', 'Digest username'],
    ['name with = and nothing', 'Digest username='],
    ['name with = and blank', 'Digest username=   '],
    ['missing name', 'Digest ="x"'],
    ['unterminated quoted-string', 'Digest realm="localhost'],
    ['backslash at the end', 'Digest realm="abc\\'],
    ['two params without comma', 'Digest a=1 b=2'],
    ['junk after quoted value', 'Digest a="1"x, b=2'],
    ['duplicate name', 'Digest realm="a", realm="b"'],
    ['duplicate name, other case', 'Digest realm="a", REALM="b"'],
    ['control character in quotes', 'Digest realm="a\u0001b"'],
    ['NUL in quotes', 'Digest realm="a\u0000b"'],
    ['DEL in quotes', 'Digest realm="a\u007fb"'],
    ['escaped CR', 'Digest realm="a\\\rb"'],
    ['two challenges in one value', 'Digest realm="a", Basic realm="b"'],
    ['stray quote in token', 'Digest a=b"c"'],
    ['bad name char', 'Digest re@lm="r"'],
    ['semicolon separator', 'Digest realm="r"; nonce="n"'],
  ])('rejects %s', (_name, value) => {
    expectBad(value);
  });

  it('returns a value or throws BAD_HEADER for any input (fuzz)', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (s) => {
      try {
        const a = parseAuthParams(s);
        expect(typeof a.scheme).toBe('string');
      } catch (err) {
        expect(isSipError(err)).toBe(true);
      }
    }), { numRuns: 2000 });
  });

  it('handles Digest-shaped fuzz the same way', () => {
    const piece = fc.constantFrom('Digest', ' ', ',', '=', '"', '\\', 'realm', 'a', '\t', '\r\n', 'x"y', '""');
    fc.assert(fc.property(fc.array(piece, { maxLength: 40 }), (parts) => {
      try {
        parseAuthParams(parts.join(''));
      } catch (err) {
        expect(isSipError(err)).toBe(true);
      }
    }), { numRuns: 2000 });
  });

  it('scans long hostile values in one pass', () => {
    // Inputs that make backtracking parsers explode: many escapes, many empty elements.
    const escapes = 'Digest realm="' + '\\"'.repeat(100_000) + '"';
    expect(parseAuthParams(escapes).params.get('realm')).toBe('"'.repeat(100_000));
    const commas = 'Digest ' + ','.repeat(200_000) + 'a=b';
    expect(parseAuthParams(commas).params.get('a')).toBe('b');
    expectBad('Digest realm="' + 'a'.repeat(200_000)); // unterminated
  });
});

describe('formatAuthParams', () => {
  it('quotes a challenge per RFC 7616 §3.3 (realm, nonce, opaque, domain, qop; not algorithm, stale)', () => {
    const text = formatAuthParams({
      scheme: 'Digest',
      params: new Map([
        ['realm', 'example.com'], ['domain', 'sip:example.com'], ['nonce', 'abc'], ['opaque', 'op'],
        ['algorithm', 'SHA-256'], ['qop', 'auth'], ['stale', 'true'],
      ]),
    });
    expect(text).toBe('Digest realm="example.com", domain="sip:example.com", nonce="abc", opaque="op", '
      + 'algorithm=SHA-256, qop="auth", stale=true');
  });

  it('quotes credentials per RFC 7616 §3.4 (not algorithm, qop, nc)', () => {
    const text = formatAuthParams({
      scheme: 'Digest',
      params: new Map([
        ['username', 'alice'], ['realm', 'example.com'], ['nonce', 'n'], ['uri', 'sip:example.com'],
        ['response', 'ab12'], ['algorithm', 'MD5'], ['cnonce', 'c'], ['opaque', 'o'], ['qop', 'auth'],
        ['nc', '00000001'],
      ]),
    });
    expect(text).toBe('Digest username="alice", realm="example.com", nonce="n", uri="sip:example.com", '
      + 'response="ab12", algorithm=MD5, cnonce="c", opaque="o", qop=auth, nc=00000001');
  });

  it('honours an explicit quoting set', () => {
    const a = { scheme: 'Digest', params: new Map([['qop', 'auth'], ['realm', 'r']]) };
    expect(formatAuthParams(a, CREDENTIALS_QUOTED_PARAMS)).toBe('Digest qop=auth, realm="r"');
    expect(formatAuthParams(a, CHALLENGE_QUOTED_PARAMS)).toBe('Digest qop="auth", realm="r"');
  });

  it('escapes quotes and backslashes and round-trips them', () => {
    const a = { scheme: 'Digest', params: new Map([['realm', 'a"b\\c'], ['nonce', 'n']]) };
    const text = formatAuthParams(a);
    expect(text).toBe('Digest realm="a\\"b\\\\c", nonce="n"');
    expect(parseAuthParams(text).params.get('realm')).toBe('a"b\\c');
  });

  it('sends unknown parameters as tokens when they are tokens, quoted otherwise', () => {
    const a = { scheme: 'Digest', params: new Map([['realm', 'r'], ['x-token', 'abc'], ['x-text', 'a b,c']]) };
    expect(formatAuthParams(a)).toBe('Digest realm="r", x-token=abc, x-text="a b,c"');
  });

  it.each([
    ['CR/LF in a value', new Map([['realm', 'a\r\nVia: evil']])],
    ['NUL in a value', new Map([['realm', 'a\u0000']])],
    ['non-token algorithm', new Map([['algorithm', 'SHA 256']])],
    ['non-token stale', new Map([['stale', '']])],
    ['bad parameter name', new Map([['re alm', 'r']])],
  ])('refuses %s', (_name, p) => {
    expect(() => formatAuthParams({ scheme: 'Digest', params: p })).toThrow(/BAD_HEADER/);
  });

  it('refuses a bad scheme', () => {
    expect(() => formatAuthParams({ scheme: 'Dig est', params: new Map() })).toThrow(/BAD_HEADER/);
  });

  it('round-trips arbitrary parameter maps (property)', () => {
    const name = fc.stringMatching(/^[a-z][a-z0-9-]{0,11}$/);
    const value = fc.string({ maxLength: 30 }).filter((v) => !/[\r\n\u0000]/.test(v));
    fc.assert(fc.property(fc.uniqueArray(fc.tuple(name, value), { selector: (t) => t[0], maxLength: 8 }), (entries) => {
      const clean = entries.filter(([n]) => !['algorithm', 'stale', 'nc', 'userhash', 'charset'].includes(n));
      const a = { scheme: 'Digest', params: new Map(clean) };
      expect(parseAuthParams(formatAuthParams(a)).params).toEqual(a.params);
    }), { numRuns: 1000 });
  });
});
