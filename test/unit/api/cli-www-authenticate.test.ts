import { describe, expect, it } from 'vitest';
import { parseChallenges } from '../../../src/cli/index.js';

const entries = (header: string): Array<[string, Record<string, string>]> =>
  parseChallenges(header).map((c) => [c.scheme, Object.fromEntries(c.params)]);

describe('parseChallenges', () => {
  it('reads one challenge', () => {
    expect(entries('Digest realm="localhost", nonce="abc", algorithm=MD5, qop="auth"')).toEqual([
      ['Digest', { realm: 'localhost', nonce: 'abc', algorithm: 'MD5', qop: 'auth' }],
    ]);
  });

  it('splits the fields fetch joined with ", " back into challenges', () => {
    const joined = [
      'Digest realm="localhost", nonce="n1", algorithm=SHA-256, qop="auth"',
      'Digest realm="localhost", nonce="n1", algorithm=MD5, qop="auth"',
      'Bearer realm="herald-admin", error="invalid_token"',
    ].join(', ');
    expect(entries(joined)).toEqual([
      ['Digest', { realm: 'localhost', nonce: 'n1', algorithm: 'SHA-256', qop: 'auth' }],
      ['Digest', { realm: 'localhost', nonce: 'n1', algorithm: 'MD5', qop: 'auth' }],
      ['Bearer', { realm: 'herald-admin', error: 'invalid_token' }],
    ]);
  });

  it('keeps commas and escapes inside quoted strings, and takes schemes without parameters', () => {
    expect(entries('Negotiate, Digest realm="a, \\"b\\"", qop="auth,auth-int" , nonce = "x"')).toEqual([
      ['Negotiate', {}],
      ['Digest', { realm: 'a, "b"', qop: 'auth,auth-int', nonce: 'x' }],
    ]);
  });

  it('stops at malformed input with what it has read', () => {
    expect(entries('')).toEqual([]);
    expect(entries('=x')).toEqual([]);
    expect(entries('Digest realm="unterminated')).toEqual([['Digest', {}]]);
    expect(entries('Digest realm="a", ;;;')).toEqual([['Digest', { realm: 'a' }]]);
  });
});
