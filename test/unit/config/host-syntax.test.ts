import { describe, expect, it } from 'vitest';
import { isHostname, parseDnsServer, parseIpOrCidr, splitHostPort } from '../../../src/config/host-syntax.js';
import { suggest } from '../../../src/config/suggest.js';

describe('isHostname (RFC 1123 §2.1)', () => {
  it.each(['localhost', 'sip.example.com', 'example.com.', 'a-b.c1', '1e100.net', 'x'])('accepts %s', (name) => {
    expect(isHostname(name)).toBe(true);
  });
  it.each(['', '-a.com', 'a-.com', 'a..b', 'a_b.com', '256.1.1.1', '1.2.3', `${'a'.repeat(64)}.com`, `${'a.'.repeat(127)}ab`, 'ex ample.com'])('refuses %j', (name) => {
    expect(isHostname(name)).toBe(false);
  });
});

describe('parseIpOrCidr', () => {
  it.each([
    ['192.0.2.1', '192.0.2.1'],
    ['10.0.0.0/8', '10.0.0.0/8'],
    ['0.0.0.0/0', '0.0.0.0/0'],
    ['2001:DB8::/32', '2001:db8::/32'],
    ['::/0', '::/0'],
    ['::1/128', '::1/128'],
  ])('accepts %s', (input, expected) => {
    expect(parseIpOrCidr(input)).toEqual({ ok: true, value: expected });
  });
  it.each(['10.0.0.0/33', '::/129', '10.0.0.0/-1', '10.0.0.0/+8', '10.0.0.0/08x', '[::1]', 'fe80::1%eth0', '10.0.0/8', 'host/8'])('refuses %s', (input) => {
    expect(parseIpOrCidr(input).ok).toBe(false);
  });
});

describe('splitHostPort and parseDnsServer', () => {
  it('splits the bracketed, plain and port-less forms', () => {
    expect(splitHostPort('[::1]:53')).toEqual({ ok: true, value: { host: '[::1]', port: 53 } });
    expect(splitHostPort('127.0.0.1:0')).toEqual({ ok: true, value: { host: '127.0.0.1', port: 0 } });
    expect(splitHostPort('example.com')).toEqual({ ok: true, value: { host: 'example.com', port: undefined } });
    expect(splitHostPort('2001:db8::1')).toEqual({ ok: true, value: { host: '2001:db8::1', port: undefined } });
    expect(splitHostPort('a:b:c').ok).toBe(false);
    expect(splitHostPort('h:').ok).toBe(false);
  });
  it('normalizes DNS servers to HOST:PORT with the port defaulting to 53', () => {
    expect(parseDnsServer('[2001:DB8::53]')).toEqual({ ok: true, value: '[2001:db8::53]:53' });
    expect(parseDnsServer('192.0.2.53:5353')).toEqual({ ok: true, value: '192.0.2.53:5353' });
    expect(parseDnsServer('localhost:53').ok).toBe(false);
  });
});

describe('suggest', () => {
  const keys = ['listen', 'domains', 'dataDir', 'port', 'maxExpires', 'minExpires'];
  it.each([
    ['lisen', 'listen'],
    ['data_dir', 'dataDir'],
    ['DATA-DIR', 'dataDir'],
    ['prot', 'port'],
    ['domain', 'domains'],
    ['maxExpire', 'maxExpires'],
  ])('%s -> %s', (input, expected) => {
    expect(suggest(input, keys)).toBe(expected);
  });
  it.each(['frobnicate', 'x', 'z'.repeat(100)])('nothing close to %s', (input) => {
    expect(suggest(input, keys)).toBeUndefined();
  });
});
