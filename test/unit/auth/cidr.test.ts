import { describe, expect, it } from 'vitest';
import { CidrSet, parseCidr } from '../../../src/auth/cidr.js';

describe('CidrSet', () => {
  it.each([
    // [entries, address, expected]
    [['192.0.2.0/24'], '192.0.2.1', true],
    [['192.0.2.0/24'], '192.0.2.255', true],
    [['192.0.2.0/24'], '192.0.3.0', false],
    [['10.0.0.0/9'], '10.127.255.255', true],
    [['10.0.0.0/9'], '10.128.0.0', false],
    [['10.1.2.3/8'], '10.200.0.1', true], // host bits in the entry are ignored
    [['192.0.2.7/32'], '192.0.2.7', true],
    [['192.0.2.7/32'], '192.0.2.8', false],
    [['192.0.2.7'], '192.0.2.7', true], // bare address = /32
    [['192.0.2.7'], '192.0.2.6', false],
    [['0.0.0.0/0'], '203.0.113.9', true],
    [['0.0.0.0/0'], '2001:db8::1', false], // /0 of IPv4 is every IPv4 peer only
    [['::/0'], '2001:db8::1', true],
    [['::/0'], '203.0.113.9', false],
    [['2001:db8::/32'], '2001:db8:ffff::1', true],
    [['2001:db8::/32'], '2001:db9::1', false],
    [['2001:db8::/33'], '2001:db8:7fff::1', true],
    [['2001:db8::/33'], '2001:db8:8000::1', false],
    [['2001:db8::1/128'], '2001:db8::1', true],
    [['2001:db8::1/128'], '2001:db8::2', false],
    [['2001:db8::1'], '2001:0db8:0000:0000:0000:0000:0000:0001', true], // other spelling
    [['::1'], '::1', true],
    [['::1'], '[::1]', true], // brackets
    [['fe80::/10'], 'fe80::1%eth0', true], // zone id
    [['192.0.2.0/24'], '::ffff:192.0.2.9', true], // IPv4-mapped peer
    [['::ffff:192.0.2.0/120'], '192.0.2.9', true], // IPv4-mapped entry
    [['::ffff:192.0.2.0/120'], '192.0.3.9', false],
    [['::ffff:0:0/96'], '8.8.8.8', true],
    [['64:ff9b::/96'], '64:ff9b::192.0.2.1', true], // embedded dotted quad
    [['10.0.0.0/8', '2001:db8::/32'], '2001:db8::5', true],
    [['10.0.0.0/8', '2001:db8::/32'], '11.0.0.1', false],
    [[], '127.0.0.1', false],
    [['0.0.0.0/0'], 'example.com', false], // names are never trusted
    [['0.0.0.0/0'], '', false],
    [['0.0.0.0/0'], '1.2.3', false],
  ] as const)('%j contains %s: %s', (entries, address, expected) => {
    expect(new CidrSet(entries).contains(address)).toBe(expected);
  });

  it.each([
    '10.0.0.0/33', '::/129', '10.0.0.0/', '10.0.0.0/8x', '10.0.0.0/-1', '10.0.0.0/ 8', '10.0.0.0/0x8',
    '10.0.0.0/1e1', '1.2.3', '256.0.0.0/8', '', 'example.com', '2001:db8::/32/1', 'gggg::/16', '10.0.0.0/0008',
  ])('rejects %j with a message naming it', (entry) => {
    expect(() => new CidrSet(['127.0.0.1', entry])).toThrow(RangeError);
    expect(() => parseCidr(entry)).toThrow(`"${entry}"`);
  });

  it('reports its size', () => {
    expect(new CidrSet(['10.0.0.0/8', '::1']).size).toBe(2);
  });
});
