import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  computeHa1, computeResponse, digestEquals, digestLength, isSessionAlgorithm, parseDigestAlgorithm,
} from '../../../src/auth/digest.js';

const md5 = (s: string | Buffer): string => createHash('md5').update(s).digest('hex');

/** RFC 7616 §3.9.1: the Mufasa example (HTTP, so method GET and an abs-path uri). */
const RFC7616 = {
  username: 'Mufasa',
  password: 'Circle of Life',
  realm: 'http-auth@example.org',
  method: 'GET',
  uri: '/dir/index.html',
  nonce: '7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v',
  cnonce: 'f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ',
  nc: '00000001',
  md5: '8ca523f5e9506fed4657c9700eebdbec',
  sha256: '753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1',
};

describe('computeResponse', () => {
  it.each([
    ['MD5', RFC7616.md5],
    ['SHA-256', RFC7616.sha256],
  ] as const)('reproduces the RFC 7616 §3.9.1 %s response', (algorithm, expected) => {
    const ha1 = computeHa1(algorithm, RFC7616.username, RFC7616.realm, RFC7616.password);
    expect(computeResponse({
      algorithm, ha1, method: RFC7616.method, uri: RFC7616.uri, nonce: RFC7616.nonce,
      qop: 'auth', nc: RFC7616.nc, cnonce: RFC7616.cnonce,
    })).toBe(expected);
  });

  it('reproduces the RFC 2617 §3.5 example', () => {
    const ha1 = computeHa1('MD5', 'Mufasa', 'testrealm@host.com', 'Circle Of Life');
    expect(computeResponse({
      algorithm: 'MD5', ha1, method: 'GET', uri: '/dir/index.html',
      nonce: 'dcd98b7102dd2f0e8b11d0f600bfb0c093', qop: 'auth', nc: '00000001', cnonce: '0a4f113b',
    })).toBe('6629fae49393a05397450978507c4ef1');
  });

  it('computes the RFC 2069 form without qop: H(HA1:nonce:HA2)', () => {
    const ha1 = md5('alice:example.com:secret');
    const expected = md5(`${ha1}:n1:${md5('REGISTER:sip:example.com')}`);
    expect(computeResponse({ algorithm: 'MD5', ha1, method: 'REGISTER', uri: 'sip:example.com', nonce: 'n1' })).toBe(expected);
  });

  it('hashes the body for qop=auth-int, the empty body as H("") (RFC 3261 §22.4 item 7)', () => {
    const ha1 = md5('alice:example.com:secret');
    const body = Buffer.from('hello');
    const withBody = md5(`${ha1}:n:00000002:c:auth-int:${md5(`MESSAGE:sip:bob@example.com:${md5(body)}`)}`);
    expect(computeResponse({ algorithm: 'MD5', ha1, method: 'MESSAGE', uri: 'sip:bob@example.com', nonce: 'n', qop: 'auth-int', nc: '00000002', cnonce: 'c', body })).toBe(withBody);
    const empty = md5(`${ha1}:n:00000002:c:auth-int:${md5(`MESSAGE:sip:bob@example.com:${md5('')}`)}`);
    expect(computeResponse({ algorithm: 'MD5', ha1, method: 'MESSAGE', uri: 'sip:bob@example.com', nonce: 'n', qop: 'auth-int', nc: '00000002', cnonce: 'c' })).toBe(empty);
  });

  it('derives the session key for -sess: H(HA1:nonce:cnonce) (RFC 7616 §3.4.2)', () => {
    const ha1 = md5('alice:example.com:secret');
    const sess = md5(`${ha1}:n:c`);
    const expected = md5(`${sess}:n:00000001:c:auth:${md5('REGISTER:sip:example.com')}`);
    expect(computeResponse({ algorithm: 'MD5-sess', ha1, method: 'REGISTER', uri: 'sip:example.com', nonce: 'n', qop: 'auth', nc: '00000001', cnonce: 'c' })).toBe(expected);
    expect(() => computeResponse({ algorithm: 'MD5-sess', ha1, method: 'REGISTER', uri: 'sip:x', nonce: 'n' })).toThrow(TypeError);
  });

  it('accepts an upper-case HA1', () => {
    const ha1 = computeHa1('SHA-256', RFC7616.username, RFC7616.realm, RFC7616.password);
    expect(computeResponse({
      algorithm: 'SHA-256', ha1: ha1.toUpperCase(), method: 'GET', uri: RFC7616.uri, nonce: RFC7616.nonce,
      qop: 'auth', nc: RFC7616.nc, cnonce: RFC7616.cnonce,
    })).toBe(RFC7616.sha256);
  });

  it('refuses qop without nc/cnonce (caller bug)', () => {
    expect(() => computeResponse({ algorithm: 'MD5', ha1: md5('x'), method: 'A', uri: 'b', nonce: 'n', qop: 'auth' })).toThrow(TypeError);
  });
});

describe('algorithm names', () => {
  it.each([
    ['MD5', 'MD5'], ['md5', 'MD5'], ['SHA-256', 'SHA-256'], ['sha-256', 'SHA-256'],
    ['MD5-sess', 'MD5-sess'], ['MD5-SESS', 'MD5-sess'], ['SHA-256-sess', 'SHA-256-sess'],
    ['SHA-512-256', undefined], ['SHA256', undefined], ['', undefined],
  ])('%s -> %s', (name, expected) => {
    expect(parseDigestAlgorithm(name)).toBe(expected);
  });

  it('knows digest lengths and session variants', () => {
    expect(digestLength('MD5')).toBe(32);
    expect(digestLength('SHA-256-sess')).toBe(64);
    expect(isSessionAlgorithm('SHA-256-sess')).toBe(true);
    expect(isSessionAlgorithm('SHA-256')).toBe(false);
  });
});

describe('digestEquals', () => {
  it('compares hex digests, case-insensitively, and refuses different lengths', () => {
    expect(digestEquals(RFC7616.md5, RFC7616.md5)).toBe(true);
    expect(digestEquals(RFC7616.md5, RFC7616.md5.toUpperCase())).toBe(true);
    expect(digestEquals(RFC7616.md5, RFC7616.md5.slice(0, 31) + '0')).toBe(false);
    expect(digestEquals(RFC7616.md5, RFC7616.md5.slice(0, 31))).toBe(false);
    expect(digestEquals(RFC7616.md5, '')).toBe(false);
    expect(digestEquals(RFC7616.md5, 'ä'.repeat(32))).toBe(false);
  });
});
